"""A state directory of an older server opens in a newer one: columns added since are added
to its tables, and what it kept loads unchanged."""

from __future__ import annotations

import json
import sqlite3

from sbtui.proto import sandbox_pb2 as pb
from sbtui.server.store import AppRecord, Store

# The sandboxes table as servers made it before they kept the node.
_BEFORE_NODES = """
CREATE TABLE sandboxes (
  sandbox_id TEXT PRIMARY KEY, app_id TEXT NOT NULL, name TEXT NOT NULL,
  image_id TEXT NOT NULL, params BLOB NOT NULL, container_id TEXT NOT NULL,
  state INTEGER NOT NULL, exit_code INTEGER, reason INTEGER NOT NULL, tags TEXT NOT NULL,
  created_at REAL NOT NULL, started_at REAL NOT NULL, finished_at REAL NOT NULL,
  deadline REAL NOT NULL, last_activity REAL NOT NULL
);
"""


def test_sandboxes_of_a_server_before_nodes_load_and_then_keep_a_node(tmp_path):
    path = tmp_path / "state.db"
    old = sqlite3.connect(path)
    old.executescript(_BEFORE_NODES)
    params = pb.SandboxCreateParams(name="kept").SerializeToString()
    old.execute(
        "INSERT INTO sandboxes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("sb-1", "ap-1", "kept", "im-1", params, "c1", pb.SANDBOX_STATE_RUNNING, None, 0,
         json.dumps({"env": "prod"}), 1.0, 2.0, 0.0, 300.0, 2.0),
    )  # fmt: skip
    old.commit()
    old.close()

    store = Store(path)
    [record] = store.load_sandboxes()
    assert (record.sandbox_id, record.name, record.tags, record.node) == ("sb-1", "kept", {"env": "prod"}, "")
    record.node = "worker-1"
    store.save_sandbox(record)
    store.close()

    again = Store(path)  # opened a second time: the column is there already
    assert [r.node for r in again.load_sandboxes()] == ["worker-1"]
    assert again.load_sandboxes()[0].to_pb(AppRecord("ap-1", "web", "main", 1.0), None).node == "worker-1"
    again.close()


def test_volumes_of_a_server_before_nodes_load_on_no_node(tmp_path):
    path = tmp_path / "state.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE volumes (volume_id TEXT PRIMARY KEY, name TEXT NOT NULL, environment TEXT NOT NULL, "
        "created_at REAL NOT NULL, UNIQUE (environment, name));"
    )
    old.execute("INSERT INTO volumes VALUES ('vo-1', 'data', 'main', 1.0)")
    old.commit()
    old.close()

    store = Store(path)
    assert store.load_rows("volumes") == [("vo-1", "data", "main", 1.0, "")]  # one engine: no node
    store.save_row("volumes", ("vo-2", "kept", "main", 2.0, "node-id-1"))
    store.close()
    again = Store(path)
    assert sorted(again.load_rows("volumes"))[1] == ("vo-2", "kept", "main", 2.0, "node-id-1")
    again.close()
