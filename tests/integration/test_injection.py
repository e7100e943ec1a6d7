"""No tenant string ever becomes an engine option.

Podman's Docker-compatible API joins a mount into one comma-separated `--mount` string and parses
it again, so a mount path such as `/x,source=V,volume-opt=type=none,volume-opt=o=bind,
volume-opt=device=/etc` used to mount a host directory into a sandbox. Here option-injection
payloads go through every string field a client can set. Each one is either refused with
INVALID_ARGUMENT naming the field, or, where such characters are meant (command arguments,
environment values, a workdir, a token's description), taken as plain data; and either way
nothing of the host becomes visible. That is checked from inside a sandbox (the same mounts as
a sandbox made without the payload; a canary that the test writes in a host directory is nowhere
to be read) and on the host (the canary directory unchanged, no engine volume the test did not
make, the container's mounts exactly the volumes asked for).

`test_the_runtime_refuses_what_the_raw_engine_would_mount` shows that the attack is real: the
same mount sent straight to the engine binds the host directory on Podman, while sbtui's runtime,
called directly without the server's validation, refuses it before the engine sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets as random
import subprocess

import aiodocker
import pytest
from aiodocker.volumes import DockerVolume

from sbtui.client import InvalidArgumentError, Sandbox, SbtuiError
from sbtui.server.runtime import launcher, naming
from tests import engine_view
from tests.engine_view import engine_clis
from tests.servers import IMAGE


@pytest.fixture
def host_dir(tmp_path):
    """A host directory with a canary no sandbox may ever read or change."""
    canary = f"canary-{random.token_hex(8)}"
    (tmp_path / "canary").write_text(canary + "\n")
    return tmp_path, canary


@pytest.fixture
async def volume(client):
    made = await client.volumes.from_name(f"inj-{random.token_hex(4)}", create_if_missing=True)
    yield made
    with contextlib.suppress(Exception):
        await client.volumes.delete(made.name)


def payloads(host: str, volume: str) -> list[str]:
    """Strings an engine could read as options: mount syntax, separators, control characters."""
    return [
        f"/x,source={volume},volume-opt=type=none,volume-opt=o=bind,volume-opt=device={host}",
        f"/x,type=bind,source={host}",
        f"/x,source={host},dst=/y",
        "/x,dev,suid,exec",
        "/x,ro=false,rw",
        f"/x:{host}:rw",
        f"{host}:/x",
        "/x=y",
        "/x/../../etc",
        "/x\n/y",
        "/x\x00y",
        "/x\r\x1b]0;owned\x07",
        "/x\x9b31m",
    ]


def engine_volumes(engine: str, server_id: str) -> set[str]:
    """The engine's volumes (on swarm, every node's) but those of other sbtui servers (other
    tests may run meanwhile): a volume an injected option made carries no sbtui label."""
    found = set()
    for cli in engine_clis(engine):
        listed = subprocess.run(
            [*cli, "volume", "ls", "--quiet"], capture_output=True, text=True, timeout=60, check=True
        ).stdout.split()
        if not listed:
            continue
        inspected = subprocess.run(
            [*cli, "volume", "inspect", *listed], capture_output=True, text=True, timeout=60
        )
        for volume in json.loads(inspected.stdout or "[]"):
            owner = (volume.get("Labels") or {}).get("io.sbtui.server")
            if owner == server_id or (owner is None and not _SBTUI_VOLUME.fullmatch(volume["Name"])):
                found.add(volume["Name"])
    return found


# An sbtui volume the engine lists without its labels is another server's, made or removed at
# that moment (seen once in a full run, when the test swarm's manager was this machine's
# engine and the swarm half's servers made volumes on it too: an sbtui volume this server
# never made, counted as made here). An injected option names its volume from the payload,
# never so.
_SBTUI_VOLUME = re.compile(re.escape(naming.volume("vo-")) + "[A-Za-z0-9]{16}")


async def _run(sb, script: str) -> str:
    p = await sb.exec(["sh", "-c", script])
    out = await p.stdout.read()
    await asyncio.wait_for(p.wait(), 60)
    return out.decode(errors="replace")


async def _mount_points(sb) -> set[str]:
    """Where things are mounted in the sandbox (the fifth field of mountinfo)."""
    info = await _run(sb, "cat /proc/self/mountinfo")
    return {line.split()[4] for line in info.splitlines()}


async def _canary_visible(sb, canary: str) -> str:
    """Files in the sandbox holding the canary, if any. Only small files are read (the canary's
    file is one line): the image's /bin alone is 400 links to a 1 MiB busybox."""
    return (
        await _run(
            sb,
            (
                r"find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -type f -size -16k "
                f"-print0 | xargs -0 grep -l -s {canary}; true"
            ),
        )
    ).strip()


