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
from typing import AsyncIterator

import grpc

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import validation
from sbtui.server.catalog import Catalog
from sbtui.server.errors import ServiceError, invalid, not_found, precondition
from sbtui.server.ids import new_id
from sbtui.server.runtime.base import (
    BadImageReference,
    EngineError,
    EngineNotFound,
    RegistryUnreachable,
    Runtime,
)
from sbtui.server.runtime.naming import LABEL_SNAPSHOT_SOURCE, SNAPSHOT_REPO
from sbtui.server.store import ImageRecord, SandboxRecord

# The reference grammar of the distribution spec: [domain[:port]/]path[:tag][@digest].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
)
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


def missing_tag(tag: str) -> ServiceError:
    return not_found(f"image {tag!r} does not exist on this server", field="tag")


def _names_snapshot(tag: str) -> bool:
    return tag == SNAPSHOT_REPO or tag.startswith((SNAPSHOT_REPO + ":", SNAPSHOT_REPO + "@"))


def pull_failure(tag: str, err: EngineError) -> ServiceError:
    """The client-facing error for a pull that failed."""
    if isinstance(err, BadImageReference):
        return invalid("tag", str(err))
    if isinstance(err, EngineNotFound):
        return not_found(str(err))
    if isinstance(err, RegistryUnreachable):
        return precondition(str(err))
    return precondition(f"image {tag!r} could not be pulled: {err}")


class Images:
    def __init__(self, catalog: Catalog, runtime: Runtime) -> None:
        self._catalog = catalog
        self._runtime = runtime

    # ---- who sees which --------------------------------------------------------------

    def environment_of(self, image: ImageRecord) -> str | None:
        """None for a registry image (shared); a snapshot's environment ("" if its source is unknown)."""
        if not image.source_sandbox_id:
            return None
        source = self._catalog.sandboxes.get(image.source_sandbox_id)
        return self._catalog.environment(source) if source else ""

    def visible(self, image: ImageRecord, scope: str | None) -> bool:
        if scope is None:
            return True
        environment = self.environment_of(image)
        return environment is None or environment == scope

    def _check_snapshot_tag(self, tag: str, scope: str | None) -> None:
        """A scoped caller names a snapshot by tag only if it is one of its environment's.

        Checked before the engine is asked, so another environment's snapshot and one that never
        existed get the same answer.
        """
        if scope is None or not _names_snapshot(tag):
            return
        if not any(i.tag == tag and self.visible(i, scope) for i in self._catalog.images.values()):
            raise missing_tag(tag)

    # ---- finding and pulling -------------------------------------------------------

    async def from_registry(self, tag: str, scope: str | None = None) -> ImageRecord:
        check_reference(tag)
        self._check_snapshot_tag(tag, scope)
        try:
            found = await self._runtime.resolve_image(tag)
        except EngineError as err:
            raise pull_failure(tag, err) from None
        for image in self._catalog.images.values():
            if image.engine_id == found.engine_id:
                if not self.visible(image, scope):
                    # Another name for another environment's snapshot.
                    raise missing_tag(tag)
                return image
        image = ImageRecord(new_id("im"), found.engine_id, tag, found.created_at, found.size_bytes)
        self._catalog.add_image(image)
        return image

    async def from_id(self, image_id: str, scope: str | None = None) -> ImageRecord:
        image = self._catalog.images.get(image_id)
        if (
            image is None
            or not self.visible(image, scope)
            or await self._runtime.inspect_image(image.engine_id) is None
        ):
            raise not_found(f"image {image_id!r} does not exist on this server")
        return image

    async def pull(self, tag: str, scope: str | None = None) -> AsyncIterator[pb.ImagePullEvent]:
        """Progress of a pull as the engine reports it, then one event carrying the image."""
        check_reference(tag)
        self._check_snapshot_tag(tag, scope)
        if await self._runtime.inspect_image(tag) is None:
            try:
                async for event in self._runtime.pull(tag):
                    detail = event.get("progressDetail") or {}
                    yield pb.ImagePullEvent(
                        status=str(event.get("status", "")),
                        layer=str(event.get("id", "")),
                        current=int(detail.get("current") or 0),
                        total=int(detail.get("total") or 0),
                    )
            except EngineError as err:
                raise pull_failure(tag, err) from None
        image = await self.from_registry(tag, scope)
        yield pb.ImagePullEvent(status="ready", image=image.to_pb())

    def listing(self, snapshots_only: bool, scope: str | None = None) -> list[pb.Image]:
        images = [
            i
            for i in self._catalog.images.values()
            if (i.source_sandbox_id or not snapshots_only) and self.visible(i, scope)
        ]
        images.sort(key=lambda i: i.created_at, reverse=True)
        return [i.to_pb() for i in images]

    # ---- snapshots -----------------------------------------------------------------

    async def snapshot(self, sandbox_id: str, timeout: float, scope: str | None = None) -> ImageRecord:
        record = self._catalog.get(sandbox_id, scope)
        validation.check_seconds("timeout", timeout)
        if record.state != pb.SANDBOX_STATE_RUNNING:
            ended = f" (exit code {record.exit_code})" if record.exit_code is not None else ""
            raise precondition(f"sandbox {sandbox_id} is not running{ended}; snapshot a running sandbox")
        now = time.time()
        image_id = new_id("im")
        # The container's environment holds its secrets' values, which engines copy into a commit.
        env = await self._snapshot_env(record) if record.params.secret_ids else None
        try:
            engine_id = await asyncio.wait_for(
                self._runtime.commit(
                    record.container_id,
                    SNAPSHOT_REPO,
                    image_id.lower(),
                    {LABEL_SNAPSHOT_SOURCE: sandbox_id},
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
        info = await self._runtime.inspect_image(engine_id)
        image = ImageRecord(
            image_id=image_id,
            engine_id=engine_id,
            tag=f"{SNAPSHOT_REPO}:{image_id.lower()}",
            created_at=now,
            size_bytes=info.size_bytes if info else 0,
            source_sandbox_id=sandbox_id,
        )
        self._catalog.add_image(image)
        return image

    async def _snapshot_env(self, record: SandboxRecord) -> list[str]:
        """A snapshot's environment: its source image's, with the sandbox's own `env` set over it.

        Never a secret's value: a sandbox started from the snapshot gets secrets from its own
        `secrets` only, so a deleted or replaced secret is not carried on by its snapshots.
        """
        image = self._catalog.images.get(record.image_id)
        info = await self._runtime.inspect_image(image.engine_id) if image else None
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
