"""Bad input gets an error that names the field, and changes nothing on the server."""

from __future__ import annotations

import grpc
import pytest

from sbtui.client import FailedPreconditionError, InvalidArgumentError, NotFoundError
from sbtui.proto import sandbox_pb2 as pb
from sbtui.proto import sandbox_pb2_grpc as pb_grpc


async def _count(client, app) -> int:
    return len([s async for s in client.sandboxes.list(app_id=app.app_id, include_finished=True)])


async def test_unknown_ids_are_not_found(client, app, image):
    with pytest.raises(NotFoundError, match="sandbox 'sb-nope' does not exist"):
        await client.sandboxes.from_id("sb-nope")
    with pytest.raises(NotFoundError, match="image 'im-nope' does not exist"):
        await client.images.from_id("im-nope")
    bogus_app = type(app)("ap-nope", "x", "main")
    with pytest.raises(NotFoundError, match="app 'ap-nope' does not exist"):
        await client.sandboxes.create(bogus_app, image)
    with pytest.raises(NotFoundError, match="app 'no-such-app'"):
        await client.sandboxes.from_name("no-such-app", "x")
    with pytest.raises(NotFoundError, match="no running sandbox named 'ghost'"):
        await client.sandboxes.from_name(app.name, "ghost")
    with pytest.raises(NotFoundError, match="app 'ap-nope'"):
        [s async for s in client.sandboxes.list(app_id="ap-nope")]


async def test_unknown_registry_image_is_a_clear_error(client, app):
    image = client.images.from_registry("localhost/sbtui/does-not-exist:1")
    with pytest.raises((NotFoundError, FailedPreconditionError), match="does-not-exist"):
        await client.sandboxes.create(app, image)
    assert await _count(client, app) == 0


@pytest.mark.parametrize(
    "params, field, words",
    [
        ({"cpu": 0}, "cpu", "more than 0 cores"),
        ({"cpu": -1.5}, "cpu", "more than 0 cores"),
        ({"cpu_limit": 0}, "cpu_limit", "more than 0 cores"),
        ({"cpu": 2, "cpu_limit": 1}, "cpu_limit", "below the request"),
        ({"memory_mib": 0}, "memory_mib", "more than 0 MiB"),
        ({"memory_limit_mib": -5}, "memory_limit_mib", "more than 0 MiB"),
        ({"memory_mib": 256, "memory_limit_mib": 128}, "memory_limit_mib", "below the request"),
        ({"timeout": -1}, "timeout", "positive number of seconds"),
        ({"timeout": 0}, "timeout", "positive number of seconds"),
        ({"timeout": 90000}, "timeout", "maximum of 24h"),
        ({"idle_timeout": -3}, "idle_timeout", "positive number of seconds"),
        ({"env": {"A=B": "c"}}, "env", "contains '='"),
        ({"env": {"": "c"}}, "env", "name is empty"),
        ({"workdir": "relative/dir"}, "workdir", "not an absolute path"),
        ({"command": [""]}, "command[0]", "program name is empty"),
        ({"name": "bad name!"}, "name", "not a valid name"),
        ({"encrypted_ports": [0]}, "encrypted_ports", "outside 1-65535"),
        ({"unencrypted_ports": [70000]}, "unencrypted_ports", "outside 1-65535"),
        ({"h2_ports": [8080], "encrypted_ports": [8080]}, "h2_ports", "also listed"),
        ({"gpu": "A100:x"}, "gpu", "not a GPU spec"),
        ({"block_network": True, "cidr_allowlist": ["10.0.0.0/8"]}, "cidr_allowlist", "block_network"),
        ({"cidr_allowlist": ["10.0.0.0/33"]}, "cidr_allowlist", "not a CIDR range"),
        ({"cidr_allowlist": ["example.com"]}, "cidr_allowlist", "not a CIDR range"),
        # Hostile sizes: refused by name with the limit, before anything is made.
        ({"cpu": 1e308}, "cpu", "CPUs this server's engine has"),
        ({"cpu_limit": 1e308}, "cpu_limit", "CPUs this server's engine has"),
        ({"cpu_limit": 0.001}, "cpu_limit", "below the smallest limit, 0.01"),
        ({"memory_mib": 2**62}, "memory_mib", "more than this server allows: ask for at most 8192 MiB"),
        ({"memory_limit_mib": 2**62}, "memory_limit_mib", "ask for at most 8192 MiB"),
        ({"env": {"BIG": "x" * 200 * 1024}}, "env", "at most 131071 bytes per argument or variable"),
        ({"env": {f"V{i}": "x" * 100_000 for i in range(12)}}, "env", "at most 1048576 bytes are allowed"),
        ({"command": ["sh", "x" * 200 * 1024]}, "command[1]", "at most 131071 bytes"),
        ({"env": {"A\nB": "1"}}, "env", "is not allowed"),
        ({"env": {"\x1b]0;t\x07": "1"}}, "env", "is not allowed"),
        ({"workdir": "/tmp/\nx"}, "workdir", "control characters"),
        ({"volumes": {"/x,source=v": "v"}}, "volumes", "not allowed as a mount path"),
        ({"volumes": {"/x/../etc": "v"}}, "volumes", "'..' is not allowed"),
        ({"volumes": {"/data": "a,b"}}, "volumes", "is not a volume name or id"),
        ({"secrets": ["a\nb"]}, "secret_ids", "is not a secret name or id"),
        ({"name": "web\n"}, "name", "not a valid name"),
    ],
)
async def test_invalid_create_parameters_name_the_field(client, app, image, params, field, words):
    with pytest.raises(InvalidArgumentError) as caught:
        await client.sandboxes.create(app, image, **params)
    assert str(caught.value).startswith(f"{field}: ") and words in str(caught.value)
    assert caught.value.field == field.split("[")[0]  # for forms, without parsing the message
    assert await _count(client, app) == 0


