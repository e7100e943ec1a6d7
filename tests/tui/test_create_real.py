"""The create form against a real server and engine: typed in, refused field by field, closed
where the server can't honour a field, duplicated from a sandbox, and kept by escape."""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Input, Static, TextArea

from sbtui.client import SandboxState
from sbtui.server.runtime import gpu
from sbtui.tui.app import SbtuiApp
from sbtui.tui.create_fields import FIELD_OF_WIRE, FIELDS
from sbtui.tui.screens.create import CreateScreen
from sbtui.tui.screens.sandbox_list import SandboxListScreen
from tests.servers import IMAGE
from tests.tui.test_detail_real import open_detail
from tests.tui.waiting import until

pytestmark = pytest.mark.engine

SIZE = (160, 40)
NO_KEYS = Path("/nonexistent/sbtui/keys.toml")


def shown(note: Static) -> str:
    """What a note under a field shows, its wrapped lines as one; '' when hidden."""
    if not note.display:
        return ""
    lines = note.render_lines(Region(0, 0, *note.outer_size))
    return " ".join(" ".join(line.text for line in lines).split())


def error_on(form: CreateScreen, key: str) -> str:
    """The message shown under the field, '' when none is shown."""
    return shown(form.query_one(f"#error-{key}", Static))


async def open_form(pilot, ui: SbtuiApp, key: str = "c") -> CreateScreen:
    await until(pilot, lambda: ui.store.synced, "the list to sync")
    await pilot.press(key)
    await until(pilot, lambda: isinstance(ui.screen, CreateScreen), "the create form")
    return ui.screen


async def created_and_selected(pilot, ui: SbtuiApp) -> str:
    """The id of the sandbox the form made, once the list shows it selected."""
    await until(pilot, lambda: isinstance(ui.screen, SandboxListScreen), "the list after create", 60)
    screen = ui.screen
    return await until(
        pilot,
        lambda: screen.table.selected_id if ui.store.get(screen.table.selected_id or "") else None,
        "the new sandbox selected in the list",
        30,
    )


async def test_a_sandbox_created_through_the_form_is_selected_in_the_list(client, app):
    name = f"form-{secrets.token_hex(3)}"
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    async with ui.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, ui)
        # enter moves to the next field, in the order of the form: app, image, environment, name…
        await pilot.press(
            *app.name,
            "enter",
            *IMAGE,
            "enter",
            "enter",
            *name,
            "enter",
            *"sh -c 'echo ready; sleep 300'",
            "enter",
        )
        assert form.texts()["command"] == "sh -c 'echo ready; sleep 300'"
        for key, text in (
            ("cpu", "0.5"),
            ("cpu_limit", "1"),
            ("memory_mib", "64Mi"),
            ("memory_limit_mib", "128"),
            ("timeout", "2m"),
            ("idle_timeout", "90s"),
            ("env", "GREETING=hi\nEMPTY="),
            ("unencrypted_ports", "8080"),
            ("workdir", "/tmp"),
        ):
            form.set_text(key, text)
        await pilot.press("ctrl+s")
        sandbox_id = await created_and_selected(pilot, ui)
        assert ui.create_draft is None
    sb = await client.sandboxes.from_id(sandbox_id)
    try:
        p, info = sb.info.params, sb.info
        assert info.name == name and info.app_name == app.name and info.image_tag == IMAGE
        assert list(p.command) == ["sh", "-c", "echo ready; sleep 300"] and p.workdir == "/tmp"
        assert (p.cpu, p.cpu_limit, p.memory_mib, p.memory_limit_mib) == (0.5, 1.0, 64, 128)
        assert (p.timeout, p.idle_timeout) == (120.0, 90.0)
        assert dict(p.env) == {"GREETING": "hi", "EMPTY": ""} and list(p.unencrypted_ports) == [8080]
        assert info.state in (SandboxState.CREATING, SandboxState.RUNNING)
    finally:
        await sb.terminate()


async def test_server_errors_are_shown_next_to_their_field_and_nothing_is_lost(client, app, image):
    taken = f"taken-{secrets.token_hex(3)}"
    holder = await client.sandboxes.create(app, image, name=taken, timeout=120)
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    try:
        async with ui.run_test(size=SIZE) as pilot:
            form = await open_form(pilot, ui)
            form.set_text("app", app.name)
            form.set_text("image", IMAGE)
            form.set_text("cpu", "4096")  # well formed, so only the server (its engine's CPUs) can refuse it
            await pilot.press("ctrl+s")
            await until(pilot, lambda: error_on(form, "cpu"), "the server's refusal under cpu", 30)
            assert "server: cpu" in error_on(form, "cpu") and "CPUs" in error_on(form, "cpu")
            assert form.focused is form.editor("cpu")
            assert form.texts()["cpu"] == "4096" and form.texts()["app"] == app.name  # nothing lost

            form.set_text("cpu", "")
            form.set_text("name", taken)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "already exists" in error_on(form, "name"), "the name refusal", 30)

            form.set_text("name", "")
            form.set_text("image", "im-doesnotexist0000")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "does not exist" in error_on(form, "image"), "the image refusal", 30)
            assert isinstance(ui.screen, CreateScreen)
        listed = [sb async for sb in client.sandboxes.list(app_id=app.app_id)]
        assert [sb.sandbox_id for sb in listed] == [holder.sandbox_id]
    finally:
        await holder.terminate()


