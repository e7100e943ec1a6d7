"""The apps, images and sandboxes the server knows: kept in memory, written through to SQLite
(store.py), found by id or by name.

`scope` below is the environment the caller is confined to (None: every environment). What lies
outside it is answered exactly as what does not exist, so a scoped caller can't even learn that
it exists.
"""

from __future__ import annotations

import time
from typing import Iterator

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server import validation
from sbtui.server.errors import not_found
from sbtui.server.events import EventBus
from sbtui.server.ids import new_id
from sbtui.server.scope import environment_of
from sbtui.server.store import AppRecord, ImageRecord, SandboxRecord, Store

_ACTIVE = (pb.SANDBOX_STATE_CREATING, pb.SANDBOX_STATE_RUNNING, pb.SANDBOX_STATE_TERMINATING)


class Catalog:
    def __init__(self, store: Store, events: EventBus) -> None:
        self.store = store
        self.events = events
        self.apps: dict[str, AppRecord] = {}
        self.images: dict[str, ImageRecord] = {}
        self.sandboxes: dict[str, SandboxRecord] = {}
        self._names: dict[tuple[str, str], str] = {}  # (app_id, name) -> live sandbox id
        self._by_container: dict[str, str] = {}  # container id -> live sandbox id

    def load(self) -> None:
        """What the store holds, read at start."""
        self.apps = {a.app_id: a for a in self.store.load_apps()}
        self.images = {i.image_id: i for i in self.store.load_images()}
        for record in self.store.load_sandboxes():
            self.sandboxes[record.sandbox_id] = record
            if not record.finished:
                if record.name:
                    self._names[(record.app_id, record.name)] = record.sandbox_id
                if record.container_id:
                    self._by_container[record.container_id] = record.sandbox_id

    # ---- apps and images ----------------------------------------------------------

    def app_from_name(self, name: str, environment: str, create: bool) -> AppRecord:
        validation.check_name("name", name)
        environment = environment_of(environment)
        for app in self.apps.values():
            if app.name == name and app.environment == environment:
                return app
        if not create:
            raise not_found(
                f"app {name!r} does not exist in environment {environment!r}; "
                "pass create_if_missing=True to create it"
            )
        app = AppRecord(new_id("ap"), name, environment, time.time())
        self.store.add_app(app)
        self.apps[app.app_id] = app
        return app

    def app(self, app_id: str, scope: str | None = None) -> AppRecord:
        app = self.apps.get(app_id)
        if app is None or (scope is not None and app.environment != scope):
            raise not_found(f"app {app_id!r} does not exist")
        return app

    def add_image(self, image: ImageRecord) -> None:
        self.store.add_image(image)
        self.images[image.image_id] = image

    # ---- sandboxes ----------------------------------------------------------------

    def add_sandbox(self, record: SandboxRecord) -> None:
        if record.name:
            self._names[(record.app_id, record.name)] = record.sandbox_id
        self.sandboxes[record.sandbox_id] = record
        self.store.save_sandbox(record)

    def named(self, app_id: str, name: str) -> str | None:
        """The live sandbox of that name in the app."""
        return self._names.get((app_id, name))

    def track_container(self, container_id: str, sandbox_id: str) -> None:
        self._by_container[container_id] = sandbox_id

    def sandbox_of_container(self, container_id: str) -> str | None:
        return self._by_container.get(container_id)

    def ended(self, record: SandboxRecord) -> None:
        """A sandbox finished: its container and its name are no longer a live sandbox's."""
        self._by_container.pop(record.container_id, None)
        if record.name and self._names.get((record.app_id, record.name)) == record.sandbox_id:
            del self._names[(record.app_id, record.name)]

    def get(self, sandbox_id: str, scope: str | None = None) -> SandboxRecord:
        record = self.sandboxes.get(sandbox_id)
        if record is None or (scope is not None and self.environment(record) != scope):
            raise not_found(f"sandbox {sandbox_id!r} does not exist")
        return record

    def environment(self, record: SandboxRecord) -> str:
        return self.apps[record.app_id].environment

    def info(self, record: SandboxRecord) -> pb.SandboxInfo:
        return record.to_pb(self.apps[record.app_id], self.images.get(record.image_id))

    def publish(self, kind: pb.SandboxEvent.Kind, record: SandboxRecord) -> None:
        """Tell watchers of a change of the sandbox."""
        self.events.publish(kind, self.info(record))

    def from_name(self, app_name: str, name: str, environment: str) -> SandboxRecord:
        validation.check_name("app_name", app_name)
        validation.check_name("name", name)
        environment = environment_of(environment)
        app = next(
            (a for a in self.apps.values() if a.name == app_name and a.environment == environment), None
        )
        if app is None:
            raise not_found(f"app {app_name!r} does not exist in environment {environment!r}")
        sandbox_id = self._names.get((app.app_id, name))
        if sandbox_id is None:
            raise not_found(f"no running sandbox named {name!r} in app {app_name!r}")
        return self.sandboxes[sandbox_id]

    def matching(
        self, app_id: str, tags: dict[str, str], environment: str, finished: bool, node: str = ""
    ) -> Iterator[SandboxRecord]:
        environment = environment_of(environment)
        for record in self.sandboxes.values():
            if record.finished and not finished:
                continue
            if app_id and record.app_id != app_id:
                continue
            if node and record.node != node:
                continue
            if self.apps[record.app_id].environment != environment:
                continue
            if any(record.tags.get(k) != v for k, v in tags.items()):
                continue
            yield record

    def set_tags(self, sandbox_id: str, tags: dict[str, str]) -> SandboxRecord:
        validation.check_tags(tags)
        record = self.get(sandbox_id)
        record.tags = dict(tags)
        self.store.save_sandbox(record)
        self.publish(pb.SandboxEvent.TAGS_CHANGED, record)
        return record

    def running_count(self) -> int:
        return sum(1 for r in self.sandboxes.values() if r.state in _ACTIVE)
