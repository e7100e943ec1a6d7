"""`sbtui sandbox ...`: list, create, exec, terminate, wait and tag sandboxes from scripts."""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any

from sbtui.cli import image as image_verbs
from sbtui.cli import output as out
from sbtui.cli import tunnel as tunnel_verbs
from sbtui.cli.args import (
    ENV_HELP,
    DurationAction,
    PortAction,
    UsageError,
    command_words,
    pairs_option,
    verb,
    verb_group,
    whole_number,
)
from sbtui.cli.exec import run_exec
from sbtui.cli.target import add_target, resolve
from sbtui.client import (
    Client,
    CloudBucketMount,
    NotFoundError,
    SandboxInfo,
    SandboxParams,
    SandboxTimeoutError,
    TerminationReason,
)
from sbtui.client.models import INT64_MAX as MAX_MIB
from sbtui.text import age, node_text, state_text, tags_text

# NODE always, even when every sandbox is on the one host of a Docker or Podman engine: a
# script reading the table by position must not find its columns moved by where sandboxes run.
SANDBOX_COLUMNS = ("ID", "NAME", "APP", "IMAGE", "STATE", "NODE", "AGE", "TAGS")
DEFAULT_IMAGE = "localhost/sbtui/busybox:latest"
EXEC_EPILOG = (
    "Options go before SANDBOX_ID; everything after it is the command. Exit code: the command's; "
    "124 if --timeout killed it; 128+N if sbtui got signal N (the command is then killed); "
    "1-5 for sbtui's own errors (see sbtui --help). With -it, Ctrl-C and every other key go to "
    "the sandbox."
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    verb_group(
        sub,
        "sandbox",
        "list, create, exec into and stop sandboxes",
        _list_parser,
        _create_parser,
        _exec_parser,
        _terminate_parser,
        _wait_parser,
        _tags_parser,
        image_verbs.add_sandbox_verbs,
        tunnel_verbs.add_sandbox_verbs,
    )


def _repeated(parser, flag: str, metavar: str, dest: str, help: str) -> None:
    parser.add_argument(flag, metavar=metavar, action="append", dest=dest, help=f"{help} (repeatable)")


async def _app_id(client: Client, name: str, environment: str | None) -> str:
    """Looked up among the apps rather than with from_name, whose hint is for API callers."""
    for app in await client.apps.list(environment=environment):
        if app.name == name:
            return app.app_id
    where = f" in environment {environment!r}" if environment else ""
    raise NotFoundError(f"there is no app named {name!r}{where}; `sbtui app list` shows them")


# list


def sandbox_row(info: SandboxInfo) -> list[str]:
    return [
        info.sandbox_id,
        info.name or "-",
        info.app_name,
        info.image_tag or info.image_id,
        state_text(info),
        node_text(info),
        age(info.created_at),
        tags_text(info.tags),
    ]


def sandbox_json(info: SandboxInfo) -> dict[str, Any]:
    """A sandbox for programs: ids, state, times (Unix seconds) and resources; never env values."""
    params = info.params
    reason = info.termination_reason
    return {
        "sandbox_id": info.sandbox_id,
        "name": info.name or None,
        "app_id": info.app_id,
        "app_name": info.app_name,
        "environment": info.environment,
        "image_id": info.image_id,
        "image_tag": info.image_tag,
        "state": str(info.state),
        "node": info.node or None,
        "exit_code": info.exit_code,
        "termination_reason": None if reason == TerminationReason.NONE else str(reason),
        "tags": dict(info.tags),
        "created_at": info.created_at,
        "started_at": info.started_at or None,
        "finished_at": info.finished_at or None,
        "deadline": info.deadline or None,
        "command": list(params.command),
        "cpu": params.cpu,
        "memory_mib": params.memory_mib,
        "pty": params.pty,
        "secrets": list(params.secrets),
        "volumes": dict(params.volumes),  # names only
    }


def _list_parser(verbs) -> None:
    p = verb(verbs, "list", "list running sandboxes, newest first")
    p.add_argument("--app", metavar="NAME", help="only sandboxes of this app")
    pairs_option(p, "--tag", dest="tags", help="only sandboxes with this tag (repeatable; all must match)")
    p.add_argument("--node", metavar="NAME", help="only sandboxes on this node (as the NODE column names it)")
    p.add_argument("--env", metavar="ENV", help=ENV_HELP)
    p.add_argument("--all", action="store_true", help="include finished sandboxes")
    p.add_argument("--json", action="store_true", help="print JSON Lines: one object per sandbox")
    p.set_defaults(verb=list_sandboxes)


async def list_sandboxes(client: Client, args) -> int:
    app_id = await _app_id(client, args.app, args.env) if args.app else None
    found = client.sandboxes.list(
        app_id=app_id, tags=args.tags, environment=args.env, include_finished=args.all, node=args.node
    )
    infos = [sandbox.info async for sandbox in found]
    out.print_listing(args.json, infos, sandbox_json, SANDBOX_COLUMNS, sandbox_row)
    return 0


# create


def _create_parser(verbs) -> None:
    p = verb(
        verbs,
        "create",
        "create a sandbox and print its id",
        usage="%(prog)s --app NAME [options] [-- COMMAND...]",
    )
    p.add_argument("--app", metavar="NAME", required=True, help="app to create it in (made if missing)")
    p.add_argument(
        "--image",
        metavar="TAG",
        default=DEFAULT_IMAGE,
        help=f"registry reference or image id (im-...); default: {DEFAULT_IMAGE}",
    )
    p.add_argument("--name", metavar="N", help="name, unique among the app's running sandboxes")
    p.add_argument("--cpu", type=float, metavar="CORES", help="CPU request in cores")
    p.add_argument("--cpu-limit", type=float, metavar="CORES", help="hard CPU limit in cores")
    p.add_argument(
        "--memory",
        type=whole_number(1, MAX_MIB),
        metavar="MiB",
        dest="memory_mib",
        help="memory request in MiB",
    )
    p.add_argument(
        "--memory-limit",
        type=whole_number(1, MAX_MIB),
        metavar="MiB",
        dest="memory_limit_mib",
        help="hard memory limit in MiB",
    )
    p.add_argument("--timeout", action=DurationAction, metavar="DUR", help="lifetime (default: 5m)")
    p.add_argument("--idle-timeout", action=DurationAction, metavar="DUR", help="stop after this long idle")
    p.add_argument("--workdir", metavar="PATH", help="working directory (absolute)")
    pairs_option(p, "--env", help="environment variable (repeatable)")
    p.add_argument("--pty", action="store_true", help="give the command a pseudo-terminal")
    p.add_argument("--block-network", action="store_true", help="no network but loopback")
    pairs_option(p, "--tag", dest="tags", help="tag (repeatable)")
    p.add_argument("--env-name", metavar="ENV", help="environment of the app (default: 'main')")
    p.add_argument("--json", action="store_true", help="print the new sandbox as one JSON object")
    _passthrough_options(p.add_argument_group("passed to the server, which refuses what it can't honour"))
    p.add_argument("remote_command", metavar="COMMAND", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(verb=create_sandbox)


def _passthrough_options(group) -> None:
    """The rest of the create parameters, so that a refusal names the field instead of a flag missing."""
    group.add_argument("--gpu", metavar="SPEC", help="GPU, e.g. T4 or A100:2")
    _repeated(group, "--secret", "NAME", "secrets", "secret to inject")
    pairs_option(group, "--volume", metavar="PATH=VOLUME", dest="volumes", help="volume mount (repeatable)")
    pairs_option(
        group,
        "--cloud-bucket",
        metavar="PATH=BUCKET",
        dest="cloud_bucket_mounts",
        help="bucket mount (repeatable)",
    )
    for kind, how in (("encrypted", "TLS"), ("h2", "HTTP/2"), ("unencrypted", "TCP")):
        tunnel = f"port to tunnel over {how} (repeatable)"
        group.add_argument(
            f"--{kind}-port", metavar="PORT", action=PortAction, dest=f"{kind}_ports", help=tunnel
        )
    _repeated(group, "--cidr-allow", "CIDR", "cidr_allowlist", "range the sandbox may reach")
    group.add_argument("--cloud", metavar="PROVIDER", help="cloud provider")
    _repeated(group, "--region", "REGION", "regions", "preferred region")
    group.add_argument("--proxy", metavar="ID", help="proxy to use")
    group.add_argument("--custom-domain", metavar="DOMAIN", help="custom domain for tunnels")
    group.add_argument("--verbose", action="store_true", help="verbose sandbox logging")


async def create_sandbox(client: Client, args) -> int:
    image = await client.images.from_ref(args.image)  # an image id (a snapshot, say) or a reference
    app = await client.apps.from_name(args.app, create_if_missing=True, environment=args.env_name)
    sandbox = await client.sandboxes.create(app, image, **create_keywords(args))
    if args.tags:
        try:
            await sandbox.set_tags(args.tags)
        except BaseException:
            # Half a create would leave a running sandbox nobody asked for: take it back.
            await sandbox.terminate()
            raise
    if args.json:
        out.print_json(sandbox_json(sandbox.info))
    else:
        out.line(sandbox.sandbox_id)
    return 0


def create_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """The create parameters given: each option's dest is its SandboxParams field; the COMMAND
    comes after the options, and a bucket mount names only its bucket."""
    keywords = {
        f.name: getattr(args, f.name)
        for f in fields(SandboxParams)
        if f.name not in ("command", "cloud_bucket_mounts")
    }
    keywords["command"] = command_words(args.remote_command) or None
    keywords["cloud_bucket_mounts"] = {
        path: CloudBucketMount(bucket) for path, bucket in args.cloud_bucket_mounts.items()
    }
    return keywords


# exec


def _exec_parser(verbs) -> None:
    p = verb(
        verbs,
        "exec",
        "run a command in a running sandbox; exits with its exit code",
        usage="%(prog)s [-i] [-t] [options] SANDBOX_ID [--] COMMAND...",
        epilog=EXEC_EPILOG,
    )
    p.add_argument("-i", "--interactive", action="store_true", help="send local stdin to the command")
    p.add_argument("-t", "--tty", action="store_true", help="use a pseudo-terminal; -it: interactive session")
    p.add_argument("--workdir", metavar="PATH", help="working directory (absolute)")
    pairs_option(p, "--env", help="environment variable (repeatable)")
    _repeated(p, "--secret", "NAME", "secrets", "secret whose variables the command gets")
    p.add_argument(
        "--timeout", action=DurationAction, metavar="DUR", help="kill it after this long (exit 124)"
    )
    add_target(p)
    p.add_argument(
        "remote_command", metavar="COMMAND", nargs=argparse.REMAINDER, help="program and arguments"
    )
    p.set_defaults(verb=exec_in_sandbox)


async def exec_in_sandbox(client: Client, args) -> int:
    command = command_words(args.remote_command)
    if not command:
        raise UsageError("give the command to run after the sandbox id, e.g. -- sh -c 'echo hi'")
    sandbox = await resolve(client, args.sandbox, args.env_name)
    return await run_exec(
        sandbox,
        command,
        interactive=args.interactive,
        pty=args.tty,
        workdir=args.workdir,
        env=args.env,
        timeout=args.timeout,
        secrets=args.secrets,
    )


# terminate, wait, tags


def _terminate_parser(verbs) -> None:
    p = verb(verbs, "terminate", "stop a sandbox")
    add_target(p)
    p.add_argument("--wait", action="store_true", help="wait until it has exited; print its exit code")
    p.set_defaults(verb=terminate_sandbox)


async def terminate_sandbox(client: Client, args) -> int:
    sandbox = await resolve(client, args.sandbox, args.env_name)
    exit_code = await sandbox.terminate(wait=args.wait)
    if args.wait:
        print(exit_code)
    return 0


def _wait_parser(verbs) -> None:
    p = verb(verbs, "wait", "wait until a sandbox exits; its exit code becomes ours")
    add_target(p)
    p.set_defaults(verb=wait_for_sandbox)


async def wait_for_sandbox(client: Client, args) -> int:
    sandbox = await resolve(client, args.sandbox, args.env_name)
    try:
        return await sandbox.wait()
    except SandboxTimeoutError as err:
        if err.exit_code is None:
            raise
        out.warn(str(err))  # stopped by its timeout: still an exit code to pass on
        return err.exit_code


def _tags_parser(verbs) -> None:
    p = verb(verbs, "tags", "show a sandbox's tags, or replace them with the pairs given")
    add_target(p)
    pairs_option(p, "tag", nargs="*", help="the new tags, replacing all others")
    p.add_argument("--clear", action="store_true", help="remove every tag")
    p.add_argument("--json", action="store_true", help="print the tags as one JSON object")
    p.set_defaults(verb=sandbox_tags)


async def sandbox_tags(client: Client, args) -> int:
    if args.clear and args.tag:
        raise UsageError("--clear removes every tag; give either --clear or KEY=VALUE pairs")
    sandbox = await resolve(client, args.sandbox, args.env_name)
    if args.tag or args.clear:
        await sandbox.set_tags(args.tag)
        return 0
    tags = await sandbox.get_tags()
    if args.json:
        out.print_json(tags)
    else:
        for key, value in sorted(tags.items()):
            out.line(f"{key}={value}")
    return 0