async def test_fields_the_server_cant_honour_are_closed_with_its_reason(client):
    unsupported = (await client.capabilities()).unsupported_create_fields
    closed = {FIELD_OF_WIRE[name]: reason for name, reason in unsupported.items()}
    assert {"cloud", "regions", "proxy", "cloud_bucket_mounts"} <= set(closed)
    assert ("gpu" in closed) == (not gpu.host_gpus())
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    async with ui.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, ui)
        await until(
            pilot,
            lambda: all(form.editor(key).disabled for key in closed),
            "the fields the server can't honour closed",
        )
        for key, reason in closed.items():
            editor = form.editor(key)
            assert editor.disabled and not editor.focusable and editor.tooltip == reason, key
            assert shown(form.query_one(f"#unsupported-{key}", Static)) == reason  # the server's words
            if isinstance(editor, (Input, TextArea)):
                assert editor.placeholder == "not on this server"
            assert error_on(form, key) == ""  # empty: nothing is wrong with it
        for key in {f.key for f in FIELDS} - set(closed):
            assert not form.editor(key).disabled and not shown(form.query_one(f"#unsupported-{key}", Static))
        # Tab goes round the whole form and never stops in a closed field.
        assert form.focused is form.editor("app")
        visited = []
        for _ in range(2 * len(FIELDS)):
            await pilot.press("tab")
            if form.focused is form.editor("app"):
                break
            if form.focused.id != "create-form":  # the scrolling form itself, when it scrolls
                visited.append(form.focused.id)
        else:
            pytest.fail(f"Tab never came round to app: {visited}")
        assert visited == [f"field-{f.key}" for f in FIELDS[1:] if f.key not in closed] + [
            "create-submit",
            "create-cancel",
        ]


async def test_text_in_a_field_the_server_cant_honour_is_flagged_before_anything_is_sent(client, app):
    reason = (await client.capabilities()).unsupported("regions")
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    ui.create_draft = {"app": app.name, "image": IMAGE, "regions": "eu-west-1"}
    async with ui.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, ui)
        await until(
            pilot,
            lambda: "this server can't honour it" in error_on(form, "regions"),
            "the draft's regions flagged",
        )
        editor = form.editor("regions")
        assert not editor.disabled  # kept open, so the operator can clear it
        assert shown(form.query_one("#unsupported-regions", Static)) == reason
        await pilot.press("ctrl+s")
        await until(pilot, lambda: form.focused is editor, "the focus on the field to clear")
        assert "need" in shown(form.query_one("#create-problem", Static))  # refused here, not sent
        await pilot.press("ctrl+l")
        await until(pilot, lambda: editor.disabled, "the emptied field closed")
    assert [s async for s in client.sandboxes.list(app_id=app.app_id, include_finished=True)] == []


async def test_duplicate_fills_the_form_with_the_sandboxes_parameters(client, app, image):
    source = await client.sandboxes.create(
        app,
        image,
        command=["sleep", "300"],
        cpu=0.25,
        memory_mib=48,
        memory_limit_mib=96,
        timeout=600,
        env={"MODE": "copy"},
        workdir="/tmp",
        h2_ports=[50051],
        name=f"src-{secrets.token_hex(3)}",
    )
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    copy_id = None
    try:
        async with ui.run_test(size=SIZE) as pilot:
            await open_detail(pilot, ui, source.sandbox_id)
            await pilot.press("D")
            await until(pilot, lambda: isinstance(ui.screen, CreateScreen), "the create form")
            form = ui.screen
            texts = form.texts()
            assert texts["name"] == "" and texts["app"] == app.name and texts["command"] == "sleep 300"
            assert (texts["cpu"], texts["memory_mib"], texts["timeout"]) == ("0.25", "48Mi", "10m")
            await pilot.press("ctrl+s")
            copy_id = await created_and_selected(pilot, ui)
        copy = await client.sandboxes.from_id(copy_id)
        assert copy_id != source.sandbox_id and copy.info.name == ""
        assert copy.info.params == replace(source.info.params, name="")
        assert copy.info.image_id == source.info.image_id
    finally:
        await source.terminate()
        if copy_id:
            await (await client.sandboxes.from_id(copy_id)).terminate()


async def test_escape_keeps_the_draft_for_next_time(client, app):
    ui = SbtuiApp(client=client, keymap_path=NO_KEYS)
    async with ui.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, ui)
        await pilot.press(*app.name, "enter", *"busybox", "enter")
        form.set_text("env", "KEEP=me")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(ui.screen, SandboxListScreen), "the list")
        form = await open_form(pilot, ui)
        assert form.texts()["app"] == app.name and form.texts()["env"] == "KEEP=me"
        assert "draft" in form.heading
        await pilot.press("ctrl+l")
        assert form.texts()["app"] == "" and form.texts()["env"] == ""
