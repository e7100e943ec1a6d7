"""`sbtui image ...` and the image-related sandbox verbs: pull with progress, list images and
snapshots, snapshot a sandbox, read its main command's output."""

from __future__ import annotations

import argparse
import sys

from sbtui.cli import output as out
from sbtui.cli.args import DurationAction, verb, whole_number
from sbtui.cli.target import add_target, resolve
from sbtui.client import Client, Image
from sbtui.client.models import INT32_MAX
from sbtui.text import age, size_text

IMAGE_COLUMNS = ("ID", "TAG", "SIZE", "AGE", "SNAPSHOT OF")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    verbs = sub.add_parser("image", help="pull and list images and snapshots")
    verbs = verbs.add_subparsers(dest="image_command", metavar="VERB", required=True)
    p = verb(verbs, "list", "list the images this server knows, newest first")
    p.add_argument("--snapshots", action="store_true", help="only snapshots of sandboxes")
    p.add_argument("--json", action="store_true", help="print JSON Lines: one object per image")
    p.set_defaults(verb=list_images)
    p = verb(verbs, "pull", "pull an image from its registry, showing progress")
    p.add_argument("tag", metavar="TAG", help="image reference, e.g. python:3.11")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the image id")
    p.set_defaults(verb=pull_image)


def add_sandbox_verbs(verbs: argparse._SubParsersAction) -> None:
    """`sandbox logs` and `sandbox snapshot`, added to the sandbox verbs."""
    p = verb(verbs, "logs", "print the output of a sandbox's main command")
    add_target(p)
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new output until it exits")
    p.add_argument(
        "--tail", type=whole_number(0, INT32_MAX), default=0, metavar="N", help="only the last N lines"
    )
    p.set_defaults(verb=sandbox_logs)
    p = verb(verbs, "snapshot", "snapshot a running sandbox's filesystem to an image; print its id")
    add_target(p)
    p.add_argument(
        "--timeout",
        action=DurationAction,
        default=300.0,
        metavar="DUR",
        help="give up after this long (default 5m)",
    )
    p.set_defaults(verb=snapshot_sandbox)


def image_json(image: Image) -> dict:
    return {
        "image_id": image.image_id,
        "tag": image.tag,
        "size_bytes": image.size_bytes,
        "created_at": image.created_at,
        "source_sandbox_id": image.source_sandbox_id or None,
    }


async def list_images(client: Client, args) -> int:
    images = await client.images.list(snapshots_only=args.snapshots)
    out.print_listing(
        args.json,
        images,
        image_json,
        IMAGE_COLUMNS,
        lambda i: [i.image_id, i.tag, size_text(i.size_bytes), age(i.created_at), i.source_sandbox_id or "-"],
    )
    return 0


async def pull_image(client: Client, args) -> int:
    layers: dict[str, str] = {}
    async for event in client.images.pull(args.tag):
        if event.image is not None:
            out.line(event.image.image_id or "")
            return 0
        if args.quiet:
            continue
        # One line per change of a layer's status, like `docker pull` without a terminal.
        line = f"{event.layer}: {event.status}" if event.layer else event.status
        if event.total:
            line += f" {event.current * 100 // event.total}%"
        if layers.get(event.layer) != line:
            layers[event.layer] = line
            out.line(line, file=sys.stderr)
    return 1


async def sandbox_logs(client: Client, args) -> int:
    sandbox = await resolve(client, args.sandbox, args.env_name)
    async for chunk in sandbox.logs(follow=args.follow, tail=args.tail):
        stream = sys.stdout.buffer if chunk.stream == "stdout" else sys.stderr.buffer
        stream.write(chunk.data)
        stream.flush()
    return 0


async def snapshot_sandbox(client: Client, args) -> int:
    sandbox = await resolve(client, args.sandbox, args.env_name)
    image = await sandbox.snapshot_filesystem(timeout=args.timeout)
    out.line(image.image_id or "")
    return 0
