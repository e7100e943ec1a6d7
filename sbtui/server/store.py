"""The server's state in SQLite: apps, images, sandboxes (with names, tags, deadlines, exit codes),
secrets, volumes and scoped tokens.

Every change is written through at once, so a server killed at any point restarts with what it
knew; the in-memory copies the server works from are rebuilt from here at start.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from sbtui.proto import sandbox_pb2 as pb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
  app_id TEXT PRIMARY KEY, name TEXT NOT NULL, environment TEXT NOT NULL, created_at REAL NOT NULL,
  UNIQUE (environment, name)
);
CREATE TABLE IF NOT EXISTS images (
  image_id TEXT PRIMARY KEY, engine_id TEXT NOT NULL UNIQUE, tag TEXT NOT NULL,
  created_at REAL NOT NULL, size_bytes INTEGER NOT NULL,
  source_sandbox_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS logs (
  sandbox_id TEXT PRIMARY KEY, output BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sandboxes (
  sandbox_id TEXT PRIMARY KEY, app_id TEXT NOT NULL, name TEXT NOT NULL,
  image_id TEXT NOT NULL, params BLOB NOT NULL, container_id TEXT NOT NULL,
  state INTEGER NOT NULL, exit_code INTEGER, reason INTEGER NOT NULL, tags TEXT NOT NULL,
  created_at REAL NOT NULL, started_at REAL NOT NULL, finished_at REAL NOT NULL,
  deadline REAL NOT NULL, last_activity REAL NOT NULL, node TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS secrets (
  secret_id TEXT PRIMARY KEY, name TEXT NOT NULL, environment TEXT NOT NULL,
  keys TEXT NOT NULL, ciphertext BLOB NOT NULL, created_at REAL NOT NULL,
  UNIQUE (environment, name)
);
CREATE TABLE IF NOT EXISTS volumes (
  volume_id TEXT PRIMARY KEY, name TEXT NOT NULL, environment TEXT NOT NULL,
  created_at REAL NOT NULL, UNIQUE (environment, name)
);
CREATE TABLE IF NOT EXISTS tokens (
  token_id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, environment TEXT NOT NULL,
  description TEXT NOT NULL, created_at REAL NOT NULL
);
"""

# Columns added since a table was first made, each with its definition: a state directory of an
# older server gets them when a newer one opens it, so its records keep loading.
_ADDED_COLUMNS = {
    "sandboxes": (("node", "TEXT NOT NULL DEFAULT ''"),),
    # The node holding a volume, on a cluster (runtime create_volume).
    "volumes": (("node", "TEXT NOT NULL DEFAULT ''"),),
}


@dataclass
class AppRecord:
    app_id: str
    name: str
    environment: str
    created_at: float

    def to_pb(self) -> pb.App:
        return pb.App(
            app_id=self.app_id, name=self.name, environment=self.environment, created_at=self.created_at
        )


@dataclass
class ImageRecord:
    image_id: str
    engine_id: str
    tag: str
    created_at: float
    size_bytes: int
    source_sandbox_id: str = ""  # set for snapshots

    def to_pb(self) -> pb.Image:
        return pb.Image(
            image_id=self.image_id,
            tag=self.tag,
            created_at=self.created_at,
            size_bytes=self.size_bytes,
            source_sandbox_id=self.source_sandbox_id,
        )


@dataclass
class SandboxRecord:
    sandbox_id: str
    app_id: str
    name: str
    image_id: str
    params: pb.SandboxCreateParams
    container_id: str = ""
    state: pb.SandboxState = pb.SANDBOX_STATE_CREATING
    exit_code: int | None = None
    reason: pb.TerminationReason = pb.TERMINATION_REASON_UNSPECIFIED
    tags: dict[str, str] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    started_at: float = 0.0
    finished_at: float = 0.0
    deadline: float = 0.0
    last_activity: float = 0.0
    node: str = ""  # where its container runs, once it has started (runtime ContainerState.node)

    @property
    def finished(self) -> bool:
        return self.state == pb.SANDBOX_STATE_FINISHED

    def to_pb(self, app: AppRecord, image: ImageRecord | None) -> pb.SandboxInfo:
        info = pb.SandboxInfo(
            sandbox_id=self.sandbox_id,
            app_id=self.app_id,
            app_name=app.name,
            environment=app.environment,
            name=self.name,
            image_id=self.image_id,
            image_tag=image.tag if image else "",
            params=self.params,
            state=self.state,
            termination_reason=self.reason,
            tags=self.tags,
            created_at=self.created_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            deadline=self.deadline,
            last_activity=self.last_activity,
            node=self.node,
        )
        if self.exit_code is not None:
            info.exit_code = self.exit_code
        return info


