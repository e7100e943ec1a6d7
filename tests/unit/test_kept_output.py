"""The kept output of finished sandboxes is sealed in the state file, and older clear rows still read."""

from __future__ import annotations

import grpc
import pytest

from sbtui.server import logs
from sbtui.server.errors import ServiceError
from sbtui.server.sealing import Sealer
from sbtui.server.secrets import Secrets
from sbtui.server.store import Store

FRAMES = [(1, b"one\n"), (2, b"printed s3cret-value\n"), (1, b"two\n")]


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "state.db")
    yield store
    store.close()


def on_disk(store: Store) -> bytes:
    return b"".join(p.read_bytes() for p in store.path.parent.glob("state.db*"))


def test_output_is_sealed_under_the_secrets_key_and_reads_back(store, tmp_path):
    sealer = Sealer(tmp_path / "secrets.key")
    kept = logs.KeptOutput(store, sealer)
    kept.save("sb-1", FRAMES)
    assert kept.load("sb-1") == FRAMES
    assert b"s3cret-value" not in on_disk(store) and b"one\n" not in on_disk(store)
    assert (tmp_path / "secrets.key").exists()  # the key secrets use: one key file, shared
    Secrets(store, sealer).create("db", "main", {"K": "v"}, overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir() if "key" in p.name) == ["secrets.key"]
    assert kept.load("sb-1") == FRAMES


def test_rows_kept_in_clear_by_earlier_versions_still_read(store, tmp_path):
    store.save_logs("sb-old", logs.encode(FRAMES))  # as written before output was sealed
    assert logs.KeptOutput(store, Sealer(tmp_path / "secrets.key")).load("sb-old") == FRAMES


def test_a_sealed_row_opens_only_for_its_own_sandbox_and_key(store, tmp_path):
    kept = logs.KeptOutput(store, Sealer(tmp_path / "secrets.key"))
    kept.save("sb-1", FRAMES)
    store.save_logs("sb-2", store.load_logs("sb-1"))  # moved to another sandbox's row
    with pytest.raises(ServiceError) as caught:
        kept.load("sb-2")
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert caught.value.message.startswith(
        "the kept output of sandbox sb-2 can't be read: it does not open with the key in "
    )
    (tmp_path / "secrets.key").unlink()
    with pytest.raises(ServiceError, match="sb-1 can't be read: the secrets key .* is missing"):
        logs.KeptOutput(store, Sealer(tmp_path / "secrets.key")).load("sb-1")
