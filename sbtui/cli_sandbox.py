"""`sbtui sandbox ...`: list, create, exec, terminate, wait and tag sandboxes from scripts."""

from __future__ import annotations

import argparse

from sbtui import cli_image, cli_tunnel
from sbtui import cli_output as out
from sbtui.cli_args import (
    ENV_HELP, DurationAction, PortAction, UsageError, add_connection_options, command_words, pairs_option,
    whole_number,
)
from sbtui.cli_exec import run_exec
from sbtui.client import Client, CloudBucketMount, NotFoundError, Sandbox, SandboxTimeoutError
from sbtui.client.models import INT64_MAX as MAX_MIB

DEFAULT_IMAGE = "localhost/sbtui/busybox:latest"
SANDBOX_REF = "sandbox id (sb-...) or APP/NAME of a running named sandbox"
EXEC_EPILOG = (
    "Options go before SANDBOX_ID; everything after it is the command. Exit code: the command's; "
    "124 if --timeout killed it; 128+N if sbtui got signal N (the command is then killed); "
    "1-5 for sbtui's own errors (see sbtui --help). With -it, Ctrl-C and every other key go to "
    "the sandbox."
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    verbs = sub.add_parser("sandbox", help="list, create, exec into and stop sandboxes")
    verbs = verbs.add_subparsers(dest="sandbox_command", metavar="VERB", required=True)
    for add in (_list_parser, _create_parser, _exec_parser, _terminate_parser, _wait_parser, _tags_parser):
        add(verbs)
    cli_image.add_sandbox_verbs(verbs, _verb, _target)
    cli_tunnel.add_sandbox_verbs(verbs, _verb, _target)


def _verb(verbs, name: str, help: str, **kw) -> argparse.ArgumentParser:
    parser = verbs.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".", **kw)
    add_connection_options(parser, suppress=True)
    parser.set_defaults(parser=parser)  # for a UsageError raised once the verb runs
    return parser


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sandbox", metavar="SANDBOX_ID", help=SANDBOX_REF)
    parser.add_argument("--env-name", metavar="ENV", help="environment of APP in APP/NAME")


def _repeated(parser, flag: str, metavar: str, dest: str, help: str) -> None:
    parser.add_argument(flag, metavar=metavar, action="append", dest=dest, help=f"{help} (repeatable)")


async def resolve(client: Client, ref: str, environment: str | None = None) -> Sandbox:
    """The sandbox named by an id, or by APP/NAME."""
    app_name, slash, name = ref.partition("/")
    if not slash:
        return await client.sandboxes.from_id(ref)
    if not app_name or not name:
        raise UsageError(f"{ref}: expected a sandbox id or APP/NAME")
    try:
        return await client.sandboxes.from_name(app_name, name, environment=environment)
    except NotFoundError:
        # The server's message for a missing app speaks of API parameters; this one fits a CLI.
        raise NotFoundError(f"no running sandbox named {name!r} in app {app_name!r}") from None


async def _app_id(client: Client, name: str, environment: str | None) -> str:
    """Looked up among the apps rather than with from_name, whose hint is for API callers."""
    for app in await client.apps.list(environment=environment):
        if app.name == name:
            return app.app_id
    where = f" in environment {environment!r}" if environment else ""
    raise NotFoundError(f"there is no app named {name!r}{where}; `sbtui app list` shows them")


# list

def _list_parser(verbs) -> None:
    p = _verb(verbs, "list", "list running sandboxes, newest first")
    p.add_argument("--app", metavar="NAME", help="only sandboxes of this app")
    pairs_option(p, "--tag", dest="tags", help="only sandboxes with this tag (repeatable; all must match)")
    p.add_argument("--env", metavar="ENV", help=ENV_HELP)
    p.add_argument("--all", action="store_true", help="include finished sandboxes")
    p.add_argument("--json", action="store_true", help="print JSON Lines: one object per sandbox")
    p.set_defaults(verb=list_sandboxes)


async def list_sandboxes(client: Client, args) -> int:
    app_id = await _app_id(client, args.app, args.env) if args.app else None
    found = client.sandboxes.list(
        app_id=app_id, tags=args.tags, environment=args.env, include_finished=args.all
    )
    infos = [sandbox.info async for sandbox in found]
    out.print_listing(args.json, infos, out.sandbox_json, out.SANDBOX_COLUMNS, out.sandbox_row)
    return 0


# create