_SANDBOX_COLUMNS = (
    "sandbox_id, app_id, name, image_id, params, container_id, state, exit_code, reason, tags, "
    "created_at, started_at, finished_at, deadline, last_activity, node"
)


class Store:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._add_columns()

    def _add_columns(self) -> None:
        for table, columns in _ADDED_COLUMNS.items():
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, definition in columns:
                if name not in present:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")

    def close(self) -> None:
        self._db.close()

    # apps
    def load_apps(self) -> list[AppRecord]:
        rows = self._db.execute("SELECT app_id, name, environment, created_at FROM apps")
        return [AppRecord(*row) for row in rows]

    def add_app(self, app: AppRecord) -> None:
        self._db.execute(
            "INSERT INTO apps VALUES (?, ?, ?, ?)", (app.app_id, app.name, app.environment, app.created_at)
        )

    # images
    def load_images(self) -> list[ImageRecord]:
        rows = self._db.execute(
            "SELECT image_id, engine_id, tag, created_at, size_bytes, source_sandbox_id FROM images"
        )
        return [ImageRecord(*row) for row in rows]

    def add_image(self, image: ImageRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO images "
            "(image_id, engine_id, tag, created_at, size_bytes, source_sandbox_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                image.image_id,
                image.engine_id,
                image.tag,
                image.created_at,
                image.size_bytes,
                image.source_sandbox_id,
            ),
        )

    # the kept output of finished sandboxes' main commands (framed, see sbtui.server.logs)
    def save_logs(self, sandbox_id: str, output: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO logs VALUES (?, ?)", (sandbox_id, output))

    def has_logs(self, sandbox_id: str) -> bool:
        """Whether the output of the sandbox is kept (empty output is kept as such)."""
        return (
            self._db.execute("SELECT 1 FROM logs WHERE sandbox_id = ?", (sandbox_id,)).fetchone() is not None
        )

    def load_logs(self, sandbox_id: str) -> bytes:
        row = self._db.execute("SELECT output FROM logs WHERE sandbox_id = ?", (sandbox_id,)).fetchone()
        return row[0] if row else b""

    # sandboxes
    def load_sandboxes(self) -> list[SandboxRecord]:
        records = []
        for row in self._db.execute(f"SELECT {_SANDBOX_COLUMNS} FROM sandboxes"):
            values = list(row)
            values[4] = pb.SandboxCreateParams.FromString(values[4])
            values[9] = json.loads(values[9])
            records.append(SandboxRecord(*values))
        return records

    def save_sandbox(self, r: SandboxRecord) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO sandboxes ({_SANDBOX_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.sandbox_id,
                r.app_id,
                r.name,
                r.image_id,
                r.params.SerializeToString(),
                r.container_id,
                r.state,
                r.exit_code,
                r.reason,
                json.dumps(r.tags),
                r.created_at,
                r.started_at,
                r.finished_at,
                r.deadline,
                r.last_activity,
                r.node,
            ),
        )

    # secrets (rows of sbtui.server.secrets; values only as ciphertext), volumes and scoped
    # tokens (rows of sbtui.server.tokens; values only as SHA-256 hashes)
    _KEYS = {"secrets": "secret_id", "volumes": "volume_id", "tokens": "token_id"}

    def load_rows(self, table: str) -> list[tuple]:
        assert table in self._KEYS
        return self._db.execute(f"SELECT * FROM {table}").fetchall()

    def save_row(self, table: str, row: tuple) -> None:
        assert table in self._KEYS
        marks = ", ".join("?" * len(row))
        self._db.execute(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", row)

    def delete_row(self, table: str, row_id: str) -> None:
        key = self._KEYS[table]
        self._db.execute(f"DELETE FROM {table} WHERE {key} = ?", (row_id,))
