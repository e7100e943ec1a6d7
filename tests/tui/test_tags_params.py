"""Tags as editable text, and create parameters shown and repeated."""

from __future__ import annotations

from dataclasses import fields

import pytest

from sbtui.client import SandboxParams
from sbtui.tui.create_fields import BY_KEY
from sbtui.tui.params import create_kwargs, param_rows
from sbtui.tui.tags import TagsError, format_tags, parse_tags
from tests.tui import sample


def test_tags_round_trip_through_text():
    tags = {"env": "prod", "team": "data eng", "empty": ""}
    assert parse_tags(format_tags(tags)) == tags
    assert parse_tags("") == {}


@pytest.mark.parametrize(
    "text, says",
    [("env", "has no '='"), ("=x", "has no key"), ("a=1 a=2", "given twice"), ('a="x', "close the quote")],
)
def test_bad_tag_text_is_explained(text, says):
    with pytest.raises(TagsError, match=says):
        parse_tags(text)


def test_every_parameter_is_shown_and_secrets_by_name():
    info = sample.sandboxes()[0]
    shown = dict(param_rows(info))
    assert shown["secrets"] == "db-password"
    assert shown["cpu"] == "1 core" and shown["cpu limit"] == "2 cores"
    assert shown["timeout"] == "24h" and shown["idle timeout"] == "30m"
    assert shown["command"] == "python -m http.server 8080"
    # One row per create parameter, labelled as in the create form (and the image).
    assert {BY_KEY[f.name].label for f in fields(SandboxParams)} <= set(shown)


def test_create_kwargs_repeat_the_parameters_without_the_name():
    info = sample.sandboxes()[0]
    kwargs = create_kwargs(info)
    assert info.params.name and kwargs["name"] == ""
    assert kwargs["cpu"] == 1.0 and kwargs["memory_limit_mib"] == 2048 and kwargs["timeout"] == 86400
    assert kwargs["command"] == ("python", "-m", "http.server", "8080")
    assert kwargs["secrets"] == ("db-password",) and kwargs["volumes"] == {"/data": "web-cache"}
    assert kwargs["encrypted_ports"] == (8080,) and kwargs["unencrypted_ports"] == (9090,)
