"""Secrets against a real server and engine: injected at create and exec, never shown or stored in clear."""

from __future__ import annotations

import json
import secrets as random
import stat
import subprocess
import sys

import pytest

import sbtui
from sbtui.client import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    Secret,
)
from tests.integration.test_cli import CLEAN_ENV, json_lines
from tests.servers import IMAGE, ROOT, ServerProcess, new_state_dir


def cli(server, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "sbtui", "--server", server.address, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        env=dict(CLEAN_ENV, **(extra_env or {})),
    )
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    return result


def ok(server, *args: str, **kw) -> str:
    result = cli(server, *args, **kw)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def unique(prefix: str) -> str:
    return f"{prefix}-{random.token_hex(4)}"


def value() -> str:
    """A value that can only be found where it was put."""
    return "v4lue-" + random.token_hex(12)


async def _count(client, app) -> int:
    return len([s async for s in client.sandboxes.list(app_id=app.app_id, include_finished=True)])


async def output(sandbox, command: list[str], **kw) -> str:
    p = await sandbox.exec(command, **kw)
    out, err = await p.stdout.read(), await p.stderr.read()
    assert await p.wait() == 0, err
    return out.decode()


async def test_secret_is_injected_at_create_and_at_exec(client, app, image):
    at_create, at_exec = value(), value()
    made = await client.secrets.create(unique("db"), {"TOKEN": at_create, "USER": "bob"})
    other = await client.secrets.create(unique("api"), {"API_KEY": at_exec})
    sb = await client.sandboxes.create(app, image, secrets=[made.name], timeout=120)
    try:
        assert await output(sb, ["sh", "-c", "echo $TOKEN $USER"]) == f"{at_create} bob\n"
        # At exec: the exec's own secrets join the sandbox's, as a Secret object or by name.
        said = await output(sb, ["sh", "-c", "echo $API_KEY $TOKEN"], secrets=[other])
        assert said == f"{at_exec} {at_create}\n"
        assert await output(sb, ["sh", "-c", "echo $API_KEY"], secrets=[other.name]) == f"{at_exec}\n"
        assert await output(sb, ["sh", "-c", "echo ${API_KEY:-unset}"]) == "unset\n"
    finally:
        await sb.terminate()


async def test_explicit_env_wins_over_a_secret(client, app, image):
    made = await client.secrets.create(unique("pair"), {"A": "from-secret", "B": "from-secret"})
    sb = await client.sandboxes.create(app, image, secrets=[made], env={"A": "explicit"}, timeout=120)
    try:
        assert await output(sb, ["sh", "-c", "echo $A $B"]) == "explicit from-secret\n"
        said = await output(sb, ["sh", "-c", "echo $A $B"], secrets=[made], env={"B": "mine"})
        assert said == "from-secret mine\n"  # the exec's secret over the container's env, its env over both
    finally:
        await sb.terminate()


async def test_values_never_leave_the_server_in_clear(client, app, image, server):
    secret_value = value()
    name = unique("hidden")
    made = await client.secrets.create(name, {"PASSWORD": secret_value})
    assert made.keys == ("PASSWORD",) and made.secret_id.startswith("st-") and made.environment == "main"
    assert secret_value not in repr(made)
    sb = await client.sandboxes.create(app, image, secrets=[name], timeout=120)
    try:
        assert await output(sb, ["sh", "-c", "echo $PASSWORD"]) == secret_value + "\n"
        p = await sb.exec(["sh", "-c", "exit 0"], secrets=[name])
        assert await p.wait() == 0
        # Described by name only: the info the server hands out, fresh and listed.
        described = await client.sandboxes.from_id(sb.sandbox_id)
        assert described.info.params.secrets == (name,)
        for info in (sb.info, described.info):
            assert secret_value not in repr(info.params)  # every parameter is in its repr
        listed = [s async for s in client.sandboxes.list(app_id=app.app_id)]
        assert all(secret_value not in repr(s.info.params) for s in listed)
        found = await client.secrets.from_name(name)
        assert found == made
        everything = await client.secrets.list()
        assert [s.keys for s in everything if s.name == name] == [("PASSWORD",)]
        assert secret_value not in repr(everything)
    finally:
        await sb.terminate()
    # Not in the server's log, nor in the state file or its write-ahead log.
    assert name in server.log_text() and secret_value not in server.log_text()
    state = b"".join(
        path.read_bytes()
        for path in (server.state_dir / "state.db", server.state_dir / "state.db-wal")
        if path.exists()
    )
    assert name.encode() in state  # the right file: the secret is in it
    assert secret_value.encode() not in state
    key = server.state_dir / "secrets.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert secret_value.encode() not in key.read_bytes()


