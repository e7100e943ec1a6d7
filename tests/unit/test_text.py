"""The CLI and the dashboard say a thing the same way: a sandbox's state and tags, an image's
size and age. A stand-in client hands fixed data to the verbs, as in test_cli_rendering.py."""

from __future__ import annotations

import time

import pytest

from sbtui.cli import command
from sbtui.client import Image, TerminationReason
from sbtui.tui.columns import COLUMN_BY_KEY
from tests.tui import sample


class Listing:
    def __init__(self, **methods) -> None:
        for name, value in methods.items():
            setattr(self, name, value)


def run(monkeypatch, capsys, client, *argv: str) -> list[list[str]]:
    """The table `sbtui ARGV` prints, as rows of cells (split on runs of two spaces)."""

    async def with_stand_in(args):
        return await args.verb(client, args)

    monkeypatch.setattr(command, "_with_client", with_stand_in)
    assert command.main(list(argv)) == 0
    lines = capsys.readouterr().out.splitlines()
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in lines]


@pytest.mark.parametrize(
    "n", [1, 4, 6, 7, 12], ids=["running", "creating", "exited", "out of memory", "timeout"]
)
def test_sandbox_list_shows_state_node_and_tags_as_the_dashboard(monkeypatch, capsys, n):
    info = sample.sandboxes()[n - 1]

    async def listed(**_):
        yield Listing(info=info)

    client = Listing(sandboxes=Listing(list=listed))
    header, row = run(monkeypatch, capsys, client, "sandbox", "list", "--all")
    shown = dict(zip(header, row))
    assert shown["STATE"] == COLUMN_BY_KEY["state"].text(info, sample.NOW)
    assert shown["TAGS"] == COLUMN_BY_KEY["tags"].text(info, sample.NOW)
    assert shown["NODE"] == COLUMN_BY_KEY["node"].text(info, sample.NOW) == (info.node or "-")
    if info.termination_reason == TerminationReason.OUT_OF_MEMORY:
        assert shown["STATE"] == "out of memory (137)"  # why it ended, not just that it did


def test_image_list_shows_sizes_and_ages_as_the_dashboard(monkeypatch, capsys):
    """Binary units, as memory is shown everywhere; '-' for what is not known."""
    pulled = Image("python:3.11-slim", "im-1")
    pulled.size_bytes, pulled.created_at = 131_400_000, time.time() - 3 * 86400
    unknown = Image("busybox:latest", "im-2")  # an image whose size and time the engine did not give

    async def images(snapshots_only=False):
        return [pulled, unknown]

    header, *rows = run(monkeypatch, capsys, Listing(images=Listing(list=images)), "image", "list")
    assert header == ["ID", "TAG", "SIZE", "AGE", "SNAPSHOT OF"]
    assert rows == [
        ["im-1", "python:3.11-slim", "125Mi", "3d", "-"],
        ["im-2", "busybox:latest", "-", "-", "-"],
    ]