class Host:
    """What the host looks like before the payloads; `unchanged()` checks it after."""

    def __init__(self, server, directory, canary: str) -> None:
        self.engine, self.server_id = server.engine, server.server_id
        self.directory, self.canary = directory, canary
        self.files = sorted(p.name for p in directory.iterdir())
        self.volumes = engine_volumes(self.engine, self.server_id)

    def unchanged(self, made: set[str]) -> None:
        assert (self.directory / "canary").read_text() == self.canary + "\n"
        assert sorted(p.name for p in self.directory.iterdir()) == self.files
        assert engine_volumes(self.engine, self.server_id) - self.volumes <= made


async def _refused_or_taken(call, field: str, payload: str):
    """None when refused by `field`; else what the call made."""
    try:
        made = await call(payload)
    except InvalidArgumentError as err:
        assert err.field == field, f"{payload!r} was refused, but not by {field}: {err}"
        assert str(err).startswith(f"{field}"), err
        return None
    except SbtuiError as err:  # it got past validation, to the engine or further
        return f"{type(err).__name__}: {err}"
    return made if made is not None else payload


# Fields where none of the payloads can be meant: each one must be refused by name. Tag names
# never reach an engine and may hold '/', ':' and '.' (as in "team.example/owner"), so there
# only the payloads with option syntax (',', '=') or control characters must be refused.
REFUSED = [
    "volumes (path)",
    "volumes (volume)",
    "env (name)",
    "name",
    "custom_domain",
    "cidr_allowlist",
    "gpu",
    "secret_ids",
    "image tag",
    "tags (name)",
    "app name",
    "environment",
    "secret name",
    "secret key",
    "volume name",
    "exec env (name)",
    "exec term",
    "exec secret_ids",
]


def option_syntax(payload: str) -> bool:
    return "," in payload or "=" in payload or not payload.isprintable()


