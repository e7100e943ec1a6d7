"""`sbtui volume ...`: create, list and delete named volumes (mount them with
`sbtui sandbox create --volume PATH=NAME`)."""

from __future__ import annotations

import argparse

from sbtui.cli import output as out
from sbtui.cli.args import verb, verb_group
from sbtui.client import AlreadyExistsError, Client, NotFoundError, Volume
from sbtui.text import age

VOLUME_COLUMNS = ("NAME", "ID", "NODE", "AGE")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    verb_group(sub, "volume", "create, list and delete volumes", _list_parser, _create_parser, _delete_parser)


def volume_json(volume: Volume) -> dict:
    return {
        "volume_id": volume.volume_id,
        "name": volume.name,
        "environment": volume.environment,
        "created_at": volume.created_at,
        "node": volume.node or None,
    }


def _list_parser(verbs) -> None:
    p = verb(verbs, "list", "list volumes", env=True)
    p.add_argument("--json", action="store_true", help="print JSON Lines: one object per volume")
    p.set_defaults(verb=list_volumes)


async def list_volumes(client: Client, args) -> int:
    volumes = await client.volumes.list(environment=args.env)
    out.print_listing(
        args.json,
        volumes,
        volume_json,
        VOLUME_COLUMNS,
        lambda v: [v.name, v.volume_id, v.node or "-", age(v.created_at)],
    )
    return 0


def _create_parser(verbs) -> None:
    p = verb(verbs, "create", "create an empty volume and print its id", env=True)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="print the volume as one JSON object")
    p.set_defaults(verb=create_volume)


async def create_volume(client: Client, args) -> int:
    try:
        await client.volumes.from_name(args.name, environment=args.env)
    except NotFoundError:
        pass
    else:
        where = f" in environment {args.env!r}" if args.env else ""
        raise AlreadyExistsError(f"volume {args.name!r} already exists{where}")
    volume = await client.volumes.from_name(args.name, create_if_missing=True, environment=args.env)
    if args.json:
        out.print_json(volume_json(volume))
    else:
        out.line(volume.volume_id)
    return 0


def _delete_parser(verbs) -> None:
    p = verb(verbs, "delete", "delete a volume and its data (refused while a sandbox mounts it)", env=True)
    p.add_argument("name", metavar="NAME")
    p.set_defaults(verb=delete_volume)


async def delete_volume(client: Client, args) -> int:
    await client.volumes.delete(args.name, environment=args.env)
    return 0
