"""Colour settings: the theme, and no colour at all under NO_COLOR.

Textual honours NO_COLOR by turning colours grey, which it still sends as 256-colour
codes (unless the theme is an ANSI one). planwise drops colour entirely instead
(no-color.org: no colour codes at all) and shows what colour showed with text style:
the cursor row of every list, tree and table in reverse video, an unfocused one
underlined. Marks such as `✓ ✗ ✎ +` and `!M` carry the meaning on every screen anyway.
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from textual.filter import LineFilter, Monochrome, NoColor

from planwise.config import Chosen, Origin

if TYPE_CHECKING:
    from collections.abc import Iterable

    from textual.app import App
    from textual.color import Color

ALIASES = {"ansi": "ansi-dark"}
NO_COLOUR_THEME = "planwise-no-colour"
# The theme variables that carry a cursor or a selection by colour alone.
NO_COLOUR_STYLES = {
    "block-cursor-text-style": "reverse bold",
    "block-cursor-blurred-text-style": "underline",
    "input-cursor-text-style": "reverse",
    "button-focus-text-style": "reverse bold",
}


def theme_from_environment() -> Chosen | None:
    value = os.environ.get("PLANWISE_THEME")
    return Chosen(value, Origin(field="PLANWISE_THEME")) if value else None


def checked_theme(chosen: Chosen, available: Iterable[str]) -> str:
    """The Textual theme for a choice, or an InputError naming where it was chosen."""
    names = set(available)
    name = ALIASES.get(chosen.value, chosen.value)
    if name in names:
        return name
    shown = chosen.value[:40]
    choices = f"use ansi, or one of {', '.join(sorted(names - {NO_COLOUR_THEME}))}"
    if chosen.origin.file is None and chosen.origin.field:  # PLANWISE_THEME=..., --theme=...
        return _raise(Origin(), f"{chosen.origin.field}={shown!r} is not a theme: {choices}")
    return _raise(chosen.origin, f"{shown!r} is not a theme: {choices}")


def _raise(origin: Origin, message: str) -> str:
    raise origin.error(message)


@lru_cache(4096)
def _plain(style: Style) -> Style:
    # without_color drops meta too; Textual keeps links and click actions there.
    plain = style.without_color
    return plain + Style.from_meta(style.meta) if style.meta else plain


class NoColour(LineFilter):
    """Every colour removed, foreground and background; bold, reverse, underline kept."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(text, None if style is None else _plain(style), control)
                for text, style, control in segments]


def drop_colours(app: App[Any]) -> None:
    """Replace Textual's grey filter with one that drops colour, and switch to a copy of
    the theme that marks cursors with reverse video and underline instead of colour."""
    app._filters = [f for f in app._filters  # noqa: SLF001 - no public hook for this
                    if not isinstance(f, Monochrome | NoColor)] + [NoColour()]
    base = app.get_theme(app.theme)
    if base is not None and base.name != NO_COLOUR_THEME:
        app.register_theme(replace(base, name=NO_COLOUR_THEME,
                                   variables={**base.variables, **NO_COLOUR_STYLES}))
        app.theme = NO_COLOUR_THEME
