"""What every scriptable verb prints for people, given hostile strings: tag keys and values,
secret key names, names, image tags, progress lines and error messages that hold terminal
escape sequences, line breaks and bidi overrides. Each reaches the terminal escaped (visible,
on one line), never as the control character; --json gives every string back exact.

A rendering test: a stand-in client hands fixed data to the verbs' own functions. The same
strings through the real CLI on a real server: tests/integration/test_cli_injection.py.
"""

from __future__ import annotations

import json
import time

import pytest

from sbtui.cli import command as cli
from sbtui.client import (
    App,
    Image,
    NewToken,
    NotFoundError,
    PullProgress,
    SandboxInfo,
    SandboxParams,
    SandboxState,
    SandboxTimeoutError,
    Secret,
    TerminationReason,
    Token,
    Tunnel,
    Volume,
)
from tests.escapes import HOSTILE, SHOWN, assert_inert


def h(prefix: str) -> str:
    return prefix + HOSTILE


def shown(prefix: str) -> str:
    return prefix + SHOWN


class Handle:
    """A sandbox handle with fixed data, as client.sandboxes gives."""

    def __init__(self, info: SandboxInfo) -> None:
        self.info, self.sandbox_id = info, info.sandbox_id

    async def get_tags(self) -> dict[str, str]:
        return dict(self.info.tags)

    async def set_tags(self, tags) -> None:
        self.info.tags = dict(tags)

    async def terminate(self, wait=False) -> int:
        raise NotFoundError(h("sandbox does not exist: "))

    async def wait(self) -> int:
        raise SandboxTimeoutError(h("sandbox reached its timeout: "), exit_code=137)

    async def snapshot_filesystem(self, timeout) -> Image:
        return Image(tag=h("snap:"), image_id=h("im-"))

    async def tunnels(self, timeout) -> dict[int, Tunnel]:
        return {8443: Tunnel(h("host-"), 443, h("tcp-"), 9000, 8443, h("kind-"))}


def sandbox_info() -> SandboxInfo:
    params = SandboxParams(command=("sh", "-c", HOSTILE))
    return SandboxInfo(
        sandbox_id=h("sb-"),
        app_id="ap-1",
        app_name=h("app-"),
        environment=h("env-"),
        name=h("name-"),
        image_id=h("im-"),
        image_tag=h("image-"),
        state=SandboxState.RUNNING,
        exit_code=None,
        termination_reason=TerminationReason.NONE,
        tags={h("k-"): h("v-")},
        created_at=time.time(),
        started_at=0,
        finished_at=0,
        deadline=0,
        last_activity=0,
        params=params,
    )


class Listing:
    def __init__(self, **methods) -> None:
        for name, value in methods.items():
            setattr(self, name, value)


def stand_in_client(handle: Handle):
    async def value(result):
        return result

    async def sandboxes():
        yield handle

    async def pull(tag):
        yield PullProgress(status=h("Downloading "), layer=h("layer-"), current=1, total=2)
        yield PullProgress(status="done", image=Image(tag=tag, image_id=h("im-")))

    app = App(app_id=h("ap-"), name=h("app-"), environment=h("env-"))
    secret = Secret(
        name=h("secret-"),
        secret_id=h("st-"),
        environment="main",
        keys=(h("KEY-"), "PLAIN"),
        created_at=time.time(),
    )
    volume = Volume(
        name=h("vol-"), volume_id=h("vo-"), environment="main", created_at=time.time(), node=h("node-")
    )
    token = Token(token_id=h("tk-"), environment=h("env-"), description=h("desc-"), created_at=time.time())
    return Listing(
        apps=Listing(list=lambda environment=None: value([app]), from_name=lambda *a, **kw: value(app)),
        sandboxes=Listing(
            list=lambda **kw: sandboxes(),
            from_id=lambda ref: value(handle),
            create=lambda *a, **kw: value(handle),
        ),
        images=Listing(
            list=lambda snapshots_only=False: value([Image(h("tag-"), h("im-"))]),
            from_ref=lambda ref: value(Image(ref)),
            pull=pull,
        ),
        secrets=Listing(list=lambda environment=None: value([secret]), create=lambda *a, **kw: value(secret)),
        volumes=Listing(list=lambda environment=None: value([volume]), from_name=_volume_from_name(volume)),
        tokens=Listing(
            list=lambda environment=None: value([token]),
            create=lambda *a, **kw: value(NewToken(token, "tokenvalue")),
        ),
    )


def _volume_from_name(volume: Volume):
    async def from_name(name, create_if_missing=False, environment=None):
        if not create_if_missing:
            raise NotFoundError("no such volume")
        return volume

    return from_name


