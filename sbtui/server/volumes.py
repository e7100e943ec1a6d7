"""Named volumes per environment, each backed by an engine named volume `sbtui-<volume id>`.

The engine holds the data; the state file holds the names, and on a cluster the node holding
each volume, where its sandboxes are placed. A volume outlives the sandboxes that mount it, so
what one writes the next one reads.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import posixpath
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import validation
from sbtui.server.errors import invalid, not_found, precondition
from sbtui.server.ids import new_id
from sbtui.server.runtime import naming
from sbtui.server.runtime.base import EngineError, EngineInUse, Runtime
from sbtui.server.store import Store

log = logging.getLogger("sbtui.server")

_TABLE = "volumes"
# A sandbox that just finished may still have its container, being removed, on the volume.
IN_USE_GRACE = 15.0


@dataclass
class VolumeRecord:
    volume_id: str
    name: str
    environment: str
    created_at: float
    node: str = ""  # the node holding it on a cluster (its id), "" on one engine

    @property
    def engine_name(self) -> str:
        return naming.volume(self.volume_id)

    def to_pb(self, names: Mapping[str, str] | None) -> pb.Volume:
        """Its message, the node named from `names` (Runtime.node_names): a node no longer
        there by the start of its id; none when the engine could not say (None)."""
        if names is None:
            node = ""
        elif self.node in names:
            node = names[self.node]
        else:
            node = f"{self.node[:12]} (gone)"
        return pb.Volume(
            volume_id=self.volume_id,
            name=self.name,
            environment=self.environment,
            created_at=self.created_at,
            node=node,
        )


class Volumes:
    def __init__(self, store: Store, runtime: Runtime, server_id: str) -> None:
        self._store = store
        self._runtime = runtime
        self._server_id = server_id
        self._records = {row[0]: VolumeRecord(*row) for row in store.load_rows(_TABLE)}
        self._create_lock = asyncio.Lock()

    def _find(self, name: str, environment: str) -> VolumeRecord | None:
        for record in self._records.values():
            if record.name == name and record.environment == environment:
                return record
        return None

    def _missing(self, name: str, environment: str, hint: str = "", field: str = "") -> Exception:
        return not_found(f"volume {name!r} does not exist in environment {environment!r}{hint}", field=field)

    async def from_name(self, name: str, environment: str, create: bool) -> VolumeRecord:
        validation.check_name("name", name)
        record = self._find(name, environment)
        if record is not None:
            return record
        if not create:
            raise self._missing(name, environment, "; pass create_if_missing=True to create it")
        validation.check_environment(environment)
        # Creations are rare: one at a time, so two callers asking at once get the one volume.
        async with self._create_lock:
            record = self._find(name, environment)
            if record is not None:
                return record
            record = VolumeRecord(new_id("vo"), name, environment, time.time())
            try:
                record.node = await self._runtime.create_volume(
                    record.engine_name,
                    {naming.LABEL_SERVER: self._server_id, naming.LABEL_VOLUME: record.volume_id},
                )
            except EngineError as err:
                raise precondition(f"the engine could not create volume {name!r}: {err}") from None
            self._store.save_row(
                _TABLE, (record.volume_id, name, environment, record.created_at, record.node)
            )
            self._records[record.volume_id] = record
        log.info("volume %r created in environment %r as %s", name, environment, record.engine_name)
        return record

    async def messages(self, records: Iterable[VolumeRecord]) -> builtins.list[pb.Volume]:
        """The records' messages. An engine that does not answer now does not keep the list
        from its caller: the volumes come without their node then."""
        names: Mapping[str, str] | None = None
        try:
            names = await self._runtime.node_names()
        except EngineError as err:
            log.warning("volumes listed without their node: %s", err)
        return [record.to_pb(names) for record in records]

    def list(self, environment: str) -> list[VolumeRecord]:
        found = [r for r in self._records.values() if r.environment == environment]
        return sorted(found, key=lambda r: r.name)

    def _resolve(self, ref: str, environment: str) -> VolumeRecord:
        record = self._records.get(ref)
        if record is not None and record.environment == environment:
            return record
        record = self._find(ref, environment)
        if record is None:
            raise self._missing(
                ref,
                environment,
                "; create it with volumes.from_name(..., create_if_missing=True)",
                field="volumes",
            )
        return record

    def mounts_for(self, volumes: Mapping[str, str], environment: str) -> dict[str, str]:
        """Engine mounts (path -> engine volume) for `volumes` (path -> volume name or id).

        Paths are checked absolute by validation; here they are normalised, so '/data/' and
        '/data' can't both be asked for, and '/' can't be covered.
        """
        mounts: dict[str, str] = {}
        given: dict[str, str] = {}
        for path, ref in volumes.items():
            target = posixpath.normpath(path)
            if target.startswith("//"):
                target = "/" + target.lstrip("/")
            if target == "/":
                raise invalid("volumes", f"{path!r}: a volume can't be mounted over '/'")
            if target in given:
                raise invalid("volumes", f"{given[target]!r} and {path!r} are the same path")
            if not ref:
                raise invalid("volumes", f"no volume given for {path!r}")
            given[target] = path
            mounts[target] = self._resolve(ref, environment).engine_name
        return mounts

    def nodes_of(self, volumes: Mapping[str, str], environment: str) -> dict[str, str]:
        """Where each of `volumes` (path -> volume name or id) lives: its name -> its node,
        for the runtime to place the sandbox there (empty on one engine)."""
        found = {}
        for ref in volumes.values():
            record = self._resolve(ref, environment)
            if record.node:
                found[record.name] = record.node
        return found

    # builtins.list: in the class, `list` is the method above.
    def _mounted_by(self, record: VolumeRecord, sandboxes: Iterable) -> builtins.list[tuple[str, str]]:
        """(sandbox id, path) of each live sandbox that mounts the volume."""
        found = []
        for sandbox, environment in sandboxes:
            # Sandboxes mount only their own environment's volumes; looking no further also
            # keeps other environments' sandbox ids out of the refusal.
            if environment != record.environment:
                continue
            for path, ref in sandbox.params.volumes.items():
                if ref in (record.volume_id, record.name):
                    found.append((sandbox.sandbox_id, path))
        return found

    async def delete(self, name: str, environment: str, live_sandboxes: Callable[[], Iterable]) -> None:
        """Remove a volume and its data; refused while a live sandbox mounts it.

        `live_sandboxes()` gives (sandbox record, environment) pairs of unfinished sandboxes.
        """
        record = self._find(name, environment)
        if record is None:
            raise self._missing(name, environment)
        deadline = time.monotonic() + IN_USE_GRACE
        while True:
            users = self._mounted_by(record, live_sandboxes())
            if users:
                where = ", ".join(f"{sid} (at {path})" for sid, path in users)
                raise precondition(
                    f"volume {name!r} is mounted by running sandbox {where}; terminate it first"
                )
            try:
                await self._runtime.remove_volume(record.engine_name, record.node)
                break
            except EngineInUse as err:
                # Only containers of finished sandboxes, on their way out, can hold it now.
                if time.monotonic() > deadline:
                    raise precondition(f"volume {name!r} is still in use in the engine: {err}") from None
                await asyncio.sleep(0.1)
            except EngineError as err:
                raise precondition(f"the engine could not remove volume {name!r}: {err}") from None
        self._store.delete_row(_TABLE, record.volume_id)
        self._records.pop(record.volume_id, None)
        log.info("volume %r deleted from environment %r", name, environment)
