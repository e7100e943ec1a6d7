"""ImagePicker: the images the server has (pulled, built and made by snapshots), fuzzy-searched."""

from __future__ import annotations

from textual.content import Content
from textual.fuzzy import Matcher
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from sbtui.client import Image
from sbtui.text import age, size_text
from sbtui.tui.keymap import PICKER_KEYS
from sbtui.tui.screens.picker import Picker


def _searched(image: Image) -> str:
    return " ".join(filter(None, (image.tag, image.image_id, image.source_sandbox_id)))


class ImagePicker(Picker[Image]):
    """Dismisses with the image chosen, or None when cancelled."""

    HELP_SECTIONS = (("Images", PICKER_KEYS),)
    PROMPT = "Start the sandbox from…"
    PLACEHOLDER = "type to search tags, ids and source sandboxes"
    KIND = "image"
    DIALOG_CLASSES = "-wide"

    def __init__(self, images: list[Image], now: float) -> None:
        super().__init__()
        self.images = images
        self.now = now

    @staticmethod
    def _title(image: Image) -> str:
        # A snapshot's tag only repeats its id: what tells snapshots apart is their source.
        if image.source_sandbox_id:
            return f"of {image.source_sandbox_id}"
        return image.tag or image.image_id or "?"

    def _label(self, image: Image, matcher: Matcher | None, width: int) -> Content:
        name = self._title(image)
        label = matcher.highlight(name) if matcher else Content(name)
        label = label.pad_right(max(width - len(name), 0))
        details = [
            image.image_id or "",
            f"{size_text(image.size_bytes):>7}" if image.size_bytes else " " * 7,
            f"{age(image.created_at, self.now)} ago" if image.created_at else "",
        ]
        return label.append_text("  " + "  ".join(details), "dim")

    def _fill(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        matcher = Matcher(query) if query else None
        found = [i for i in self.images if not matcher or matcher.match(_searched(i)) > 0]
        width = min(max((len(self._title(i)) for i in found), default=0), 48)
        # Snapshots apart: they are the operator's own, and name the sandbox they came from.
        for title, group in (
            ("images", [i for i in found if not i.source_sandbox_id]),
            ("snapshots", [i for i in found if i.source_sandbox_id]),
        ):
            if not group:
                continue
            options.add_option(Option(Content.styled(title, "bold dim"), disabled=True))
            for image in group:
                options.add_option(Option(self._label(image, matcher, width), id=image.image_id))
        if not found:
            empty = (
                "no image matches; esc and type a registry tag instead"
                if self.images
                else "the server has no image yet; esc and type a registry tag like python:3.11"
            )
            options.add_option(Option(Content.styled(empty, "italic"), disabled=True))
        first = next(
            (n for n in range(options.option_count) if not options.get_option_at_index(n).disabled), None
        )
        options.highlighted = first

    def _choose(self, image_id: str | None) -> None:
        chosen = next((i for i in self.images if i.image_id == image_id), None)
        if chosen is not None:
            self.dismiss(chosen)
