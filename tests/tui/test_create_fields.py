"""The create form's checks, before anything is sent, and the text that duplicates a sandbox."""

from __future__ import annotations

import inspect
from dataclasses import fields, replace

import pytest

from sbtui.client import CloudBucketMount, SandboxParams
from sbtui.client.sandboxes import Sandboxes
from sbtui.proto import sandbox_pb2 as pb
from sbtui.tui.create_fields import (
    BY_KEY,
    CALL_FIELDS,
    FIELD_OF_WIRE,
    FIELDS,
    GROUPS,
    check,
    texts_of,
    unsupported_fields,
)
from tests.tui import sample

BASE = {"app": "web", "image": "python:3.11"}


def test_every_create_keyword_has_a_field_in_a_group():
    keywords = set(inspect.signature(Sandboxes.create).parameters) - {"self", "app", "image"}
    assert keywords == {f.key for f in FIELDS} - set(CALL_FIELDS) == {f.name for f in fields(SandboxParams)}
    assert {f.group for f in FIELDS} == set(GROUPS)


def test_every_wire_field_maps_to_a_form_field():
    wire = set(pb.SandboxCreateParams.DESCRIPTOR.fields_by_name)
    assert wire <= set(FIELD_OF_WIRE), wire - set(FIELD_OF_WIRE)
    assert all(target in BY_KEY for target in FIELD_OF_WIRE.values())


def test_whatever_create_parameter_the_server_cant_honour_closes_its_field():
    """A server names parameters by wire name; the form closes each one named and no other, so
    one a later server honours opens again with no change to the form."""
    every = {name: f"no {name} here" for name in pb.SandboxCreateParams.DESCRIPTOR.fields_by_name}
    closed = unsupported_fields(every)
    assert set(closed) == {f.key for f in FIELDS} - set(CALL_FIELDS)
    assert (closed["proxy"], closed["secrets"]) == ("no proxy_id here", "no secret_ids here")
    assert unsupported_fields({"regions": "", "image_id": "no images", "from_a_later_server": "x"}) == {}


def test_text_in_a_field_the_server_cant_honour_is_refused_before_anything_is_sent():
    unsupported = {"regions": "no regions here", "gpu": "no GPU here"}
    checked = check({**BASE, "regions": "eu-west-1"}, unsupported)
    assert checked.errors == {"regions": "this server can't honour it (see why above); clear it"}
    assert check({**BASE, "gpu": "A100:x"}, unsupported).errors["gpu"].startswith("this server can't")
    assert check(BASE, unsupported).ok


def test_a_filled_form_gives_every_keyword():
    checked = check(
        {
            **BASE,
            "name": "api",
            "command": "python -m http.server 'a b'",
            "workdir": "/srv",
            "pty": "1",
            "cpu": "500m",
            "cpu_limit": "2",
            "memory_mib": "512Mi",
            "memory_limit_mib": "1Gi",
            "gpu": "A100:2",
            "timeout": "1h30m",
            "idle_timeout": "90",
            "encrypted_ports": "443",
            "h2_ports": "50051",
            "unencrypted_ports": "8000, 8001",
            "cidr_allowlist": "10.0.0.0/8 192.168.0.0/16",
            "env": "A=1\n# a comment\n\nB=x=y",
            "secrets": "db, api",
            "volumes": "/data=cache",
            "cloud_bucket_mounts": "/b=bucket key_prefix=logs/ read_only",
            "cloud": "aws",
            "regions": "us-east-1,eu-west-1",
            "proxy": "pr-1",
            "custom_domain": "sb.example.com",
        }
    )
    assert checked.ok, checked.errors
    kw = checked.create_keywords()
    assert kw["command"] == ["python", "-m", "http.server", "a b"]
    assert kw["cpu"] == 0.5 and kw["cpu_limit"] == 2.0
    assert kw["memory_mib"] == 512 and kw["memory_limit_mib"] == 1024
    assert kw["timeout"] == 5400 and kw["idle_timeout"] == 90
    assert kw["unencrypted_ports"] == [8000, 8001]
    assert kw["env"] == {"A": "1", "B": "x=y"}
    assert kw["secrets"] == ["db", "api"] and kw["regions"] == ["us-east-1", "eu-west-1"]
    assert kw["cloud_bucket_mounts"] == {"/b": CloudBucketMount("bucket", key_prefix="logs/", read_only=True)}
    assert kw["pty"] is True and "block_network" not in kw and "verbose" not in kw
    assert not set(kw) & set(CALL_FIELDS)