def state_bytes(server) -> bytes:
    return b"".join(
        path.read_bytes()
        for path in (server.state_dir / "state.db", server.state_dir / "state.db-wal")
        if path.exists()
    )


async def test_kept_output_that_prints_a_secret_is_sealed_at_rest(client, app, image, server):
    secret_value = value()
    name = unique("printed")
    await client.secrets.create(name, {"PASSWORD": secret_value})
    # Printed next to it, computed so that only the output holds it (the command is stored).
    n = random.randbelow(10**12) + 10**12
    marker = f"kept-{n * 7}"
    sb = await client.sandboxes.create(
        app,
        image,
        secrets=[name],
        command=["sh", "-c", f"echo kept-$(({n} * 7)); echo $PASSWORD; echo bye >&2"],
    )
    assert await sb.wait() == 0
    # Kept after the container went (the read waits for that), and given back in clear.
    out, err = b"", b""
    async for chunk in sb.logs():
        if chunk.stream == "stdout":
            out += chunk.data
        else:
            err += chunk.data
    assert (out, err) == (f"{marker}\n{secret_value}\n".encode(), b"bye\n")
    state = state_bytes(server)
    assert sb.sandbox_id.encode() in state  # the right file: the sandbox is in it
    assert secret_value.encode() not in state
    assert marker.encode() not in state  # sealed whole, not only the secret's bytes


async def test_unknown_secret_is_not_found_and_nothing_is_made(client, app, image, sandbox):
    with pytest.raises(NotFoundError, match="^secret 'nope-x' does not exist in environment 'main'$"):
        await client.sandboxes.create(app, image, secrets=["nope-x"])
    known = await client.secrets.create(unique("known"), {"K": "v"})
    with pytest.raises(NotFoundError, match="secret 'missing-y' does not exist"):
        await client.sandboxes.create(app, image, secrets=[known, Secret("missing-y")])
    assert await _count(client, app) == 1  # only the fixture's sandbox
    with pytest.raises(NotFoundError, match="^secret 'nope-z' does not exist in environment 'main'$"):
        await sandbox.exec(["true"], secrets=["nope-z"])
    assert await output(sandbox, ["echo", "still fine"]) == "still fine\n"
    with pytest.raises(NotFoundError, match="secret 'nope-x' does not exist"):
        await client.secrets.from_name("nope-x")


async def test_secrets_are_per_environment(client, app, image):
    name = unique("envs")
    dev = await client.secrets.create(name, {"K": "dev"}, environment="dev")
    assert dev.environment == "dev"
    with pytest.raises(NotFoundError, match=f"secret '{name}' does not exist in environment 'main'"):
        await client.secrets.from_name(name)
    # The app is in 'main': neither the dev secret's name nor its id resolve there.
    for ref in (name, dev.secret_id):
        with pytest.raises(NotFoundError, match="in environment 'main'"):
            await client.sandboxes.create(app, image, secrets=[ref])
    assert name in [s.name for s in await client.secrets.list(environment="dev")]
    assert name not in [s.name for s in await client.secrets.list()]
    await client.secrets.delete(name, environment="dev")


