"""Tags as one line of text, `env=prod team="data eng"`, for editing them in place."""

from __future__ import annotations

import shlex


class TagsError(ValueError):
    """Text that is not KEY=VALUE pairs; the message names the bad part."""


def format_tags(tags: dict[str, str]) -> str:
    return " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(tags.items()))


def parse_tags(text: str) -> dict[str, str]:
    try:
        words = shlex.split(text)
    except ValueError as err:
        raise TagsError(f"{err}: close the quote") from None
    tags: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise TagsError(f"{word!r} has no '=': write KEY=VALUE, e.g. {word}=yes")
        if not key:
            raise TagsError(f"{word!r} has no key before '='")
        if key in tags:
            raise TagsError(f"{key!r} is given twice")
        tags[key] = value
    return tags
