"""Regenerate screenshots/*.svg: every dashboard screen, drawn from the fixed sample data.

    .venv/bin/python -m tests.tui.screenshots [--out screenshots] [--only NAME...]

The scenes here are also what tests/tui/test_snapshots.py compares against its SVG snapshots.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from textual.pilot import Pilot

from sbtui.client import Image
from sbtui.tui.app import SbtuiApp
from sbtui.tui.state import ConnectionStatus
from tests.tui import sample

SIZE = (160, 40)
# A keys.toml that does not exist: screenshots show the default keys, and a stable path.
KEYMAP = Path("/home/you/.config/sbtui/keys.toml")


async def until(pilot: Pilot, condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Let the app run until `condition()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.01)


def make_app(readonly: bool = False) -> SbtuiApp:
    return SbtuiApp(client=sample.SampleClient(), clock=sample.clock, keymap_path=KEYMAP, readonly=readonly)


async def _listed(pilot: Pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: app.store.synced and len(app.screen.rows), "the sample sandboxes")


def _sample_id(n: int) -> str:
    return sample.sandboxes()[n - 1].sandbox_id


async def _opened(pilot: Pilot, n: int = 1, lines: int = 5) -> None:
    await _listed(pilot)
    pilot.app.screen.select_sandbox(_sample_id(n))
    await pilot.press("enter")
    await until(
        pilot,
        lambda: (
            pilot.app.screen.query("#output") and pilot.app.screen.query_one("#output").line_count >= lines
        ),
        "the sandbox's output",
    )


async def sandbox_list(pilot: Pilot) -> None:
    await _listed(pilot)


async def sandbox_list_filtered(pilot: Pilot) -> None:
    await _listed(pilot)
    await pilot.press("slash", *"tag:env=prod state:r", "enter")
    await until(pilot, lambda: len(pilot.app.screen.rows) == 2, "the filter to apply")


async def sandbox_list_readonly(pilot: Pilot) -> None:
    await _listed(pilot)


async def app_picker(pilot: Pilot) -> None:
    await _listed(pilot)
    await pilot.press("a", "n", "o")
    await until(pilot, lambda: pilot.app.screen.query("#app-options"), "the app picker")


async def connection_lost(pilot: Pilot) -> None:
    await _listed(pilot)
    pilot.app.connection = ConnectionStatus(
        False, "lost the connection to the sbtui server: Socket closed", attempt=3, was_connected=True
    )


async def engine_restarting(pilot: Pilot) -> None:
    await _listed(pilot)
    pilot.app.client.engine = sample.ENGINE_RESTARTING
    pilot.app.engine = sample.ENGINE_RESTARTING


async def help_list(pilot: Pilot) -> None:
    await _listed(pilot)
    await pilot.press("question_mark")
    await until(pilot, lambda: pilot.app.screen.query("#help-keys"), "the help screen")


async def terminate_confirm(pilot: Pilot) -> None:
    await _listed(pilot)
    pilot.app.screen.select_sandbox(_sample_id(2))
    await pilot.press("ctrl+d")
    await until(pilot, lambda: pilot.app.screen.query("#yes"), "the confirmation")


async def sandbox_detail(pilot: Pilot) -> None:
    await _opened(pilot)


async def sandbox_detail_finished(pilot: Pilot) -> None:
    await _opened(pilot, 7, lines=6)


async def sandbox_detail_tags(pilot: Pilot) -> None:
    await _opened(pilot)
    await pilot.press("e", "end", *" owner=ana")
    await until(
        pilot, lambda: "owner=ana" in pilot.app.screen.query_one("#tags-input").value, "the tag editor"
    )


async def help_detail(pilot: Pilot) -> None:
    await _opened(pilot)
    await pilot.press("question_mark")
    await until(pilot, lambda: pilot.app.screen.query("#help-keys"), "the help screen")


async def tunnels(pilot: Pilot) -> None:
    await _opened(pilot)
    await pilot.press("t")
    await until(
        pilot,
        lambda: (
            pilot.app.screen.query("#tunnels-table")
            and pilot.app.screen.query_one("#tunnels-table").row_count == 2
        ),
        "the tunnels",
    )


async def tunnels_checked(pilot: Pilot) -> None:
    await tunnels(pilot)
    screen = pilot.app.screen
    screen.show_checks(sample.tunnel_checks(screen.tunnels))
    await pilot.pause()


async def snapshot(pilot: Pilot) -> None:
    from sbtui.tui.screens.snapshot import SnapshotScreen

    await _opened(pilot)
    image = Image(tag="localhost/sbtui/snapshots:im-8h2kq0c4rw1xv9za", image_id="im-8H2kQ0c4Rw1xV9zA")
    image.source_sandbox_id = _sample_id(1)
    pilot.app.push_screen(SnapshotScreen(_sample_id(1), image))
    await until(pilot, lambda: pilot.app.screen.query("#snapshot-offer"), "the snapshot dialog")


class NoProcess:
    """The sessions of these scenes are drawn from fixed output; no program runs behind them."""

    class _Stdin:
        def write(self, data: bytes) -> None:
            return None

    stdin = _Stdin()

    async def resize(self, rows: int, columns: int) -> None:
        return None

    async def close(self) -> None:
        return None


async def _in_session(pilot: Pilot, sessions: tuple[tuple[int, int | None], ...], current: int) -> None:
    """Sessions (sample sandbox number, exit code or None while running), each on its screen;
    the `current`-th (from 1) is shown with the sample shell output on its terminal."""
    from sbtui.tui.screens.shell import ShellScreen
    from sbtui.tui.sessions import Session

    await _listed(pilot)
    app = pilot.app
    for number, (n, exit_code) in enumerate(sessions, 1):
        info = sample.sandboxes()[n - 1]
        session = Session(
            number, info.sandbox_id, info.name, NoProcess(), exit_code=exit_code, ended=exit_code is not None
        )
        app.sessions.items.append(session)
        app.install_screen(ShellScreen(), session.name)
    session = app.sessions.items[current - 1]
    await app.push_screen(session.name)
    screen = app.shell_screen(session)
    screen.attach(session)
    terminal = screen.terminal
    terminal.feed(sample.SHELL_OUTPUT)
    await until(
        pilot,
        lambda: any("42" == line.strip() for line in terminal.vt.display),
        "the shell's output on the terminal",
    )


async def shell(pilot: Pilot) -> None:
    await _in_session(pilot, ((1, None),), current=1)


async def shell_tabs(pilot: Pilot) -> None:
    await _in_session(pilot, ((3, None), (1, None), (5, 0), (9, 130)), current=2)


async def shell_session_keys(pilot: Pilot) -> None:
    await shell_tabs(pilot)
    await pilot.press("ctrl+right_square_bracket")
    await until(pilot, lambda: pilot.app.screen.query_one("#session-keys").display, "the session keys")


async def help_shell(pilot: Pilot) -> None:
    await shell_tabs(pilot)
    await pilot.press("ctrl+right_square_bracket", "question_mark")
    await until(pilot, lambda: pilot.app.screen.query("#help-keys"), "the help screen")


async def sessions(pilot: Pilot) -> None:
    from sbtui.tui.screens.sessions import SessionsScreen
    from sbtui.tui.sessions import Session

    await _listed(pilot)
    for number, n, exit_code in ((1, 1, None), (2, 3, None), (3, 9, 130)):
        info = sample.sandboxes()[n - 1]
        pilot.app.sessions.items.append(
            Session(
                number,
                info.sandbox_id,
                info.name,
                NoProcess(),
                exit_code=exit_code,
                ended=exit_code is not None,
            )
        )
    pilot.app.push_screen(SessionsScreen())
    await until(pilot, lambda: pilot.app.screen.query("#session-options"), "the sessions list")


async def _create_form(pilot: Pilot) -> None:
    await until(pilot, lambda: pilot.app.screen.id == "create", "the create form")
    await until(pilot, lambda: pilot.app.screen.images, "the images for the form")
    await until(pilot, lambda: pilot.app.screen.unsupported, "what the server can't honour")


async def create(pilot: Pilot) -> None:
    await _listed(pilot)
    await pilot.press("c")
    await _create_form(pilot)
    await pilot.press(*"web", "enter", *"python:3.11-slim", "enter")


async def create_errors(pilot: Pilot) -> None:
    await create(pilot)
    form = pilot.app.screen
    for key, text in (
        ("cpu", "2"),
        ("cpu_limit", "1"),
        ("timeout", "10 minutes"),
        ("unencrypted_ports", "8080, 70000"),
        ("env", "PORT=8080\nDEBUG"),
    ):
        form.set_text(key, text)
    await pilot.press("ctrl+s")
    await until(pilot, lambda: form.query_one("#error-cpu_limit").display, "the errors")


async def create_duplicate(pilot: Pilot) -> None:
    await _opened(pilot)
    await pilot.press("D")
    await _create_form(pilot)


async def image_picker(pilot: Pilot) -> None:
    await create(pilot)
    await pilot.press("ctrl+o")
    await until(pilot, lambda: pilot.app.screen.query("#image-options"), "the image picker")


async def snapshots(pilot: Pilot) -> None:
    await _listed(pilot)
    await pilot.press("i")
    await until(
        pilot,
        lambda: (
            pilot.app.screen.query("#snapshots-table")
            and pilot.app.screen.query_one("#snapshots-table").row_count == 5
        ),
        "the snapshots",
    )


async def snapshots_empty(pilot: Pilot) -> None:
    await _listed(pilot)
    pilot.app.client.images.items = []
    await pilot.press("i")
    await until(
        pilot,
        lambda: pilot.app.screen.query("#snapshots-empty") and pilot.app.screen.loaded,
        "the empty list of snapshots",
    )


@dataclass(frozen=True)
class Scene:
    name: str
    setup: Callable[[Pilot], Awaitable[None]]
    readonly: bool = False

    async def run(self, pilot: Pilot) -> None:
        """Set the scene, then hold text cursors still: a blinking one would be caught on or
        off by chance, and the picture would differ from run to run."""
        await self.setup(pilot)
        for widget in pilot.app.screen.query("Input, TextArea"):
            widget.cursor_blink = False


SCENES = (
    Scene("sandbox-list", sandbox_list),
    Scene("sandbox-list-filtered", sandbox_list_filtered),
    Scene("sandbox-list-readonly", sandbox_list_readonly, readonly=True),
    Scene("app-picker", app_picker),
    Scene("connection-lost", connection_lost),
    Scene("engine-restarting", engine_restarting),
    Scene("help-list", help_list),
    Scene("terminate-confirm", terminate_confirm),
    Scene("sandbox-detail", sandbox_detail),
    Scene("sandbox-detail-finished", sandbox_detail_finished),
    Scene("sandbox-detail-tags", sandbox_detail_tags),
    Scene("help-detail", help_detail),
    Scene("tunnels", tunnels),
    Scene("tunnels-checked", tunnels_checked),
    Scene("snapshot", snapshot),
    Scene("snapshots", snapshots),
    Scene("snapshots-empty", snapshots_empty),
    Scene("shell", shell),
    Scene("shell-tabs", shell_tabs),
    Scene("shell-session-keys", shell_session_keys),
    Scene("help-shell", help_shell),
    Scene("sessions", sessions),
    Scene("create", create),
    Scene("create-errors", create_errors),
    Scene("create-duplicate", create_duplicate),
    Scene("image-picker", image_picker),
)


async def shoot(scene: Scene) -> str:
    app = make_app(scene.readonly)
    async with app.run_test(size=SIZE) as pilot:
        await scene.run(pilot)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        return app.export_screenshot(title="sbtui")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.tui.screenshots", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--only", nargs="*", metavar="NAME", help="only these scenes")
    args = parser.parse_args(argv)
    scenes = [s for s in SCENES if not args.only or s.name in args.only]
    unknown = set(args.only or ()) - {s.name for s in SCENES}
    if unknown:
        parser.error(
            f"no scene named {', '.join(sorted(unknown))}; scenes: {', '.join(s.name for s in SCENES)}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        path = args.out / f"{scene.name}.svg"
        path.write_text(asyncio.run(shoot(scene)))
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
