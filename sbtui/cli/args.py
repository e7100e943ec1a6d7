"""Command-line values of the scriptable verbs: durations, KEY=VALUE pairs, ports, connection options.

Bad values end the program through `parser.error`, so the message names the option, the value
and the form expected, under the usage of the verb that was mistyped (exit code 2).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, NoReturn, Sequence

from sbtui.printable import printable
from sbtui.text import parse_duration, split_pair

ENV_HELP = "environment (default: the token's, for a token scoped to one; else 'main')"


class Parser(argparse.ArgumentParser):
    """The parser of `sbtui` and, through add_subparsers, of every verb: its messages quote
    arguments as given, which scripts may fill with a tenant's strings."""

    def error(self, message: str) -> NoReturn:
        super().error(printable(message))


class UsageError(Exception):
    """Input the parser could not check by itself; reported like a parser error (exit code 2)."""


def whole_number(low: int, high: int):
    """An argparse type: a whole number from `low` to `high`, else a message saying so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low}..{high}")
        return value

    return parse


class DurationAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:
        try:
            setattr(namespace, self.dest, parse_duration(values))
        except ValueError as err:
            parser.error(f"{option_string} {values}: {err}")


class PairsAction(argparse.Action):
    """Collects KEY=VALUE values (an option given many times, or a list) into a dict."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        # A '*' positional given nothing receives its default instead of a list.
        items = [values] if isinstance(values, str) else values if isinstance(values, list) else []
        pairs = dict(getattr(namespace, self.dest, None) or {})
        label = option_string or self.dest
        for item in items:
            try:
                key, value = split_pair(item)
            except ValueError as err:
                parser.error(f"{label} {item}: expected {self.metavar}; {err}")
            pairs[key] = value
        setattr(namespace, self.dest, pairs)


class PortAction(argparse.Action):
    """Collects repeated port numbers into a list."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        if not values.isdigit() or not 1 <= int(values) <= 65535:
            parser.error(f"{option_string} {values}: expected a port number from 1 to 65535")
        ports = list(getattr(namespace, self.dest, None) or [])
        ports.append(int(values))
        setattr(namespace, self.dest, ports)


def pairs_option(parser, *flags: str, metavar: str = "KEY=VALUE", **kw: Any) -> None:
    parser.add_argument(*flags, action=PairsAction, metavar=metavar, default={}, **kw)


def verb_group(
    sub: argparse._SubParsersAction,
    name: str,
    help: str,
    *verbs: Callable[[argparse._SubParsersAction], None],
) -> argparse._SubParsersAction:
    """`sbtui NAME VERB`: the group's parser, with each of `verbs` adding its verb to it."""
    group = sub.add_parser(name, help=help).add_subparsers(
        dest=f"{name}_command", metavar="VERB", required=True
    )
    for add in verbs:
        add(group)
    return group


def verb(
    verbs: argparse._SubParsersAction, name: str, help: str, *, env: bool = False, **kw: Any
) -> argparse.ArgumentParser:
    """The parser of one verb of a group (`sandbox list`, `secret create`...): its help, a
    description made of it, the connection options and, with `env`, --env."""
    parser = verbs.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".", **kw)
    add_connection_options(parser, suppress=True)
    if env:
        parser.add_argument("--env", metavar="ENV", help=ENV_HELP)
    parser.set_defaults(parser=parser)  # for a UsageError raised once the verb runs
    return parser


def add_connection_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """--server and --token; on verbs `suppress` keeps a value given before the verb."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--server",
        metavar="ADDR",
        default=default,
        help="HOST:PORT, tls://HOST:PORT or unix:/path (default: $SBTUI_SERVER, "
        "else the local server, started on demand)",
    )
    group.add_argument(
        "--token",
        default=default,
        help="bearer token for the server (default: $SBTUI_TOKEN; prefer the variable, "
        "as arguments are visible in ps)",
    )


def command_words(words: Sequence[str]) -> list[str]:
    """The COMMAND after a verb's options: argparse keeps the '--' that introduced it."""
    words = list(words)
    return words[1:] if words[:1] == ["--"] else words
