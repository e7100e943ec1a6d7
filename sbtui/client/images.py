"""Images: lazily resolved registry references, and images by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator

from sbtui.proto import sandbox_pb2 as pb

if TYPE_CHECKING:
    from sbtui.client.connection import Connection

IMAGE_ID_PREFIX = "im-"  # the server's image ids; registry references are told apart by it


def is_image_id(ref: str) -> bool:
    """Whether `ref` names an image by the server's id (im-...) rather than a registry reference."""
    return ref.startswith(IMAGE_ID_PREFIX)


class Image:
    """An image to start sandboxes from.

    `images.from_registry(tag)` gives one whose `image_id` is None until it is resolved,
    either by `await image.resolve()` or by the first sandbox created from it.
    """

    def __init__(self, tag: str = "", image_id: str | None = None,
                 connection: "Connection | None" = None) -> None:
        self.tag = tag
        self.image_id = image_id
        self.created_at = 0.0
        self.size_bytes = 0
        self.source_sandbox_id = ""  # set for snapshots
        self._connection = connection

    @classmethod
    def from_pb(cls, image: pb.Image, connection: "Connection | None" = None) -> "Image":
        made = cls(image.tag, image.image_id, connection)
        made.created_at, made.size_bytes = image.created_at, image.size_bytes
        made.source_sandbox_id = image.source_sandbox_id
        return made

    def __repr__(self) -> str:
        source = f", source_sandbox_id={self.source_sandbox_id!r}" if self.source_sandbox_id else ""
        return f"Image(tag={self.tag!r}, image_id={self.image_id!r}{source})"

    async def resolve(self) -> "Image":
        """Make sure the engine has the image (pulling it if needed) and learn its id."""
        if self.image_id is None:
            assert self._connection is not None
            reply = await self._connection.call(
                "ImageFromRegistry", pb.ImageFromRegistryRequest(tag=self.tag), timeout=None
            )
            self.image_id = reply.image_id
            self.created_at, self.size_bytes = reply.created_at, reply.size_bytes
        return self


class Images:
    def __init__(self, connection: "Connection") -> None:
        self._connection = connection

    def from_registry(self, tag: str) -> Image:
        """An image from a registry reference like 'python:3.11'; pulled when first used."""
        if not isinstance(tag, str) or not tag.strip():
            raise ValueError("an image tag like 'python:3.11' is required")
        return Image(tag=tag, connection=self._connection)

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
        return Image.from_pb(reply, self._connection)

    async def pull(self, tag: str) -> AsyncIterator[PullProgress]:
        """Pull `tag` (if the engine lacks it) and follow the progress; the last event has
        `image` set."""
        request = pb.ImageFromRegistryRequest(tag=tag)
        async for event in self._connection.stream("ImagePull", request):
            yield PullProgress(
                status=event.status, layer=event.layer, current=event.current, total=event.total,
                image=Image.from_pb(event.image, self._connection) if event.HasField("image") else None,
            )

    async def list(self, *, snapshots_only: bool = False) -> list[Image]:
        """Images this server has resolved or made, newest first; snapshots name their source."""
        reply = await self._connection.call(
            "ImageList", pb.ImageListRequest(snapshots_only=snapshots_only), safe=True
        )
        return [Image.from_pb(i, self._connection) for i in reply.images]


@dataclass(frozen=True)
class PullProgress:
    status: str
    layer: str = ""
    current: int = 0
    total: int = 0
    image: Image | None = None