@pytest.mark.parametrize(
    "params, field",
    [
        ({"gpu": "T4"}, "gpu"),
        ({"cloud": "aws"}, "cloud"),
        ({"regions": ["us-east"]}, "regions"),
        ({"proxy": "pr-1"}, "proxy_id"),
    ],
)
async def test_unsupported_parameters_are_refused_by_name(client, app, image, server, params, field):
    if server.engine == "swarm" and field in ("cloud", "regions"):
        pytest.skip("on swarm regions and cloud choose among the nodes' labels: see the test below")
    with pytest.raises(FailedPreconditionError, match=f"^{field} is not supported") as caught:
        await client.sandboxes.create(app, image, **params)
    assert caught.value.field == field
    assert await _count(client, app) == 0


@pytest.mark.parametrize(
    "params, wanted",
    [({"cloud": "mars"}, "sbtui.cloud=mars"), ({"regions": ["us-east"]}, "sbtui.region in (us-east)")],
)
async def test_on_swarm_a_place_no_node_is_in_is_refused_naming_the_nodes(
    client, app, image, server, params, wanted
):
    if server.engine != "swarm":
        pytest.skip("a server on one engine refuses regions and cloud by name: see the test above")
    with pytest.raises(FailedPreconditionError) as caught:
        await client.sandboxes.create(app, image, **params)
    assert f"no node can take the sandbox: no ready node has {wanted} (nodes: " in str(caught.value)
    assert "region eu, cloud hetzner" in str(caught.value)  # what the manager has, to choose from
    # Refused before anything was made: no sandbox runs (its record ends as failed to start).
    assert [s async for s in client.sandboxes.list(app_id=app.app_id)] == []


