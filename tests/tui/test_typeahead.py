"""Keys typed ahead land where they would have landed typed one by one.

Each burst below is one write to the dashboard's real pseudo-terminal, so the dashboard reads the
keys together, as it does over SSH, from a paste or from a fast typist. Every key that opens or
focuses something is followed at once by the keys meant for what it opened; what they did is
read back from the server (tags, files, new sandboxes) and from the screen.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import pytest

from sbtui.client import FailedPreconditionError, SbtuiError
from tests.conftest import ENGINES
from tests.tui.pty_dashboard import Terminal, dashboard_on_a_pty

pytestmark = pytest.mark.engine

ENTER, TAB, BACKTAB = b"\r", b"\t", b"\x1b[Z"
CTRL_O, CTRL_S, SESSION_KEY = b"\x0f", b"\x13", b"\x1d"


@pytest.fixture(scope="session", params=ENGINES[:1])
def engine(request) -> str:
    """The keys are the dashboard's business: one engine is enough."""
    return request.param


@pytest.fixture
async def two_sandboxes(client, app, image):
    """One sandbox in the test's app, then a newer one in another app (listed above it)."""
    other = await client.apps.from_name(app.name + "-other", create_if_missing=True)
    ours = await client.sandboxes.create(app, image, command=["sleep", "600"], timeout=300)
    theirs = await client.sandboxes.create(other, image, command=["sleep", "600"], timeout=300)
    yield ours, theirs
    for sb in (ours, theirs):
        await sb.terminate()


async def file_in(sandbox, path: str) -> str | None:
    """The text of `path` in the sandbox, or None while it does not exist."""
    try:
        process = await sandbox.exec(["cat", path])
        out = await process.stdout.read()
        return out.decode() if await process.wait() == 0 else None
    except SbtuiError:
        return None


@contextlib.contextmanager
def opened(server, *sandboxes) -> Iterator[Terminal]:
    """The dashboard on a pty, once it lists `sandboxes`."""
    with dashboard_on_a_pty(server.address) as (main, proc):
        term = Terminal(main, proc)
        for sb in sandboxes:
            term.shows(sb.sandbox_id)
        yield term


async def test_filter_open_and_edit_tags_in_one_burst(server, client, app, two_sandboxes):
    ours, theirs = two_sandboxes
    with opened(server, ours, theirs) as term:
        # `/` opens the prompt, enter goes back to the table, enter opens the (only) row left,
        # `e` edits its tags, enter saves them.
        term.type(b"/app:" + app.name.encode() + ENTER + ENTER + b"e" + b"typed=ahead" + ENTER)
        await term.until(ours.get_tags, "the tags saved on the filtered sandbox")
        assert await ours.get_tags() == {"typed": "ahead"}
        assert await theirs.get_tags() == {}
        assert term.running()


async def test_app_picker_then_exec_in_one_burst(server, client, app, two_sandboxes):
    ours, _ = two_sandboxes
    with opened(server, *two_sandboxes) as term:
        # `a` opens the app picker, the name narrows it, enter picks; enter opens the sandbox and
        # `x` the exec prompt, where the command goes.
        term.type(b"a" + app.name.encode() + ENTER + ENTER + b"x" + b"echo picked > /tmp/x" + ENTER)
        assert await term.until(lambda: file_in(ours, "/tmp/x"), "the exec's file") == "picked\n"
        term.shows("app:" + app.name)  # the filter the picker set, kept on the list below


async def test_shell_gets_the_keys_typed_right_after_s(server, client, app, two_sandboxes):
    ours, _ = two_sandboxes
    with opened(server, *two_sandboxes) as term:
        # The shell takes a round trip to the server to open: the command typed after `s` waits
        # for it instead of going to the list, where its `q` would quit the dashboard.
        term.type(b"/app:" + app.name.encode() + ENTER + b"s" + b"echo q typed > /tmp/s" + ENTER)
        assert await term.until(lambda: file_in(ours, "/tmp/s"), "the shell's file") == "q typed\n"
        # The session key then `d` goes back to the list; `w` lists the sessions, enter goes back
        # into the one there is, and the command after it reaches its shell.
        term.type(SESSION_KEY + b"d" + b"w" + ENTER + b"echo again > /tmp/w" + ENTER)
        assert await term.until(lambda: file_in(ours, "/tmp/w"), "the second file") == "again\n"
        assert term.running()


async def test_create_form_fields_filled_in_one_burst(server, client, app, two_sandboxes):
    name, new_app = "typed-ahead", app.name + "-new"
    with opened(server, *two_sandboxes) as term:
        # Fields in the form's order: app, image, environment, name, command. Tab and shift+tab
        # move between them; ctrl+o picks the image (its picker searched and chosen at once).
        term.type(
            b"c"
            + new_app.encode()
            + TAB
            + TAB
            + TAB
            + name.encode()
            + BACKTAB
            + BACKTAB
            + CTRL_O
            + b"busybox"
            + ENTER
            + TAB
            + TAB
            + TAB
            + b"sleep 600"
            + CTRL_S
        )
        created = await term.until(lambda: _first(client, new_app), "the sandbox the form created")
        try:
            assert created.info.name == name
            assert list(created.info.params.command) == ["sleep", "600"]
            images = {i.image_id: i for i in await client.images.list()}
            assert "busybox" in images[created.info.image_id].tag
        finally:
            await term.until(lambda: _ended(created), "the new sandbox terminated")


async def test_duplicate_named_in_one_burst(server, client, app, two_sandboxes):
    ours, _ = two_sandboxes
    with opened(server, *two_sandboxes) as term:
        # `D` opens the form filled in from the selected sandbox, on its name field.
        term.type(b"/app:" + app.name.encode() + ENTER + b"D" + b"the-copy" + CTRL_S)
        copy = await term.until(lambda: _named(client, app.name, "the-copy"), "the duplicate")
        try:
            assert list(copy.info.params.command) == ["sleep", "600"]
        finally:
            await term.until(lambda: _ended(copy), "the copy terminated")


async def test_snapshots_filter_in_one_burst(server, client, two_sandboxes):
    with opened(server, *two_sandboxes) as term:
        term.type(b"i" + b"/" + b"no-such-snapshot")
        term.shows("no-such-snapshot")
        term.type(ENTER + b"q")  # enter leaves the prompt, so `q` is the dashboard's again
        assert term.ended(15) == 0


async def _first(client, app_name: str):
    found = await client.apps.from_name(app_name, create_if_missing=True)
    return await anext(aiter(client.sandboxes.list(app_id=found.app_id)), None)


async def _named(client, app_name: str, name: str):
    try:
        return await client.sandboxes.from_name(app_name, name)
    except SbtuiError:
        return None


async def _ended(sandbox) -> bool:
    """Terminate `sandbox`: True once it took (a sandbox still starting refuses)."""
    try:
        await sandbox.terminate()
        return True
    except FailedPreconditionError:
        return False
