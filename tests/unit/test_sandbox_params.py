"""SandboxParams, the create parameters as the client holds them: every one reaches the wire and
comes back the same, unset stays apart from zero, and the CLI has an option for each."""

from __future__ import annotations

from dataclasses import fields

from sbtui.cli.command import build_parser
from sbtui.cli.sandbox import create_keywords
from sbtui.client import CloudBucketMount, SandboxParams, wire
from sbtui.proto import sandbox_pb2 as pb

EVERY = SandboxParams(
    cpu=0.5,
    cpu_limit=2.0,
    memory_mib=256,
    memory_limit_mib=512,
    gpu="T4",
    timeout=600.0,
    idle_timeout=60.0,
    workdir="/srv",
    command=("python", "app.py"),
    env={"A": "1"},
    secrets=("db",),
    volumes={"/data": "cache"},
    cloud_bucket_mounts={"/b": CloudBucketMount("logs", "https://s3.example", "p/", "creds", True, True)},
    pty=True,
    encrypted_ports=(443,),
    h2_ports=(50051,),
    unencrypted_ports=(8000,),
    block_network=True,
    cidr_allowlist=("10.0.0.0/8",),
    cloud="aws",
    regions=("eu-west-1",),
    verbose=True,
    proxy="pr-1",
    name="api",
    custom_domain="sb.example.com",
)


def test_every_parameter_reaches_the_wire_and_comes_back():
    message = wire.params_message(EVERY)
    assert {d.name for d, _ in message.ListFields()} == set(pb.SandboxCreateParams.DESCRIPTOR.fields_by_name)
    assert (message.secret_ids, message.proxy_id) == (["db"], "pr-1")  # the wire's own names
    assert wire.sandbox_params(message) == EVERY
    assert all(value != getattr(SandboxParams(), name) for name, value in EVERY.keywords().items())


def test_unset_is_none_and_zero_is_zero():
    assert wire.sandbox_params(wire.params_message(SandboxParams())) == SandboxParams()
    assert SandboxParams().cpu is None and SandboxParams().timeout is None
    zero = wire.sandbox_params(wire.params_message(SandboxParams(cpu=0.0, memory_mib=0)))
    assert (zero.cpu, zero.memory_mib, zero.cpu_limit) == (
        0.0,
        0,
        None,
    )  # 0 is sent, for the server to refuse


def test_lists_and_tuples_give_equal_parameters():
    given_lists = SandboxParams(command=["a", "b"], encrypted_ports=[1])
    assert given_lists == SandboxParams(command=("a", "b"), encrypted_ports=(1,))
    assert SandboxParams(command=["a"]).command == ("a",)


def test_the_cli_has_an_option_for_every_parameter():
    args = build_parser().parse_args(
        [
            "sandbox",
            "create",
            "--app",
            "a",
            "--cpu",
            "0.5",
            "--cpu-limit",
            "2",
            "--memory",
            "256",
            "--memory-limit",
            "512",
            "--gpu",
            "T4",
            "--timeout",
            "10m",
            "--idle-timeout",
            "60",
            "--workdir",
            "/srv",
            "--env",
            "A=1",
            "--secret",
            "db",
            "--volume",
            "/data=cache",
            "--cloud-bucket",
            "/b=logs",
            "--pty",
            "--encrypted-port",
            "443",
            "--h2-port",
            "50051",
            "--unencrypted-port",
            "8000",
            "--block-network",
            "--cidr-allow",
            "10.0.0.0/8",
            "--cloud",
            "aws",
            "--region",
            "eu-west-1",
            "--verbose",
            "--proxy",
            "pr-1",
            "--name",
            "api",
            "--custom-domain",
            "sb.example.com",
            "--",
            "python",
            "app.py",
        ]
    )
    given = SandboxParams(**create_keywords(args))
    assert given == SandboxParams(
        **{**EVERY.keywords(), "cloud_bucket_mounts": {"/b": CloudBucketMount("logs")}}
    )
    assert set(create_keywords(args)) == {f.name for f in fields(SandboxParams)}