@pytest.mark.parametrize("spec", ["T4", "A100:2"])
async def test_gpu_on_a_host_without_nvidia_gpus_says_what_to_do(client, app, image, server, spec):
    from sbtui.server.runtime import gpu

    if server.engine != "swarm" and gpu.host_gpus():
        pytest.skip("this host has NVIDIA GPUs: a gpu sandbox may be created here")
    with pytest.raises(FailedPreconditionError) as caught:
        await client.sandboxes.create(app, image, gpu=spec)
    message = str(caught.value)
    if server.engine == "swarm":  # whatever the nodes have
        assert message.startswith("gpu is not supported by this server: GPUs are not placed on swarm nodes")
        assert "create the sandbox without gpu, or use a server on one engine" in message
    else:
        assert message.startswith("gpu is not supported by this server: this host has no NVIDIA GPU")
        assert "create the sandbox without gpu, or use a server on a host with NVIDIA GPUs" in message
    assert caught.value.field == "gpu"
    assert await _count(client, app) == 0


async def test_cloud_bucket_mounts_are_refused_by_name(client, app, image):
    from sbtui.client import CloudBucketMount

    with pytest.raises(FailedPreconditionError, match="^cloud_bucket_mounts is not supported"):
        await client.sandboxes.create(app, image, cloud_bucket_mounts={"/b": CloudBucketMount("bucket")})


async def test_unknown_keyword_is_refused_by_name(client, app, image):
    with pytest.raises(TypeError, match="memory_gb"):
        await client.sandboxes.create(app, image, memory_gb=4)


@pytest.mark.parametrize(
    "command, kwargs, field, words",
    [
        ([], {}, "command", "is empty"),
        (["sh"], {"env": {"X=Y": "1"}}, "env", "contains '='"),
        (["sh"], {"timeout": -2}, "timeout", "positive number of seconds"),
        (["sh"], {"workdir": "tmp"}, "workdir", "not an absolute path"),
        (["sh"], {"env": {"V": "x" * 200 * 1024}}, "env", "at most 131071 bytes"),
        (["sh"], {"workdir": "/tmp\x1b[2J"}, "workdir", "control characters"),
        (["sh"], {"pty": True, "term": "xterm\x1b]0;t\x07"}, "term", "not a terminal type"),
        (["sh"], {"secrets": ["../x"]}, "secret_ids", "not a secret name or id"),
    ],
)
async def test_invalid_exec_parameters_name_the_field(sandbox, command, kwargs, field, words):
    with pytest.raises(InvalidArgumentError) as caught:
        await sandbox.exec(command, **kwargs)
    assert str(caught.value).startswith(f"{field}: ") and words in str(caught.value)


async def test_exec_on_a_finished_sandbox(client, app, image):
    sb = await client.sandboxes.create(app, image, command=["true"])
    assert await sb.wait() == 0
    with pytest.raises(FailedPreconditionError, match="not running \\(exit code 0\\)"):
        await sb.exec(["echo", "late"])


async def test_exec_of_a_missing_program_says_so(sandbox):
    # Like a shell: the engine's message on stderr and exit code 127 (126 on some engines).
    p = await sandbox.exec(["no-such-program"])
    assert b"no-such-program" in await p.stderr.read()
    assert await p.wait() in (126, 127)


async def test_stdio_behaviour_must_be_pipe_or_ignore(sandbox):
    with pytest.raises(ValueError, match="stdout must be 'pipe' or 'ignore'"):
        await sandbox.exec(["true"], stdout="devnull")


async def test_negative_wait_and_tunnel_timeouts(client, sandbox, server):
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = pb_grpc.SandboxServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SandboxWait(pb.SandboxWaitRequest(sandbox_id=sandbox.sandbox_id, timeout=-1))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "timeout: must not be negative" in caught.value.details()


async def test_tunnels_of_a_sandbox_without_ports(sandbox):
    with pytest.raises(FailedPreconditionError, match="declared no ports"):
        await sandbox.tunnels(timeout=1)