@pytest.mark.parametrize("field", REFUSED)
async def test_option_payloads_are_refused_by_name(
    client, app, image, engine, server, host_dir, volume, field
):
    directory, canary = host_dir
    host = Host(server, directory, canary)
    sb = await client.sandboxes.create(app, image, timeout=120)
    create = lambda **params: client.sandboxes.create(app, image, timeout=60, **params)  # noqa: E731
    calls = {
        "volumes (path)": ("volumes", lambda p: create(volumes={p: volume})),
        "volumes (volume)": ("volumes", lambda p: create(volumes={"/data": p})),
        "env (name)": ("env", lambda p: create(env={p: "1"})),
        "name": ("name", lambda p: create(name=p)),
        "custom_domain": ("custom_domain", lambda p: create(custom_domain=p, encrypted_ports=[8443])),
        "cidr_allowlist": ("cidr_allowlist", lambda p: create(cidr_allowlist=[p])),
        "gpu": ("gpu", lambda p: create(gpu=p)),
        "secret_ids": ("secret_ids", lambda p: create(secrets=[p])),
        "image tag": ("tag", lambda p: client.sandboxes.create(app, client.images.from_registry(p))),
        "tags (name)": ("tags", lambda p: sb.set_tags({p: "v"})),
        "app name": ("name", lambda p: client.apps.from_name(p, create_if_missing=True)),
        "environment": (
            "environment",
            lambda p: client.apps.from_name("a", environment=p, create_if_missing=True),
        ),
        "secret name": ("name", lambda p: client.secrets.create(p, {"K": "v"})),
        "secret key": ("values", lambda p: client.secrets.create(f"s-{random.token_hex(3)}", {p: "v"})),
        "volume name": ("name", lambda p: client.volumes.from_name(p, create_if_missing=True)),
        "exec env (name)": ("env", lambda p: sb.exec(["true"], env={p: "1"})),
        "exec term": ("term", lambda p: sb.exec(["true"], pty=True, term=p)),
        "exec secret_ids": ("secret_ids", lambda p: sb.exec(["true"], secrets=[p])),
    }
    wire_field, call = calls[field]
    taken: dict[str, object] = {}
    try:
        for payload in payloads(str(directory), volume.name):
            made = await _refused_or_taken(call, wire_field, payload)
            if made is not None and (field != "tags (name)" or option_syntax(payload)):
                taken[payload] = made
        # What a taken payload made visible, to say how bad it is.
        seen = {
            payload: await _canary_visible(made, canary)
            for payload, made in taken.items()
            if isinstance(made, Sandbox)
        }
        assert taken == {}, f"{field} took option payloads: {taken!r}; host canary seen: {seen}"
        assert all(not option_syntax(name) for name in await sb.get_tags())
        # Nothing was made: no sandbox but the one above, no engine volume, the host as it was.
        listed = [s async for s in client.sandboxes.list(app_id=app.app_id, include_finished=True)]
        assert [s.sandbox_id for s in listed] == [sb.sandbox_id]
        host.unchanged(made=set())
    finally:
        for made in [sb, *taken.values()]:
            if isinstance(made, Sandbox):
                await made.terminate(wait=True)


async def test_payloads_meant_as_data_stay_data(client, app, image, engine, server, host_dir, volume):
    """Command arguments and environment values may hold ',', '=', ':' and control characters;
    a workdir, a tag value and a token's description the separators but no control characters.
    The sandbox gets them as plain strings, with the mounts it would have had anyway."""
    directory, canary = host_dir
    host = Host(server, directory, canary)
    every = payloads(str(directory), volume.name)
    data = [p for p in every if "\x00" not in p]  # no process argument or variable holds a NUL
    reference = await client.sandboxes.create(app, image, volumes={"/data": volume}, timeout=120)
    made = [reference]
    try:
        expected = await _mount_points(reference)
        # The search finds the canary wherever the sandbox can read it.
        await _run(reference, f"echo {canary} > /tmp/control")
        assert await _canary_visible(reference, canary) == "/tmp/control"
        await _run(reference, "rm /tmp/control")
        env = {f"V{i}": p for i, p in enumerate(data)}
        sb = await client.sandboxes.create(
            app,
            image,
            volumes={"/data": volume},
            env=env,
            timeout=120,
            command=["sh", "-c", "sleep 600", "sh", *data],
        )
        made.append(sb)

        async def plain(i: int, value: str) -> None:
            assert await _run(sb, f'printf "%s" "$V{i}"') == value
            p = await sb.exec(["sh", "-c", 'printf "%s" "$1"', "sh", value])
            assert (await p.stdout.read()).decode() == value
            assert await asyncio.wait_for(p.wait(), 60) == 0

        await asyncio.gather(*(plain(i, value) for i, value in enumerate(data)))

        async def with_workdir(payload: str):
            try:
                return await client.sandboxes.create(
                    app, image, volumes={"/data": volume}, workdir=payload, timeout=120
                )
            except InvalidArgumentError as err:
                assert err.field == "workdir", err
                return None

        results = await asyncio.gather(*(with_workdir(p) for p in every))
        made += [sb for sb in results if sb is not None]
        accepted = [p for p, sb in zip(every, results) if sb is not None]
        # Separators are meant in a working directory; control characters are not.
        assert accepted == [p for p in every if p.isprintable()], accepted
        # Tag values and token descriptions are text: separators are fine, control characters not.
        for payload in every:
            for field, call in (
                ("tags", lambda: sb.set_tags({"k": payload})),
                ("description", lambda: client.tokens.create("inj", description=payload)),
            ):
                try:
                    await call()
                    assert payload.isprintable(), f"{field} took {payload!r}"
                except InvalidArgumentError as err:
                    assert err.field == field and not payload.isprintable(), err

        async def check(each) -> None:
            assert await _mount_points(each) == expected, each.info.params
            assert await _canary_visible(each, canary) == ""

        await asyncio.gather(*(check(each) for each in made))
        # The volume, and on swarm the node's busybox the launcher runs, read-only; nothing else.
        wanted = [("volume", f"sbtui-{volume.volume_id}", "/data", True)]
        if engine == "swarm":
            wanted.append(("bind", launcher.SOURCE, launcher.TARGET, False))
        for each in made:
            mounts = engine_view.container(server, each.sandbox_id).get("Mounts") or []
            found = [(m["Type"], m.get("Name") or m["Source"], m["Destination"], m["RW"]) for m in mounts]
            assert sorted(found) == sorted(wanted)
        host.unchanged(made=set())
    finally:
        await asyncio.gather(*(each.terminate(wait=True) for each in made))
        for token in await client.tokens.list(environment="inj"):
            await client.tokens.revoke(token.token_id)


