"""CreateScreen: every SandboxCreateParams field in groups, checked as it is typed; the server's
errors land next to the field they name. Fields the server says it can't honour are closed, with
its reason. Cancelling keeps the draft for the next time."""

from __future__ import annotations

import asyncio

from textual import getters, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Footer, Input, Label, Static, TextArea

from sbtui.client import Image, SbtuiError, is_image_id
from sbtui.text import age, size_text
from sbtui.tui.create_fields import BY_KEY, FIELD_OF_WIRE, FIELDS, GROUPS, Checked, check, unsupported_fields
from sbtui.tui.dashboard import Dashboard
from sbtui.tui.keymap import CREATE_KEYS, bindings
from sbtui.tui.typeahead import Hold
from sbtui.tui.widgets.connection_banner import ConnectionBanner


def describe_image(image: Image, now: float) -> str:
    """'busybox:latest · 1.2 MB · made 3h ago' or, for a snapshot, its source."""
    parts = [image.tag or image.image_id or "?"]
    if image.size_bytes:
        parts.append(size_text(image.size_bytes))
    if image.source_sandbox_id:
        parts.append(f"snapshot of {image.source_sandbox_id}")
    if image.created_at:
        parts.append(f"made {age(image.created_at, now)} ago")
    return " · ".join(parts)


WIDE = 140  # columns from which the groups are shown in two columns


