"""`sbtui secret ...`: create, list and delete named secrets. Values are never printed.

A value can be given inline (KEY=VALUE), read from a file (KEY=@FILE) or taken from a variable
of this process (--from-env KEY), so it need not appear in the shell's history or in `ps`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sbtui.cli import output as out
from sbtui.cli.args import UsageError, verb, verb_group
from sbtui.client import Client, Secret
from sbtui.text import age

SECRET_COLUMNS = ("NAME", "ID", "KEYS", "AGE")
CREATE_EPILOG = (
    "VALUE forms: KEY=VALUE; KEY=@FILE takes the file's contents as they are (trailing newline "
    "included); KEY=@@TEXT is the literal value @TEXT. --from-env KEY takes the value of KEY in "
    "this process's environment. Prints the secret's id; values are never printed."
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    verb_group(sub, "secret", "create, list and delete secrets", _create_parser, _list_parser, _delete_parser)


# create


def _create_parser(verbs) -> None:
    p = verb(
        verbs,
        "create",
        "store a secret: named KEY=VALUE pairs injected as environment variables",
        env=True,
        epilog=CREATE_EPILOG,
    )
    p.add_argument("name", metavar="NAME")
    # Raw strings, parsed by the verb: argparse's own errors would echo a value back.
    p.add_argument("pairs", metavar="KEY=VALUE", nargs="*", help="a variable (or KEY=@FILE)")
    p.add_argument(
        "--from-env",
        metavar="KEY",
        action="append",
        default=[],
        help="take KEY's value from this process's environment (repeatable)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the secret if it exists")
    p.add_argument("--json", action="store_true", help="print the secret (names of keys only) as JSON")
    p.set_defaults(verb=create_secret)


def secret_values(pairs: list[str], from_env: list[str]) -> dict[str, str]:
    """The values the arguments stand for; errors name the argument or key, never a value."""
    values: dict[str, str] = {}
    for position, item in enumerate(pairs, 1):
        key, sep, value = item.partition("=")
        if not sep or not key:
            # Not echoed: a value typed without its KEY= would end up on the screen.
            raise UsageError(f"value {position} is not KEY=VALUE, KEY=@FILE or KEY=@@TEXT")
        if value.startswith("@@"):
            value = value[1:]
        elif value.startswith("@"):
            path = Path(value[1:])
            try:
                value = path.read_text()
            except (OSError, UnicodeDecodeError) as err:
                reason = err.strerror if isinstance(err, OSError) else "it is not UTF-8 text"
                raise UsageError(f"{key}: cannot read {path}: {reason}") from None
        values[key] = value
    for key in from_env:
        if key not in os.environ:
            raise UsageError(f"--from-env {key}: there is no variable {key} in this environment")
        values[key] = os.environ[key]
    if not values:
        raise UsageError("give at least one KEY=VALUE, KEY=@FILE or --from-env KEY")
    return values


def secret_json(secret: Secret) -> dict:
    return {
        "secret_id": secret.secret_id,
        "name": secret.name,
        "environment": secret.environment,
        "keys": list(secret.keys),
        "created_at": secret.created_at,
    }


async def create_secret(client: Client, args) -> int:
    if "=" in args.name or (args.env and "=" in args.env):
        where = "NAME" if "=" in args.name else "--env"
        raise UsageError(
            f"{where} holds a '=' (not shown, in case it is a value): NAME comes first, "
            "then KEY=VALUE pairs; --env names an environment, not a variable"
        )
    values = secret_values(args.pairs, args.from_env)
    secret = await client.secrets.create(args.name, values, environment=args.env, overwrite=args.overwrite)
    if args.json:
        out.print_json(secret_json(secret))
    else:
        out.line(secret.secret_id)
    return 0


# list, delete


def _list_parser(verbs) -> None:
    p = verb(verbs, "list", "list secrets with the names of their keys", env=True)
    p.add_argument("--json", action="store_true", help="print JSON Lines: one object per secret")
    p.set_defaults(verb=list_secrets)


async def list_secrets(client: Client, args) -> int:
    secrets = await client.secrets.list(environment=args.env)
    out.print_listing(
        args.json,
        secrets,
        secret_json,
        SECRET_COLUMNS,
        lambda s: [s.name, s.secret_id, ",".join(s.keys), age(s.created_at)],
    )
    return 0


def _delete_parser(verbs) -> None:
    p = verb(verbs, "delete", "delete a secret (sandboxes that have it keep their variables)", env=True)
    p.add_argument("name", metavar="NAME")
    p.set_defaults(verb=delete_secret)


async def delete_secret(client: Client, args) -> int:
    await client.secrets.delete(args.name, environment=args.env)
    return 0
