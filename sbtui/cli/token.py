"""`sbtui token ...`: create, list and revoke tokens scoped to one environment.

These are the operator's verbs: they need the server's admin token (or its local Unix socket).
`create` prints the new token's value, once: it is the one secret sbtui ever prints, because
printing it is what the operator asked for; the server keeps only a hash of it.
"""

from __future__ import annotations

import argparse

from sbtui.cli import output as out
from sbtui.cli.args import verb, verb_group
from sbtui.client import Client, Token
from sbtui.text import age

TOKEN_COLUMNS = ("ID", "ENVIRONMENT", "DESCRIPTION", "AGE")
CREATE_EPILOG = (
    "Prints the token's value on standard output (with --json, an object whose 'value' holds "
    "it) and its id on standard error. The value is shown this once: the server keeps only a "
    "hash. Hand it over as SBTUI_TOKEN rather than on a command line, where ps shows it."
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    verb_group(
        sub,
        "token",
        "create, list and revoke environment-scoped tokens",
        _create_parser,
        _list_parser,
        _revoke_parser,
    )


def token_json(token: Token) -> dict:
    return {
        "token_id": token.token_id,
        "environment": token.environment,
        "description": token.description,
        "created_at": token.created_at,
    }


def _create_parser(verbs) -> None:
    p = verb(verbs, "create", "make a token that sees and touches only one environment", epilog=CREATE_EPILOG)
    p.add_argument(
        "--environment",
        "--env",
        dest="environment",
        metavar="ENV",
        required=True,
        help="the environment the token is for",
    )
    p.add_argument(
        "--description", default="", metavar="TEXT", help="who or what holds the token, shown by `token list`"
    )
    p.add_argument("--json", action="store_true", help="print the token, value included, as JSON")
    p.set_defaults(verb=create_token)


async def create_token(client: Client, args) -> int:
    made = await client.tokens.create(args.environment, description=args.description)
    if args.json:
        out.print_json({**token_json(made.token), "value": made.value})
    else:
        print(made.value)  # exact: it is meant to be copied (the server makes it URL-safe)
        out.warn(f"token {made.token_id} for environment {made.environment!r}; its value is shown only now")
    return 0


def _list_parser(verbs) -> None:
    p = verb(verbs, "list", "list tokens (never their values)")
    p.add_argument(
        "--environment",
        "--env",
        dest="environment",
        metavar="ENV",
        help="only the tokens of this environment (default: every environment)",
    )
    p.add_argument("--json", action="store_true", help="print JSON Lines: one object per token")
    p.set_defaults(verb=list_tokens)


async def list_tokens(client: Client, args) -> int:
    tokens = await client.tokens.list(environment=args.environment)
    out.print_listing(
        args.json,
        tokens,
        token_json,
        TOKEN_COLUMNS,
        lambda t: [t.token_id, t.environment, t.description or "-", age(t.created_at)],
    )
    return 0


def _revoke_parser(verbs) -> None:
    p = verb(verbs, "revoke", "revoke a token: the next call made with it is refused")
    p.add_argument("token_id", metavar="ID", help="the token's id (tk-...), from `token list`")
    p.set_defaults(verb=revoke_token)


async def revoke_token(client: Client, args) -> int:
    await client.tokens.revoke(args.token_id)
    return 0