@pytest.fixture(autouse=True)
def stand_in(monkeypatch):
    """Every verb gets the stand-in client; nothing here may reach a server."""

    async def with_stand_in(args):
        return await args.verb(stand_in_client(Handle(sandbox_info())), args)

    monkeypatch.setattr(cli, "_with_client", with_stand_in)


def run(capsys, *argv: str) -> tuple[str, str]:
    """`sbtui ARGV` as main runs it, errors and exit codes included."""
    cli.main(list(argv))
    captured = capsys.readouterr()
    return captured.out, captured.err


# (verb, lines on stdout, lines on stderr, what must be shown escaped)
HUMAN = [
    (["app", "list"], 2, 0, ["app-", "ap-", "env-"]),
    (["sandbox", "list"], 2, 0, ["sb-", "name-", "app-", "image-", "k-", "v-"]),
    (["sandbox", "create", "--app", "a"], 1, 0, ["sb-"]),
    (["sandbox", "tags", "sb-1"], 1, 0, ["k-", "v-"]),
    (["sandbox", "wait", "sb-1"], 0, 1, ["sandbox reached its timeout: "]),
    (["sandbox", "snapshot", "sb-1"], 1, 0, ["im-"]),
    (["sandbox", "tunnels", "sb-1"], 2, 0, ["host-", "kind-", "tcp-"]),
    (["image", "list"], 2, 0, ["tag-", "im-"]),
    (["image", "pull", "x"], 1, 1, ["Downloading ", "layer-", "im-"]),
    (["secret", "create", "s", "A=1"], 1, 0, ["st-"]),
    (["secret", "list"], 2, 0, ["secret-", "st-", "KEY-"]),
    (["volume", "create", "v"], 1, 0, ["vo-"]),
    (["volume", "list"], 2, 0, ["vol-", "vo-", "node-"]),
    (["token", "create", "--env", "e"], 1, 1, ["tk-", "env-"]),
    (["token", "list"], 2, 0, ["tk-", "env-", "desc-"]),
]


@pytest.mark.parametrize("argv,out_lines,err_lines,fields", HUMAN, ids=[" ".join(v[0]) for v in HUMAN])
def test_human_output_shows_control_characters_escaped(capsys, argv, out_lines, err_lines, fields):
    out, err = run(capsys, *argv)
    assert_inert(out, out_lines)
    assert_inert(err, err_lines)
    for prefix in fields:
        assert shown(prefix) in out + err


@pytest.mark.parametrize(
    "argv,key,exact",
    [
        (["app", "list", "--json"], "name", h("app-")),
        (["sandbox", "list", "--json"], "tags", {h("k-"): h("v-")}),
        (["sandbox", "list", "--json"], "command", ["sh", "-c", HOSTILE]),
        (["sandbox", "create", "--app", "a", "--json"], "name", h("name-")),
        (["sandbox", "tags", "sb-1", "--json"], None, {h("k-"): h("v-")}),
        (["sandbox", "tunnels", "sb-1", "--json"], "kind", h("kind-")),
        (["image", "list", "--json"], "tag", h("tag-")),
        (["secret", "list", "--json"], "keys", [h("KEY-"), "PLAIN"]),
        (["volume", "list", "--json"], "name", h("vol-")),
        (["token", "list", "--json"], "description", h("desc-")),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v[-1] == "--json" else "",
)
def test_json_stays_exact(capsys, argv, key, exact):
    out, _ = run(capsys, *argv)
    assert_inert(out, 1)  # JSON's own escapes: one line, nothing raw
    value = json.loads(out)
    assert (value[key] if key else value) == exact


def test_errors_from_the_server_are_escaped(capsys):
    assert cli.main(["sandbox", "terminate", "sb-1"]) == cli.EXIT_NOT_FOUND
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"sbtui: error: {shown('sandbox does not exist: ')}\n"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["sandbox", "create", "--app", "a", "--tag", HOSTILE], id="--tag without '='"),
        pytest.param(["sandbox", "create", "--app", "a", "--timeout", HOSTILE], id="--timeout"),
        pytest.param(["sandbox", "list", HOSTILE], id="argparse's unrecognized arguments"),
        pytest.param(["sandbox", "tags", h("app-") + "/"], id="APP/NAME without NAME"),
    ],
)
def test_usage_errors_quote_arguments_escaped(capsys, argv):
    with pytest.raises(SystemExit) as exit:
        cli.main(argv)
    assert exit.value.code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert_inert(err, err.count("\n"))  # usage lines are ours; the message line must be clean
    assert "\\x1b]0;owned\\x07" in err
    assert err.splitlines()[-1].startswith("sbtui")