async def test_duplicate_overwrite_and_delete(client, app, image):
    name = unique("dup")
    first = await client.secrets.create(name, {"A": "one"})
    with pytest.raises(AlreadyExistsError, match=f"secret '{name}' already exists in environment 'main'"):
        await client.secrets.create(name, {"A": "two"})
    replaced = await client.secrets.create(name, {"A": "two", "B": "three"}, overwrite=True)
    assert replaced.secret_id == first.secret_id and replaced.keys == ("A", "B")
    sb = await client.sandboxes.create(app, image, secrets=[first.secret_id], timeout=120)  # by id
    try:
        assert await output(sb, ["sh", "-c", "echo $A $B"]) == "two three\n"
    finally:
        await sb.terminate()
    await client.secrets.delete(name)
    with pytest.raises(NotFoundError):
        await client.secrets.from_name(name)
    assert name not in [s.name for s in await client.secrets.list()]
    with pytest.raises(NotFoundError, match=f"secret '{name}' does not exist"):
        await client.secrets.delete(name)
    with pytest.raises(NotFoundError, match=f"secret '{name}' does not exist"):
        await client.sandboxes.create(app, image, secrets=[name])


@pytest.mark.parametrize(
    "name, values, field, words",
    [
        ("bad name!", {"A": "b"}, "name", "not a valid name"),
        ("ok-name", {}, "values", "at least one"),
        ("ok-name", {"A=B": "c"}, "values", "contains '='"),
        ("ok-name", {"": "c"}, "values", "name is empty"),
    ],
)
async def test_bad_secrets_name_the_field(client, name, values, field, words):
    with pytest.raises(InvalidArgumentError) as caught:
        await client.secrets.create(name, values)
    assert str(caught.value).startswith(f"{field}: ") and words in str(caught.value)
    assert "ok-name" not in [s.name for s in await client.secrets.list()]


async def test_a_value_typed_as_the_name_is_not_echoed(client):
    with pytest.raises(InvalidArgumentError) as caught:
        await client.secrets.create("TOKEN=s3cr3t-typo", {"A": "b"})
    assert "s3cr3t-typo" not in str(caught.value)
    with pytest.raises(InvalidArgumentError) as caught:
        await client.secrets.create("fine", {"A": "b"}, environment="X=s3cr3t-typo")
    assert "s3cr3t-typo" not in str(caught.value)


def test_cli_creates_and_lists_secrets_without_printing_values(server, tmp_path):
    name = unique("cli")
    inline, from_file, from_env = value(), value(), value()
    (tmp_path / "pw").write_text(from_file)
    made = cli(
        server,
        "secret",
        "create",
        name,
        f"INLINE={inline}",
        f"FILE=@{tmp_path / 'pw'}",
        "AT=@@literal",
        "--from-env",
        "FROM_ENV",
        extra_env={"FROM_ENV": from_env},
    )
    assert made.returncode == 0, made.stderr.decode()
    secret_id = made.stdout.decode().strip()
    assert secret_id.startswith("st-")
    dup = cli(server, "secret", "create", name, "A=b")
    assert dup.returncode == 1 and b"already exists" in dup.stderr
    ok(
        server,
        "secret",
        "create",
        name,
        f"INLINE={inline}",
        f"FILE=@{tmp_path / 'pw'}",
        "AT=@@literal",
        "--from-env",
        "FROM_ENV",
        "--overwrite",
        extra_env={"FROM_ENV": from_env},
    )

    table = ok(server, "secret", "list").splitlines()
    assert table[0].split() == ["NAME", "ID", "KEYS", "AGE"]
    row = next(line.split() for line in table if line.split()[0] == name)
    assert row[1:3] == [secret_id, "AT,FILE,FROM_ENV,INLINE"]
    listed = [s for s in json_lines(ok(server, "secret", "list", "--json")) if s["name"] == name]
    assert [(s["secret_id"], s["keys"], s["environment"]) for s in listed] == [
        (secret_id, ["AT", "FILE", "FROM_ENV", "INLINE"], "main")
    ]

    created = json.loads(
        ok(server, "sandbox", "create", "--app", "cli-secrets", "--secret", name, "--timeout", "2m", "--json")
    )
    sandbox_id = created["sandbox_id"]
    try:
        assert created["secrets"] == [name]
        said = ok(server, "sandbox", "exec", sandbox_id, "--", "sh", "-c", "echo $INLINE $FILE $FROM_ENV $AT")
        assert said == f"{inline} {from_file} {from_env} @literal\n"
        other = unique("cli-exec")
        ok(server, "secret", "create", other, "ONLY_EXEC=yes")
        said = ok(
            server, "sandbox", "exec", "--secret", other, sandbox_id, "--", "sh", "-c", "echo $ONLY_EXEC"
        )
        assert said == "yes\n"
        described = ok(server, "sandbox", "list", "--app", "cli-secrets", "--json")
        assert json_lines(described)[0]["secrets"] == [name]
        shown = table + [described, made.stdout.decode(), made.stderr.decode()]
        for secret_value in (inline, from_file, from_env):
            assert all(secret_value not in text for text in map(str, shown))
    finally:
        ok(server, "sandbox", "terminate", sandbox_id)

    unknown = cli(server, "sandbox", "create", "--app", "cli-secrets", "--secret", "no-such-secret")
    assert unknown.returncode == 3 and b"secret 'no-such-secret' does not exist" in unknown.stderr
    assert ok(server, "secret", "delete", name) == ""
    assert cli(server, "secret", "delete", name).returncode == 3


