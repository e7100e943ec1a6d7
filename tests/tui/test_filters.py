"""The `/` filter: what each term means, and that bad terms say so instead of filtering."""

from __future__ import annotations

import pytest

from sbtui.client import SandboxState
from sbtui.tui.filters import FilterError, parse_filter, search_text, with_app
from tests.tui import sample


def matching(text: str) -> list[int]:
    parsed = parse_filter(text)
    return [int(i.sandbox_id[3:7]) for i in sample.sandboxes() if parsed.matches(i, search_text(i))]


def test_empty_filter_matches_everything():
    assert parse_filter("   ").empty
    assert matching("") == list(range(1, 13))


def test_app_state_tags_and_text_combine():
    assert matching("app:web") == [1, 2, 3, 4]
    assert matching("app:web state:running") == [1, 2, 3]
    assert matching("tag:env=prod") == [1, 5, 6, 7]
    assert matching("tag:env=prod tag:job=events") == [7]  # every tag term must match
    assert matching("tag:owner") == [4, 9, 10, 11, 12]  # a key alone: the tag is there
    assert matching("state:fin app:notebooks") == [10, 11, 12]  # a unique prefix names a state
    assert matching("node") == [3, 4]  # free text: id, name, app or image, any case
    assert matching("API-") == [1, 2]
    assert matching("app:web app:etl state:creating state:terminating") == [4, 8]  # several: any


def test_node_terms_keep_the_sandboxes_of_those_nodes():
    assert matching("node:worker-1") == [1, 7, 10]
    assert matching("node:worker-1 node:manager-1") == [1, 3, 6, 7, 9, 10, 12]  # several: any
    assert matching("node:worker-2 state:running") == [2, 5]
    assert matching("node:") == list(range(1, 13))  # still being typed: ignored
    assert parse_filter("NODE:worker-1").nodes == {"worker-1"}  # the kind in any case, the name as is
    # A term with `node:` names a node, even when it reads like an image; the image is found
    # by the rest of its name.
    assert matching("node:22-alpine") == []
    assert matching("22-alpine") == [3, 4]


def test_quoted_values_and_half_typed_terms():
    parsed = parse_filter('tag:"team=data eng" state: app:')
    assert parsed.tags == (("team", "data eng"),)
    assert not parsed.states and not parsed.apps  # still being typed: ignored
    assert parse_filter('tag:"team=da').tags == (("team", "da"),)  # an open quote is closed for you


@pytest.mark.parametrize(
    "text, says",
    [
        ("state:bogus", "state:bogus is not a state: use creating, running, terminating, finished"),
        ("state:r state:xyz", "state:xyz is not a state"),
        ("tag:=prod", "tag:=prod has no key"),
    ],
)
def test_bad_terms_are_explained(text, says):
    with pytest.raises(FilterError, match=says):
        parse_filter(text)


def test_with_app_replaces_the_app_term():
    assert with_app("tag:env=prod app:web node", "etl") == "app:etl tag:env=prod node"
    assert with_app("app:web node", None) == "node"
    assert parse_filter(with_app('tag:"team=data eng"', "my app")).apps == {"my app"}
    assert parse_filter(with_app('tag:"team=data eng"', "my app")).tags == (("team", "data eng"),)


def test_states_are_enum_members():
    assert parse_filter("state:running").states == {SandboxState.RUNNING}