async def test_the_runtime_refuses_what_the_raw_engine_would_mount(server, engine, host_dir, volume):
    """The attack is real on Podman: its API, given the payload as a mount target, binds the host
    directory. sbtui's runtime, called without the server's validation, refuses the same mount."""
    from sbtui.server.runtime import service_spec
    from sbtui.server.runtime.base import ContainerSpec, EngineError
    from sbtui.server.runtime.docker import DockerRuntime

    directory, canary = host_dir
    engine_volume = f"sbtui-{volume.volume_id}"
    target = (
        f"/x,source={engine_volume}-raw,volume-opt=type=none,volume-opt=o=bind,volume-opt=device={directory}"
    )
    name = f"sbtui-injection-{random.token_hex(4)}"
    raw = aiodocker.Docker(url=server.engine_url, api_version="v1.41")
    try:
        config = {
            "Image": IMAGE,
            "Cmd": ["cat", "/x/canary"],
            "Labels": {"io.sbtui.test": name},
            "HostConfig": {
                "Mounts": [{"Type": "volume", "Source": engine_volume, "Target": target}],
                # Podman's own default rlimits are more than runc may set here.
                "Ulimits": [{"Name": n, "Soft": 1024, "Hard": 1024} for n in ("nofile", "nproc")],
            },
        }
        try:
            container = await raw.containers.run(config, name=name)
            await container.wait()
            logs = "".join(await container.log(stdout=True, stderr=True))
        except aiodocker.DockerError as err:
            logs = str(err)
        if engine == "podman":
            assert canary in logs, f"the raw engine did not bind the host directory: {logs!r}"
        else:
            assert canary not in logs  # Docker takes Mounts as structured data
    finally:
        with contextlib.suppress(aiodocker.DockerError):
            await raw.containers.container(name).delete(force=True)
        with contextlib.suppress(aiodocker.DockerError):
            await DockerVolume(raw, f"{engine_volume}-raw").delete()
        await raw.close()

    spec = ContainerSpec(
        name=name,
        image=IMAGE,
        command=["cat", "/x/canary"],
        env={},
        labels={"io.sbtui.test": name},
        mounts={target: engine_volume},
    )
    if engine == "swarm":
        # The manager is a Docker engine (above: its raw case); the swarm runtime's services
        # get their mounts from the same check.
        with pytest.raises(EngineError, match="could read characters of it as mount options"):
            service_spec.service_spec(spec, IMAGE, [], "", [])
        return
    runtime = DockerRuntime(server.engine_url, engine, state_dir=server.state_dir)
    try:
        with pytest.raises(EngineError, match="could read characters of it as mount options"):
            await runtime.create_and_start(spec)
        assert await runtime.inspect(name) is None  # nothing was made
    finally:
        await runtime.remove(name)  # made only if the runtime let the mount through
        await runtime.close()