def test_cli_refuses_bad_pairs_without_echoing_them(server):
    for args, words in (
        (["cli-bad", "s3cr3t-alone"], b"value 1 is not KEY=VALUE"),
        (["TOKEN=s3cr3t-alone", "A=b"], b"NAME holds a '='"),
        (["cli-bad", "A=b", "--env", "X=s3cr3t-alone"], b"--env holds a '='"),
        (["cli-bad", "A=@/no/such/file"], b"A: cannot read /no/such/file"),
        (["cli-bad", "--from-env", "SBTUI_NO_SUCH_VAR"], b"no variable SBTUI_NO_SUCH_VAR"),
        (["cli-bad"], b"at least one"),
    ):
        result = cli(server, "secret", "create", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert words in result.stderr and b"s3cr3t-alone" not in result.stderr + result.stdout
    assert "cli-bad" not in ok(server, "secret", "list")


@pytest.fixture
def own_server(engine):
    proc = ServerProcess(engine, new_state_dir(engine + "-secrets")).start()
    yield proc
    proc.dispose()


async def test_secrets_and_volumes_survive_a_restart(own_server):
    secret_value = value()
    async with sbtui.Client.connect(own_server.address) as client:
        await client.secrets.create("kept", {"KEPT": secret_value})
        volume = await client.volumes.from_name("kept", create_if_missing=True)
        app = await client.apps.from_name("restart", create_if_missing=True)
        sb = await client.sandboxes.create(app, client.images.from_registry(IMAGE), volumes={"/v": volume})
        await output(sb, ["sh", "-c", "echo on-disk > /v/f"])
        await sb.terminate(wait=True)
    key = (own_server.state_dir / "secrets.key").read_bytes()
    own_server.stop()
    own_server.start()
    try:
        async with sbtui.Client.connect(own_server.address) as client:
            assert [s.name for s in await client.secrets.list()] == ["kept"]
            assert await client.volumes.from_name("kept") == volume
            app = await client.apps.from_name("restart")
            sb = await client.sandboxes.create(
                app, client.images.from_registry(IMAGE), secrets=["kept"], volumes={"/v": "kept"}
            )
            try:
                assert await output(sb, ["sh", "-c", "echo $KEPT; cat /v/f"]) == f"{secret_value}\non-disk\n"
            finally:
                await sb.terminate(wait=True)
            assert (own_server.state_dir / "secrets.key").read_bytes() == key
            # Without its key a stored secret can't be read: a clear refusal, and nothing made.
            (own_server.state_dir / "secrets.key").unlink()
            own_server.stop()
            own_server.start()
        async with sbtui.Client.connect(own_server.address) as client:
            app = await client.apps.from_name("restart")
            with pytest.raises(FailedPreconditionError, match="secrets key .*secrets.key is missing"):
                await client.sandboxes.create(app, client.images.from_registry(IMAGE), secrets=["kept"])
            assert [s async for s in client.sandboxes.list(app_id=app.app_id)] == []
            await client.secrets.create("kept", {"KEPT": "new"}, overwrite=True)
            await client.volumes.delete("kept")
    finally:
        assert secret_value not in own_server.log_text()
