"""CLI verbs for images, snapshots and output: `image pull|list`, `sandbox snapshot|logs`."""

from __future__ import annotations

import json
import secrets

from tests.integration.test_cli import ok, sbtui


def test_image_pull_shows_progress_then_the_id(server, image_registry):
    marker = secrets.token_hex(6)
    ref = image_registry.push(f"sbtui/cli-pull-{marker}:v1", marker)
    result = sbtui(server, "image", "pull", ref)
    assert result.returncode == 0, result.stderr
    image_id = result.stdout.decode().strip()
    assert image_id.startswith("im-") and result.stderr  # progress went to stderr
    listed = [json.loads(line) for line in ok(server, "image", "list", "--json").splitlines()]
    assert {"image_id": image_id, "tag": ref}.items() <= next(
        i for i in listed if i["image_id"] == image_id
    ).items()


def test_image_pull_of_a_bad_reference(server):
    result = sbtui(server, "image", "pull", "Not A Ref")
    assert result.returncode == 1
    assert b"sbtui: error: tag: 'Not A Ref' is not an image reference" in result.stderr


def test_snapshot_and_logs(server):
    sandbox_id = ok(
        server,
        "sandbox",
        "create",
        "--app",
        "cli-snap",
        "--",
        "sh",
        "-c",
        "echo made > /made; echo hello; echo warn >&2; sleep 600",
    ).strip()
    assert ok(server, "sandbox", "exec", sandbox_id, "--", "cat", "/made") == "made\n"
    result = sbtui(server, "sandbox", "logs", sandbox_id)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"hello\n", b"warn\n")
    image_id = ok(server, "sandbox", "snapshot", sandbox_id).strip()
    assert image_id.startswith("im-")
    table = ok(server, "image", "list", "--snapshots")
    assert image_id in table and sandbox_id in table
    ok(server, "sandbox", "terminate", "--wait", sandbox_id)
    again = ok(server, "sandbox", "create", "--app", "cli-snap", "--image", image_id).strip()
    assert ok(server, "sandbox", "exec", again, "--", "cat", "/made") == "made\n"
    ok(server, "sandbox", "terminate", again)
    assert sbtui(server, "sandbox", "snapshot", sandbox_id).returncode == 1


def test_sandbox_tunnels_and_ca(server):
    sandbox_id = ok(
        server,
        "sandbox",
        "create",
        "--app",
        "cli-tunnel",
        "--unencrypted-port",
        "8080",
        "--",
        "sh",
        "-c",
        "while :; do echo hi | nc -l -p 8080; done",
    ).strip()
    rows = [json.loads(line) for line in ok(server, "sandbox", "tunnels", sandbox_id, "--json").splitlines()]
    assert [r["container_port"] for r in rows] == [8080] and rows[0]["kind"] == "unencrypted"
    assert rows[0]["tcp_socket"][0] == "127.0.0.1" and rows[0]["url"].startswith("https://127.0.0.1:")
    assert ok(server, "ca").startswith("-----BEGIN CERTIFICATE-----")
    ok(server, "sandbox", "terminate", sandbox_id)
