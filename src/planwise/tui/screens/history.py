"""A plan's versions (with reasons and signatures) and the diff of any two of them."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from planwise.tui import keymap
from planwise.tui.widgets import plan_model as pm


def version_prompt(v: dict[str, Any], base: int | None, current: bool = False) -> Text:
    """'>' marks the highlighted version, 'base' the one compared from (no colour needed)."""
    mark = (">" if current else " ") + ("base " if base == v["version"] else "     ")
    out = Text(f"{mark}v{v['version']}  {pm.STATE_SHOWN.get(v['state'], v['state']):<13} "
               f"created {pm.when_text(v['created_at'])}")
    out.append(f"\n      reason: {v['reason'] or '(first version)'}")
    sigs = "; ".join(f"{s['role']} {s['name']} {pm.when_text(s['signed_at'])}"
                     + (" FORCED" if s["forced"] else "") for s in v["signatures"])
    out.append(f"\n      signed: {sigs or 'not signed'}")
    return out


class HistoryScreen(Screen[None]):
    HELP_AREA = "history"
    BINDINGS = keymap.bindings("history")
    HELP_TEXT = ("The diff compares the base version with the highlighted one: by default "
                 "each version with the one before it; m makes the highlighted version the "
                 "base, p goes back to comparing with the previous version.")
    DEFAULT_CSS = """
    HistoryScreen #versions { height: auto; max-height: 9; }
    HistoryScreen #diff-box { height: 1fr; padding: 0 1; }
    """

    def __init__(self, plan_id: int) -> None:
        super().__init__()
        self.plan_id = plan_id
        self.versions: list[dict[str, Any]] = []
        self.base: int | None = None   # None: compare with the previous version

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Versions (m: compare from the highlighted one)", classes="section-title")
        yield OptionList(id="versions")
        yield Static("Diff", classes="section-title", id="diff-title")
        with VerticalScroll(id="diff-box"):
            yield Static("", id="diff")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "planwise"
        self.sub_title = f"Plan P{self.plan_id}: history"
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def load(self) -> None:
        versions = self.app.services.plan_history(self.plan_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self.show, versions)

    def show(self, versions: list[dict[str, Any]]) -> None:
        self.versions = versions
        self.fill(highlight=len(versions) - 1)
        self.query_one("#versions", OptionList).focus()

    def fill(self, highlight: int) -> None:
        options = self.query_one("#versions", OptionList)
        options.clear_options()
        options.add_options([Option(version_prompt(v, self.base), id=str(v["version"]))
                             for v in reversed(self.versions)])
        # newest first: version n is at index len - n
        options.highlighted = len(self.versions) - 1 - highlight
        self.compare()

    def highlighted_version(self) -> int | None:
        options = self.query_one("#versions", OptionList)
        if options.highlighted is None or not self.versions:
            return None
        option = options.get_option_at_index(options.highlighted)
        return int(option.id) if option.id else None

    @on(OptionList.OptionHighlighted, "#versions")
    def moved(self) -> None:
        options = self.query_one("#versions", OptionList)
        for i, v in enumerate(reversed(self.versions)):
            options.replace_option_prompt_at_index(
                i, version_prompt(v, self.base, i == options.highlighted))
        self.compare()

    def compare(self) -> None:
        new = self.highlighted_version()
        if new is None:
            return
        old = self.base if self.base is not None else new - 1
        title = self.query_one("#diff-title", Static)
        if old < 1:
            title.update("Diff")
            self.query_one("#diff", Static).update(
                "Version 1 is the first version. Highlight a later version to see what "
                "changed, or press m here to compare later versions with this one.")
            return
        title.update(f"Diff v{old} -> v{new}")
        self.diff(old, new)

    @work(thread=True, exclusive=True, exit_on_error=False, group="diff")
    def diff(self, old: int, new: int) -> None:
        text = self.app.services.plan_diff(self.plan_id, old, new)  # type: ignore[attr-defined]
        self.app.call_from_thread(self.show_diff, old, new, text)

    def show_diff(self, old: int, new: int, text: str) -> None:
        current = self.highlighted_version()
        expected = self.base if self.base is not None else (current or 0) - 1
        if current != new or expected != old:
            return  # an older request
        self.query_one("#diff", Static).update(Text(text))

    def action_mark_base(self) -> None:
        v = self.highlighted_version()
        if v is None:
            return
        self.base = v
        self.notify(f"Comparing from version {v}: highlight another version.")
        self.fill(highlight=v - 1)

    def action_compare_previous(self) -> None:
        v = self.highlighted_version()
        self.base = None
        if v is not None:
            self.fill(highlight=v - 1)

    def action_back(self) -> None:
        self.app.pop_screen()
