"""Images: lazily resolved registry references, and images by id."""

from __future__ import annotations

from typing import TYPE_CHECKING, AsyncIterator

from sbtui.client import wire
from sbtui.client.models import Image, PullProgress
from sbtui.proto import sandbox_pb2 as pb

if TYPE_CHECKING:
    from sbtui.client.connection import Connection

IMAGE_ID_PREFIX = "im-"  # the server's image ids; registry references are told apart by it


def is_image_id(ref: str) -> bool:
    """Whether `ref` names an image by the server's id (im-...) rather than a registry reference."""
    return ref.startswith(IMAGE_ID_PREFIX)


class Images:
    def __init__(self, connection: "Connection") -> None:
        self._connection = connection

    def from_registry(self, tag: str) -> Image:
        """An image from a registry reference like 'python:3.11'; pulled when first used."""
        if not isinstance(tag, str) or not tag.strip():
            raise ValueError("an image tag like 'python:3.11' is required")
        return Image(tag=tag, resolver=self._resolve)

    async def from_ref(self, ref: str) -> Image:
        """An image named either way a person may name one: by id (im-..., looked up now) or
        by registry reference (resolved when first used, as with `from_registry`)."""
        if is_image_id(ref):
            return await self.from_id(ref)
        return self.from_registry(ref)

    async def from_id(self, image_id: str) -> Image:
        reply = await self._connection.call(
            "ImageFromId", pb.ImageFromIdRequest(image_id=image_id), safe=True
        )
        return wire.image(reply)

    async def pull(self, tag: str) -> AsyncIterator[PullProgress]:
        """Pull `tag` (if the engine lacks it) and follow the progress; the last event has
        `image` set."""
        request = pb.ImageFromRegistryRequest(tag=tag)
        async for event in self._connection.stream("ImagePull", request):
            yield wire.pull_progress(event)

    async def list(self, *, snapshots_only: bool = False) -> list[Image]:
        """Images this server has resolved or made, newest first; snapshots name their source."""
        reply = await self._connection.call(
            "ImageList", pb.ImageListRequest(snapshots_only=snapshots_only), safe=True
        )
        return [wire.image(i) for i in reply.images]

    async def _resolve(self, image: Image) -> None:
        """`image.resolve()` of an image from a registry reference: the server pulls it if
        needed and says its id."""
        reply = await self._connection.call(
            "ImageFromRegistry", pb.ImageFromRegistryRequest(tag=image.tag), timeout=None
        )
        resolved = wire.image(reply)
        image.image_id, image.created_at, image.size_bytes = (
            resolved.image_id,
            resolved.created_at,
            resolved.size_bytes,
        )