def _create_parser(verbs) -> None:
    p = _verb(verbs, "create", "create a sandbox and print its id",
              usage="%(prog)s --app NAME [options] [-- COMMAND...]")
    p.add_argument("--app", metavar="NAME", required=True, help="app to create it in (made if missing)")
    p.add_argument("--image", metavar="TAG", default=DEFAULT_IMAGE,
                   help=f"registry reference or image id (im-...); default: {DEFAULT_IMAGE}")
    p.add_argument("--name", metavar="N", help="name, unique among the app's running sandboxes")
    p.add_argument("--cpu", type=float, metavar="CORES", help="CPU request in cores")
    p.add_argument("--cpu-limit", type=float, metavar="CORES", help="hard CPU limit in cores")
    p.add_argument("--memory", type=whole_number(1, MAX_MIB), metavar="MiB", help="memory request in MiB")
    p.add_argument("--memory-limit", type=whole_number(1, MAX_MIB), metavar="MiB", help="hard memory limit in MiB")
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
    """The rest of SandboxCreateParams, so that a refusal names the field instead of a flag missing."""
    group.add_argument("--gpu", metavar="SPEC", help="GPU, e.g. T4 or A100:2")
    _repeated(group, "--secret", "NAME", "secrets", "secret to inject")
    pairs_option(group, "--volume", metavar="PATH=VOLUME", dest="volumes", help="volume mount (repeatable)")
    pairs_option(
        group, "--cloud-bucket", metavar="PATH=BUCKET", dest="buckets", help="bucket mount (repeatable)",
    )
    for flag, how in (("--encrypted-port", "TLS"), ("--h2-port", "HTTP/2"), ("--unencrypted-port", "TCP")):
        tunnel = f"port to tunnel over {how} (repeatable)"
        group.add_argument(flag, metavar="PORT", action=PortAction, help=tunnel)
    _repeated(group, "--cidr-allow", "CIDR", "cidr_allowlist", "range the sandbox may reach")
    group.add_argument("--cloud", metavar="PROVIDER", help="cloud provider")
    _repeated(group, "--region", "REGION", "regions", "preferred region")
    group.add_argument("--proxy", metavar="ID", help="proxy to use")
    group.add_argument("--custom-domain", metavar="DOMAIN", help="custom domain for tunnels")
    group.add_argument("--verbose", action="store_true", help="verbose sandbox logging")


async def create_sandbox(client: Client, args) -> int:
    # An image id (a snapshot, say) or a registry reference.
    if args.image.startswith("im-"):
        image = await client.images.from_id(args.image)
    else:
        image = client.images.from_registry(args.image)
    app = await client.apps.from_name(args.app, create_if_missing=True, environment=args.env_name)
    sandbox = await client.sandboxes.create(
        app, image,
        cpu=args.cpu, cpu_limit=args.cpu_limit, memory_mib=args.memory,
        memory_limit_mib=args.memory_limit, gpu=args.gpu, timeout=args.timeout,
        idle_timeout=args.idle_timeout, workdir=args.workdir,
        command=command_words(args.remote_command) or None, env=args.env, secrets=args.secrets,
        volumes=args.volumes,
        cloud_bucket_mounts={path: CloudBucketMount(bucket) for path, bucket in args.buckets.items()},
        pty=args.pty, encrypted_ports=args.encrypted_port, h2_ports=args.h2_port,
        unencrypted_ports=args.unencrypted_port, block_network=args.block_network,
        cidr_allowlist=args.cidr_allowlist, cloud=args.cloud, regions=args.regions,
        verbose=args.verbose, proxy=args.proxy, name=args.name, custom_domain=args.custom_domain,
    )
    if args.tags:
        try:
            await sandbox.set_tags(args.tags)
        except BaseException:
            # Half a create would leave a running sandbox nobody asked for: take it back.
            await sandbox.terminate()
            raise
    if args.json:
        out.print_json(out.sandbox_json(sandbox.info))
    else:
        out.line(sandbox.sandbox_id)
    return 0


# exec

def _exec_parser(verbs) -> None:
    p = _verb(verbs, "exec", "run a command in a running sandbox; exits with its exit code",
              usage="%(prog)s [-i] [-t] [options] SANDBOX_ID [--] COMMAND...", epilog=EXEC_EPILOG)
    p.add_argument("-i", "--interactive", action="store_true", help="send local stdin to the command")
    p.add_argument("-t", "--tty", action="store_true", help="use a pseudo-terminal; -it: interactive session")
    p.add_argument("--workdir", metavar="PATH", help="working directory (absolute)")
    pairs_option(p, "--env", help="environment variable (repeatable)")
    _repeated(p, "--secret", "NAME", "secrets", "secret whose variables the command gets")
    p.add_argument("--timeout", action=DurationAction, metavar="DUR", help="kill it after this long (exit 124)")
    _target(p)
    p.add_argument("remote_command", metavar="COMMAND", nargs=argparse.REMAINDER, help="program and arguments")
    p.set_defaults(verb=exec_in_sandbox)


async def exec_in_sandbox(client: Client, args) -> int:
    command = command_words(args.remote_command)
    if not command:
        raise UsageError("give the command to run after the sandbox id, e.g. -- sh -c 'echo hi'")
    sandbox = await resolve(client, args.sandbox, args.env_name)
    return await run_exec(
        sandbox, command, interactive=args.interactive, pty=args.tty,
        workdir=args.workdir, env=args.env, timeout=args.timeout, secrets=args.secrets,
    )


# terminate, wait, tags

def _terminate_parser(verbs) -> None:
    p = _verb(verbs, "terminate", "stop a sandbox")
    _target(p)
    p.add_argument("--wait", action="store_true", help="wait until it has exited; print its exit code")
    p.set_defaults(verb=terminate_sandbox)


async def terminate_sandbox(client: Client, args) -> int:
    sandbox = await resolve(client, args.sandbox, args.env_name)
    exit_code = await sandbox.terminate(wait=args.wait)
    if args.wait:
        print(exit_code)
    return 0


def _wait_parser(verbs) -> None:
    p = _verb(verbs, "wait", "wait until a sandbox exits; its exit code becomes ours")
    _target(p)
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
    p = _verb(verbs, "tags", "show a sandbox's tags, or replace them with the pairs given")
    _target(p)
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