async def test_exec_stream_that_starts_with_stdin_is_refused(server, sandbox):
    async with grpc.aio.insecure_channel(server.address) as channel:
        call = pb_grpc.SandboxServiceStub(channel).Exec()
        await call.write(pb.ExecRequest(stdin=b"hello"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "first message of an Exec stream must be start" in caught.value.details()


async def test_bad_tags(sandbox):
    with pytest.raises(InvalidArgumentError, match="tags: tag name '' is not allowed"):
        await sandbox.set_tags({"": "x"})
    assert await sandbox.get_tags() == {}


async def test_bad_tags_name_the_limit(sandbox):
    for tags, words in (
        ({"a b": "1"}, "tag name 'a b' is not allowed"),
        ({"k\x1b]52;c;aGk=\x07": "1"}, "is not allowed"),
        ({"k": "v\x1b]0;owned\x07"}, "contains control characters"),
        ({"k": "line\nfake line"}, "contains control characters"),
        ({"k": "x" * 1025}, "longer than 1024 characters"),
    ):
        with pytest.raises(InvalidArgumentError, match=words) as caught:
            await sandbox.set_tags(tags)
        assert caught.value.field == "tags"
    assert await sandbox.get_tags() == {}


@pytest.mark.parametrize("environment", ["../x", "a\nb", "a/b", "x" * 65, "\x1b[31m"])
async def test_hostile_environment_names_are_refused_everywhere(client, environment):
    calls = [
        lambda: client.apps.from_name("a", environment=environment, create_if_missing=True),
        lambda: client.apps.list(environment=environment),
        lambda: client.secrets.create("s", {"K": "v"}, environment=environment),
        lambda: client.secrets.list(environment=environment),
        lambda: client.volumes.from_name("v", environment=environment, create_if_missing=True),
        lambda: client.volumes.list(environment=environment),
        lambda: client.tokens.create(environment),
        lambda: client.tokens.list(environment=environment),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError, match="environment: is not a valid name") as caught:
            await call()
        assert caught.value.field == "environment"
    with pytest.raises(InvalidArgumentError, match="environment: "):
        [s async for s in client.sandboxes.list(environment=environment)]
    with pytest.raises(InvalidArgumentError, match="environment: "):
        async for _ in client.sandboxes.watch(environment=environment):
            break
    assert all(a.environment != environment for a in await client.apps.list())


@pytest.mark.parametrize("timeout", [float("nan"), float("inf")])
async def test_waits_that_never_end_are_refused(server, sandbox, timeout):
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = pb_grpc.SandboxServiceStub(channel)
        for call in (
            stub.SandboxWait(pb.SandboxWaitRequest(sandbox_id=sandbox.sandbox_id, timeout=timeout)),
            stub.SandboxTunnels(pb.SandboxTunnelsRequest(sandbox_id=sandbox.sandbox_id, timeout=timeout)),
            stub.SandboxSnapshotFilesystem(
                pb.SandboxSnapshotFilesystemRequest(sandbox_id=sandbox.sandbox_id, timeout=timeout)
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert caught.value.details().startswith("timeout: must be a finite number of seconds")


async def test_numbers_the_wire_cannot_carry_are_refused_by_the_client(client, app, image, sandbox):
    with pytest.raises(
        InvalidArgumentError, match=r"^memory_mib: 1180591620717411303424 is outside"
    ) as caught:
        await client.sandboxes.create(app, image, memory_mib=2**70)
    assert caught.value.field == "memory_mib"
    with pytest.raises(
        InvalidArgumentError, match=r"^tail: 900000000000000000000000000000 is outside 0..2147483647"
    ):
        [c async for c in sandbox.logs(tail=9 * 10**29)]
    with pytest.raises(InvalidArgumentError, match=r"^pty_size: -1 is outside 0..1000"):
        await sandbox.exec(["true"], pty=True, pty_size=(-1, 80))
    assert await _count(client, app) == 1  # the fixture's sandbox only