def test_an_empty_form_asks_only_for_app_and_image():
    checked = check({})
    assert set(checked.errors) == {"app", "image"}
    assert "required" in checked.errors["app"]
    assert check(BASE).create_keywords() == {}


@pytest.mark.parametrize(
    "texts, field, says",
    [
        ({"cpu": "0"}, "cpu", "more than 0 cores"),
        ({"cpu": "lots"}, "cpu", "not a number of cores"),
        ({"cpu": "2", "cpu_limit": "1"}, "cpu_limit", "below the request"),
        ({"memory_mib": "1.5"}, "memory_mib", "whole number"),
        ({"memory_mib": "512", "memory_limit_mib": "256Mi"}, "memory_limit_mib", "below the request"),
        ({"memory_limit_mib": "1TB"}, "memory_limit_mib", "not an amount of memory"),
        ({"timeout": "10 minutes"}, "timeout", "90s, 10m, 1h"),
        ({"timeout": "25h"}, "timeout", "at most 24h"),
        ({"idle_timeout": "0"}, "idle_timeout", "more than zero"),
        ({"gpu": "A100:x"}, "gpu", "T4 or A100:2"),
        ({"unencrypted_ports": "8080, 70000"}, "unencrypted_ports", "'70000' is not a port"),
        ({"h2_ports": "80 80"}, "h2_ports", "listed twice"),
        ({"encrypted_ports": "443", "h2_ports": "443"}, "h2_ports", "also in encrypted ports"),
        ({"cidr_allowlist": "10.0.0.0/33"}, "cidr_allowlist", "not a CIDR range"),
        ({"cidr_allowlist": "10.0.0.0/8", "block_network": "1"}, "cidr_allowlist", "choose one"),
        ({"unencrypted_ports": "80", "block_network": "1"}, "unencrypted_ports", "blocked network"),
        ({"custom_domain": "sb.example.com"}, "custom_domain", "no port is declared"),
        ({"custom_domain": "not a host", "h2_ports": "1"}, "custom_domain", "not a host name"),
        ({"env": "A=1\nB"}, "env", "line 2: there is no '='"),
        ({"env": "A=1\nA=2"}, "env", "line 2: A is already set on line 1"),
        ({"env": "=1"}, "env", "before '=' is empty"),
        ({"volumes": "data=cache"}, "volumes", "not an absolute path"),
        ({"volumes": "/data="}, "volumes", "no volume name"),
        ({"cloud_bucket_mounts": "/b=bucket fast"}, "cloud_bucket_mounts", "'fast' is not an option"),
        ({"command": "echo 'unclosed"}, "command", "no closing quotation"),
        ({"workdir": "srv"}, "workdir", "absolute path"),
        ({"name": "bad name!"}, "name", "letters, digits"),
        ({"app": "my app"}, "app", "letters, digits"),
        ({"image": "python 3"}, "image", "no spaces"),
    ],
)
def test_bad_values_are_explained_on_their_field(texts, field, says):
    checked = check({**BASE, **texts})
    assert not checked.ok
    assert says in checked.errors.get(field, ""), checked.errors


@pytest.mark.parametrize("n", range(len(sample.sandboxes())))
def test_duplicating_repeats_every_parameter(n):
    info = sample.sandboxes()[n]
    texts = texts_of(info)
    checked = check(texts)
    assert checked.ok, checked.errors
    assert SandboxParams(**checked.create_keywords()) == replace(info.params, name="")
    assert checked.values["app"] == info.app_name and checked.values["image"] == info.image_id
    assert checked.values["name"] is None  # names are unique among running sandboxes


def test_duplicating_keeps_odd_amounts_exact():
    info = sample.sandbox(
        99,
        "web",
        memory_mib=1500,
        memory_limit_mib=2048,
        timeout=5400.0,
        cpu=0.25,
        cloud_bucket_mounts={"/b": CloudBucketMount(bucket_name="logs", key_prefix="p/", read_only=True)},
    )
    kw = check(texts_of(info)).create_keywords()
    assert kw["memory_mib"] == 1500 and kw["memory_limit_mib"] == 2048
    assert kw["timeout"] == 5400 and kw["cpu"] == 0.25
    assert kw["cloud_bucket_mounts"] == {"/b": CloudBucketMount("logs", key_prefix="p/", read_only=True)}