class CreateScreen(Screen[str | None]):
    """Dismisses with the new sandbox's id, or None when cancelled (the draft is kept)."""

    app = getters.app(Dashboard)
    BINDINGS = bindings(CREATE_KEYS)
    HELP_SECTIONS = (("New sandbox", CREATE_KEYS),)

    def __init__(self, texts: dict[str, str] | None = None, title: str = "New sandbox") -> None:
        super().__init__(id="create")
        self.initial = dict(texts or {})
        self.heading = title
        self.images: list[Image] = []
        # Errors show for fields the operator has been in, and for all after a try to create:
        # an empty form does not open covered in "required".
        self._shown: set[str] = {key for key, text in self.initial.items() if text}
        self._tried = False
        self._server_errors: dict[str, str] = {}
        # Form field -> why the server can't honour it, once its capabilities answer came.
        self.unsupported: dict[str, str] = {}
        self._creating = False

    # ---- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ConnectionBanner()
        yield Static(Content.styled(self.heading, "bold"), id="create-title")
        yield Static(id="create-problem")
        with VerticalScroll(id="create-form"):
            # Two columns side by side on a wide terminal, one under the other otherwise.
            with Horizontal(id="create-columns"):
                for groups in (GROUPS[:3], GROUPS[3:]):
                    with Vertical(classes="create-column"):
                        for group in groups:
                            yield from self._group(group)
            with Horizontal(id="create-buttons"):
                yield Button("Create (ctrl+s)", variant="primary", id="create-submit")
                yield Button("Cancel (esc)", id="create-cancel")
        yield Footer()

    def _group(self, group: str) -> ComposeResult:
        with Vertical(classes="create-group") as box:
            box.border_title = group
            for field in (f for f in FIELDS if f.group == group):
                with Horizontal(classes="create-row"):
                    yield Label(field.label, classes="create-label")
                    yield self._editor(field.key)
                if field.key == "image":
                    yield Static(id="image-about", classes="create-note")
                yield Static(id=f"unsupported-{field.key}", classes="create-unsupported")
                yield Static(id=f"error-{field.key}", classes="create-error")

    def on_resize(self) -> None:
        self.query_one("#create-form").set_class(self.size.width >= WIDE, "-wide")

    def _editor(self, key: str) -> Widget:
        field, text = BY_KEY[key], self.initial.get(key, "")
        if field.kind == "switch":
            return Checkbox(field.hint, value=text == "1", id=f"field-{key}", compact=True)
        if field.kind == "lines":
            return TextArea(
                text,
                id=f"field-{key}",
                compact=True,
                soft_wrap=False,
                placeholder=field.hint,
                tab_behavior="focus",
            )
        return Input(text, placeholder=field.hint, id=f"field-{key}", compact=True, select_on_focus=False)

    def on_mount(self) -> None:
        self._show_errors()
        self.editor("app" if not self.initial.get("app") else "name").focus()
        # Keys typed ahead wait for what the form loads: the fields the server can't honour
        # change where Tab goes, and ctrl+o then a name and enter must find the images listed.
        self._load(self.app.typeahead.hold("loading the form"))

    @work(group="load", exclusive=True)
    async def _load(self, held: Hold) -> None:
        try:
            await asyncio.gather(self._load_images(), self._load_capabilities())
        finally:
            held.release()

    def editor(self, key: str) -> Widget:
        return self.query_one(f"#field-{key}")

    # ---- the values ---------------------------------------------------------------------

    def texts(self) -> dict[str, str]:
        texts = {}
        for field in FIELDS:
            widget = self.editor(field.key)
            if isinstance(widget, Checkbox):
                texts[field.key] = "1" if widget.value else ""
            elif isinstance(widget, TextArea):
                texts[field.key] = widget.text
            elif isinstance(widget, Input):
                texts[field.key] = widget.value
        return texts

    def set_text(self, key: str, text: str) -> None:
        widget = self.editor(key)
        if isinstance(widget, Checkbox):
            widget.value = text == "1"
        elif isinstance(widget, TextArea):
            widget.text = text
        elif isinstance(widget, Input):
            widget.value = text

    def _key_of(self, widget: Widget) -> str | None:
        widget_id = widget.id or ""
        return widget_id.removeprefix("field-") if widget_id.startswith("field-") else None

    def _changed(self, widget: Widget) -> None:
        key = self._key_of(widget)
        if key is None:
            return
        self._shown.add(key)
        self._server_errors.pop(key, None)  # the operator is answering it
        if key == "image":
            self._show_image()
        self._show_errors()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._changed(event.input)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._changed(event.text_area)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._changed(event.checkbox)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()  # enter moves on, like tab; ctrl+s creates

    def on_descendant_blur(self, event) -> None:
        # Leaving a field shows what is wrong with it, e.g. a required one left empty.
        key = self._key_of(event.widget)
        if key is not None and key not in self._shown:
            self._shown.add(key)
            self._show_errors()

    def _show_errors(self) -> Checked:
        checked = check(self.texts(), self.unsupported)
        for field in FIELDS:
            message = self._server_errors.get(field.key) or checked.errors.get(field.key)
            visible = bool(message) and (
                self._tried or field.key in self._shown or field.key in self._server_errors
            )
            note = self.query_one(f"#error-{field.key}", Static)
            note.update(Content(f"↳ {message}") if visible else "")
            note.display = visible
            self.editor(field.key).set_class(visible, "-invalid")
        return checked

    # ---- what the server can't honour -----------------------------------------------------

    async def _load_capabilities(self) -> None:
        try:
            capabilities = await self.app.connected_client().capabilities()
        except SbtuiError:
            return  # an older server, or none: every field stays open, and a create still says
        self.unsupported = unsupported_fields(capabilities.unsupported_create_fields)
        self._show_unsupported()
        self._show_errors()

    def _show_unsupported(self, typing: bool = True) -> None:
        """Each field the server can't honour is disabled, so Tab passes it by, with the reason
        under it. One that holds text, or (with `typing`) has the focus, stays open so the
        operator can clear it (its text is flagged: `check`)."""
        texts = self.texts()
        for key, reason in self.unsupported.items():
            editor = self.editor(key)
            editor.disabled = not (texts[key].strip() or (typing and editor.has_focus))
            editor.tooltip = reason
            if isinstance(editor, (Input, TextArea)):
                editor.placeholder = "not on this server"
            if editor.parent is not None:
                editor.parent.add_class("-unsupported")
            note = self.query_one(f"#unsupported-{key}", Static)
            note.update(Content(reason))  # the editor itself says "not on this server"
            note.display = True

    # ---- images -------------------------------------------------------------------------

    async def _load_images(self) -> None:
        try:
            self.images = await self.app.connected_client().images.list()
        except SbtuiError:
            self.images = []  # the picker says so when opened; typing a tag still works
        self._show_image()

    def _show_image(self) -> None:
        text = self.query_one("#field-image", Input).value.strip()
        known = next((i for i in self.images if text and text in (i.image_id, i.tag)), None)
        about = self.query_one("#image-about", Static)
        if known is not None:
            about.update(describe_image(known, self.app.clock()))
        elif text and not is_image_id(text):
            about.update("pulled from its registry when the sandbox is created, unless the server has it")
        else:
            about.update("")
        about.display = bool(text)

    def action_pick_image(self) -> None:
        self.app.pick_image(self.images, self._image_chosen)

    def _image_chosen(self, image: Image | None) -> None:
        if image is not None:
            self.set_text("image", image.image_id or image.tag)
            self.editor("image").focus()

    # ---- create -------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "create-submit":
            self.action_submit()
        else:
            self.action_back()

    def action_submit(self) -> None:
        if self._creating or self.app.refuse_readonly("submit"):
            return
        self._tried = True
        checked = self._show_errors()
        if not checked.ok:
            first = next(f.key for f in FIELDS if f.key in checked.errors)
            count = len(checked.errors)
            self._problem(
                f"{count} field{' needs' if count == 1 else 's need'} attention before anything is sent"
            )
            self._focus_field(first)
            return
        self._create(checked)

    def _problem(self, text: str) -> None:
        problem = self.query_one("#create-problem", Static)
        problem.update(Content(text))
        problem.display = bool(text)

    def _focus_field(self, key: str) -> None:
        editor = self.editor(key)
        editor.focus()
        self.query_one("#create-form", VerticalScroll).scroll_to_widget(editor, top=False)

    @work(group="create", exclusive=True)
    async def _create(self, checked: Checked) -> None:
        values, client = checked.values, self.app.connected_client()
        self._creating = True
        self._problem("")
        self.query_one("#create-submit", Button).disabled = True
        self.query_one("#create-title", Static).update(Content.styled(f"{self.heading}: creating…", "bold"))
        step = "app"
        try:
            app = await client.apps.from_name(
                values["app"], environment=values["environment"], create_if_missing=True
            )
            step = "image"
            image = await client.images.from_ref(values["image"])
            step = "params"
            sandbox = await client.sandboxes.create(app, image, **checked.create_keywords())
        except SbtuiError as err:
            self._refused(step, err)
            return
        finally:
            self._creating = False
            self.query_one("#create-submit", Button).disabled = False
            self.query_one("#create-title", Static).update(Content.styled(self.heading, "bold"))
        self.app.create_draft = None
        self.dismiss(sandbox.sandbox_id)

    def _refused(self, step: str, err: SbtuiError) -> None:
        """Put the server's message next to its field; what names no field goes on top."""
        key: str | None
        if step == "app":
            key = "environment" if err.field == "environment" else "app"
        elif step == "image":
            key = "image"
        else:
            key = FIELD_OF_WIRE.get(err.field)
        if key is None:
            self._problem(f"not created: {err}")
            return
        self._server_errors[key] = f"server: {err}"
        self._problem(f"not created: the server refused {BY_KEY[key].label} (see below)")
        self._show_errors()
        self._focus_field(key)

    # ---- leave --------------------------------------------------------------------------

    def action_back(self) -> None:
        if self._creating:
            # Cancelling the call would not undo a create the server may have done already.
            self.notify("waiting for the server to answer the create…", severity="warning")
            return
        self.app.create_draft = self.texts()  # typed text is never lost to an escape
        self.dismiss(None)

    def action_clear(self) -> None:
        for field in FIELDS:
            self.set_text(field.key, "")
        self._shown.clear()
        self._server_errors.clear()
        self._tried = False
        self._problem("")
        self.editor("app").focus()
        self._show_unsupported(typing=False)  # one kept open for its text closes, now empty
        self._show_errors()
