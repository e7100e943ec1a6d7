"""Images the server knows: registry pulls with progress, snapshots of sandboxes, listing.

Images pulled from registries are shared by every environment: anyone may pull the same
reference, so sharing the result shows nothing a caller could not get anyway. A snapshot holds
its source sandbox's filesystem, so it belongs to that sandbox's environment: a caller scoped
to another environment can neither see nor use it, and is answered as if it did not exist.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING, AsyncIterator

import grpc

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import validation
from sbtui.server.errors import ServiceError, invalid, not_found, precondition
from sbtui.server.ids import new_id
from sbtui.server.runtime.naming import LABEL_SNAPSHOT_SOURCE, SNAPSHOT_REPO
from sbtui.server.runtime.base import (
    BadImageReference, EngineError, EngineNotFound, RegistryUnreachable,
)
from sbtui.server.store import ImageRecord, SandboxRecord

if TYPE_CHECKING:
    from sbtui.server.sandboxes import SandboxManager



# The reference grammar of the distribution spec: [domain[:port]/]path[:tag][@digest].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?\Z",
    re.ASCII,
)


def check_reference(tag: str) -> None:
    if len(tag) > 255 or not _REFERENCE.match(tag):
        raise invalid(
            "tag",
            f"{tag!r} is not an image reference: use [registry/]name[:tag], lowercase, "
            "e.g. 'python:3.11' or '127.0.0.1:5000/team/tool:1'",
        )


def environment_of_image(manager: "SandboxManager", image: ImageRecord) -> str | None:
    """None for a registry image (shared); a snapshot's environment ("" if its source is unknown)."""
    if not image.source_sandbox_id:
        return None
    source = manager.sandboxes.get(image.source_sandbox_id)
    return manager.environment(source) if source else ""


def visible(manager: "SandboxManager", image: ImageRecord, scope: str | None) -> bool:
    if scope is None:
        return True
    environment = environment_of_image(manager, image)
    return environment is None or environment == scope


def missing_tag(tag: str) -> ServiceError:
    return not_found(f"image {tag!r} does not exist on this server", field="tag")


def _names_snapshot(tag: str) -> bool:
    return tag == SNAPSHOT_REPO or tag.startswith((SNAPSHOT_REPO + ":", SNAPSHOT_REPO + "@"))


def check_snapshot_tag(manager: "SandboxManager", tag: str, scope: str | None) -> None:
    """A scoped caller names a snapshot by tag only if it is one of its environment's.

    Checked before the engine is asked, so another environment's snapshot and one that never
    existed get the same answer.
    """
    if scope is None or not _names_snapshot(tag):
        return
    if not any(i.tag == tag and visible(manager, i, scope) for i in manager.images.values()):
        raise missing_tag(tag)


def pull_failure(tag: str, err: EngineError) -> ServiceError:
    """The client-facing error for a pull that failed."""
    if isinstance(err, BadImageReference):
        return invalid("tag", str(err))
    if isinstance(err, EngineNotFound):
        return not_found(str(err))
    if isinstance(err, RegistryUnreachable):
        return precondition(str(err))
    return precondition(f"image {tag!r} could not be pulled: {err}")


async def pull(
    manager: "SandboxManager", tag: str, scope: str | None = None
) -> AsyncIterator[pb.ImagePullEvent]:
    """Progress of a pull as the engine reports it, then one event carrying the image."""
    check_reference(tag)
    check_snapshot_tag(manager, tag, scope)
    if await manager.runtime.inspect_image(tag) is None:
        try:
            async for event in manager.runtime.pull(tag):
                detail = event.get("progressDetail") or {}
                yield pb.ImagePullEvent(
                    status=str(event.get("status", "")), layer=str(event.get("id", "")),
                    current=int(detail.get("current") or 0), total=int(detail.get("total") or 0),
                )
        except EngineError as err:
            raise pull_failure(tag, err) from None
    image = await manager.image_from_registry(tag, scope)
    yield pb.ImagePullEvent(status="ready", image=image.to_pb())


async def snapshot_env(manager: "SandboxManager", record: SandboxRecord) -> list[str]:
    """A snapshot's environment: its source image's, with the sandbox's own `env` set over it.

    Never a secret's value: a sandbox started from the snapshot gets secrets from its own
    `secrets` only, so a deleted or replaced secret is not carried on by its snapshots.
    """
    image = manager.images.get(record.image_id)
    info = await manager.runtime.inspect_image(image.engine_id) if image else None
    if info is None:
        raise precondition(
            f"the image sandbox {record.sandbox_id} was started from is gone from the engine, so "
            "its snapshot's environment can't be told apart from its secrets'"
        )
    own = dict(record.params.env)
    env = []
    for entry in info.env:
        key = entry.partition("=")[0]
        env.append(f"{key}={own.pop(key)}" if key in own else entry)
    return env + [f"{key}={value}" for key, value in own.items()]


async def snapshot(
    manager: "SandboxManager", sandbox_id: str, timeout: float, scope: str | None = None
) -> ImageRecord:
    record = manager.get(sandbox_id, scope)
    validation.check_seconds("timeout", timeout)
    if record.state != pb.SANDBOX_STATE_RUNNING:
        ended = f" (exit code {record.exit_code})" if record.exit_code is not None else ""
        raise precondition(
            f"sandbox {sandbox_id} is not running{ended}; snapshot a running sandbox"
        )
    now = time.time()
    image_id = new_id("im")
    # The container's environment holds its secrets' values, which engines copy into a commit.
    env = await snapshot_env(manager, record) if record.params.secret_ids else None
    try:
        engine_id = await asyncio.wait_for(
            manager.runtime.commit(
                record.container_id, SNAPSHOT_REPO, image_id.lower(), {LABEL_SNAPSHOT_SOURCE: sandbox_id},
                env,
            ),
            timeout or None,
        )
    except asyncio.TimeoutError:
        raise ServiceError(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            f"the snapshot of {sandbox_id} did not finish within {timeout:g} s",
        ) from None
    except EngineError as err:
        raise precondition(f"the engine could not snapshot {sandbox_id}: {err}") from None
    info = await manager.runtime.inspect_image(engine_id)
    image = ImageRecord(
        image_id=image_id, engine_id=engine_id, tag=f"{SNAPSHOT_REPO}:{image_id.lower()}",
        created_at=now, size_bytes=info.size_bytes if info else 0, source_sandbox_id=sandbox_id,
    )
    manager.add_image(image)
    return image


def listing(
    manager: "SandboxManager", snapshots_only: bool, scope: str | None = None
) -> list[pb.Image]:
    images = [
        i for i in manager.images.values()
        if (i.source_sandbox_id or not snapshots_only) and visible(manager, i, scope)
    ]
    images.sort(key=lambda i: i.created_at, reverse=True)
    return [i.to_pb() for i in images]
