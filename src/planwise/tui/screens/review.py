"""The plan review: the review rules run on the plan's course so far (in a worker) and
propose changes, each with its reason; w or Enter shows why (the rules, what each says and
its source, the facts it matched). Space ticks changes; Ctrl+S accepts the ticked ones
after asking for the reason, which is recorded with the new plan version. Beside it, the
timeline: sessions used and left, open objectives with their dates, the warning.

Objectives are named by their text (widgets/review_model.py). After an accept the review
runs again on the new version, which may no longer propose what was left unticked (a
revision counts as a review): those changes stay listed, still to tick, until the screen
is left."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from planwise.models.review import ProposedChange, Review
from planwise.tui import keymap
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.widgets.review_model import (
    course_line,
    headline,
    in_words,
    timeline_lines,
    why_lines,
)


def change_prompt(ch: ProposedChange, ticked: bool, kb: Any,
                  texts: dict[str, str] | None = None) -> Text:
    """'[x] Refer to psychiatry (soon)': the box says ticked or not without colour."""
    return Text(f"{'[x]' if ticked else '[ ]'} {headline(ch, kb, texts)}",
                style="bold" if ticked else "")


class ReviewScreen(Screen[bool]):
    """Dismissed with True when a change was accepted (the plan was saved)."""

    HELP_AREA = "review"
    BINDINGS = keymap.bindings("review")
    HELP_TEXT = ("The review rules read the plan's course so far (sessions, scores and their "
                 "change since baseline, feedback, objectives, the session limit, risk) and "
                 "propose changes. Space ticks a change, w or Enter shows why, Ctrl+S accepts "
                 "the ticked ones: it asks for the reason, recorded with the new plan version "
                 "(a signed version is never changed). Tab moves to the timeline.")
    DEFAULT_CSS = """
    ReviewScreen #review-head { height: auto; max-height: 3; padding: 0 1; }
    ReviewScreen #review-changes { height: 1fr; min-height: 4; }
    ReviewScreen #review-detail { height: 3; padding: 0 1; }
    ReviewScreen #review-timeline { height: 7; padding: 0 1; }
    """

    def __init__(self, plan_id: int) -> None:
        super().__init__()
        self.plan_id = plan_id
        self.data: dict[str, Any] | None = None
        self.ticked: set[str] = set()
        self.saved: dict[str, Any] | None = None
        self._saving = False
        # The changes listed: this review's, then those left unticked at an earlier accept
        # that it no longer proposes (`carried`), each with the review that proposed it.
        self.changes: list[ProposedChange] = []
        self.carried: set[str] = set()
        self._from: dict[str, Review] = {}

    @property
    def review(self) -> Review | None:
        """The review the listed changes are accepted from (the carried ones included)."""
        if self.data is None:
            return None
        current: Review = self.data["review"]
        return current.model_copy(update={"changes": list(self.changes)})

    @property
    def texts(self) -> dict[str, str]:
        return dict((self.data or {}).get("objectives") or {})

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Running the review rules...", id="review-head")
        yield Static("Proposed changes (Space tick, w why, Ctrl+S accept ticked)",
                     classes="section-title")
        yield OptionList(id="review-changes")
        yield Static("", id="review-detail")
        yield Static("Timeline", classes="section-title")
        with VerticalScroll(id="review-timeline"):
            yield Static("", id="review-timeline-text")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Review, plan P{self.plan_id}"
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="review")
    def load(self) -> None:
        data = self.app.services.review_view(self.plan_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self.show, data)

    def show(self, data: dict[str, Any]) -> None:
        previous = self.changes
        self.data = data
        review: Review = data["review"]
        proposed = {ch.id for ch in review.changes}
        accepted = set((self.saved or {}).get("accepted", []))
        # Left unticked at the accept and no longer proposed: still listed, to tick later.
        carried = [ch for ch in previous if ch.id not in proposed and ch.id not in accepted
                   and self.saved is not None]
        self.changes = [*review.changes, *carried]
        self.carried = {ch.id for ch in carried}
        self._from = {**{ch.id: self._from.get(ch.id, review) for ch in carried},
                      **{ch.id: review for ch in review.changes}}
        self.ticked &= {ch.id for ch in self.changes}
        self.show_head()
        kb = self.app.services.kb  # type: ignore[attr-defined]
        changes = self.query_one("#review-changes", OptionList)
        changes.clear_options()
        if self.changes:
            changes.add_options([Option(change_prompt(ch, ch.id in self.ticked, kb,
                                                      self.texts), id=ch.id)
                                 for ch in self.changes])
            changes.highlighted = 0
        else:
            changes.add_option(Option("No changes proposed: the plan stands as it is.",
                                      id="none", disabled=True))
        self.show_detail()
        self.query_one("#review-timeline-text", Static).update(
            Text("\n".join(timeline_lines(data["timeline"], self.texts))))
        changes.focus()

    def show_head(self) -> None:
        """At most three lines, each within 78 columns: the review, the changes, and what
        the last accept saved."""
        if self.data is None:
            return
        review: Review = self.data["review"]
        n = len(self.changes)
        lines = [f"{review.plan} review {review.today}: "
                 f"{escape(course_line(self.data['course'], self.data['state']))}",
                 f"[b]{n} change{'' if n == 1 else 's'} proposed, {len(self.ticked)} "
                 "ticked[/b]"
                 + (f" ({len(self.carried)} from before the last accept)"
                    if self.carried else "")]
        if self.saved:
            lines.append(f"Saved: {escape(self.saved['text'])}")
        self.query_one("#review-head", Static).update("\n".join(lines))

    def _current(self) -> ProposedChange | None:
        changes = self.query_one("#review-changes", OptionList)
        if not self.changes or changes.highlighted is None:
            return None
        return self.changes[changes.highlighted]

    def show_detail(self) -> None:
        ch = self._current()
        text = in_words(ch.reason, self.texts) if ch else ""
        if ch is not None and ch.id in self.carried:
            text = "(Proposed before the last accept.) " + text
        self.query_one("#review-detail", Static).update(Text(text))

    @on(OptionList.OptionHighlighted, "#review-changes")
    def highlighted(self) -> None:
        self.show_detail()

    @on(OptionList.OptionSelected, "#review-changes")
    def selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_why()

    def _redraw(self) -> None:
        if self.data is None:
            return
        kb = self.app.services.kb  # type: ignore[attr-defined]
        changes = self.query_one("#review-changes", OptionList)
        for i, ch in enumerate(self.changes):
            changes.replace_option_prompt_at_index(
                i, change_prompt(ch, ch.id in self.ticked, kb, self.texts))
        self.show_head()

    def action_tick(self) -> None:
        ch = self._current()
        if ch is None:
            return
        self.ticked ^= {ch.id}
        self._redraw()

    def action_tick_all(self) -> None:
        if not self.changes:
            return
        every = {ch.id for ch in self.changes}
        self.ticked = set() if self.ticked == every else every
        self._redraw()

    def action_why(self) -> None:
        ch = self._current()
        review = self._from.get(ch.id) if ch is not None else None
        if ch is None or review is None:
            return
        kb = self.app.services.kb  # type: ignore[attr-defined]
        self.app.push_screen(ReviewWhyScreen(ch.id, why_lines(ch, review, kb, self.texts)))

    def action_refresh(self) -> None:
        self.load()

    def action_accept(self) -> None:
        review = self.review
        if review is None or self._saving:
            return
        if not self.ticked:
            self.notify("Tick the changes to accept first (Space; a ticks all).",
                        severity="warning")
            return
        wanted = [ch.id for ch in self.changes if ch.id in self.ticked]

        def reason_given(reason: str | None) -> None:
            if reason:
                self._saving = True
                self.accept(review, wanted, reason)

        n = len(wanted)
        self.app.push_screen(TextPrompt(
            f"Accept {n} change{'' if n == 1 else 's'}: the reason",
            placeholder="e.g. no reliable change after 8 sessions",
            note="Recorded with the new plan version (a signed version is never changed)."),
            reason_given)

    def action_no_changes(self) -> None:
        """Record that the plan was reviewed today and stays as it is."""
        review = self.review
        if review is None or self._saving:
            return

        def confirmed(answer: str | None) -> None:
            if answer is not None:  # Enter (Esc cancels)
                self._saving = True
                self.record_no_changes(review)

        self.app.push_screen(TextPrompt(
            "Reviewed, no changes: Enter records it, Esc cancels", required=False,
            placeholder="(nothing to type)",
            note="The plan stays as it is; the review counts as its last review "
                 "(review-due clears)."), confirmed)

    @work(thread=True, exit_on_error=False, group="review-save")
    def record_no_changes(self, review: Review) -> None:
        try:
            version = self.app.services.review_no_changes(  # type: ignore[attr-defined]
                self.plan_id, review)
        except Exception:
            self.app.call_from_thread(self._not_saved)
            raise
        self.app.call_from_thread(self._recorded, version)

    def _recorded(self, version: int) -> None:
        self._saving = False
        self.notify(f"P{self.plan_id} version {version}: review recorded, no changes.",
                    timeout=10)
        self.load()

    @work(thread=True, exit_on_error=False, group="review-save")
    def accept(self, review: Review, wanted: list[str], reason: str) -> None:
        try:
            result = self.app.services.review_accept(  # type: ignore[attr-defined]
                self.plan_id, review, wanted, reason)
        except Exception:
            self.app.call_from_thread(self._not_saved)
            raise
        self.app.call_from_thread(self._accepted, result)

    def _not_saved(self) -> None:
        self._saving = False

    def _accepted(self, result: dict[str, Any]) -> None:
        self._saving = False
        n = len(result["accepted"])
        what = f"{n} change{'' if n == 1 else 's'} accepted"
        plan = f"P{self.plan_id}"
        if not result["changed"]:
            text = f"{what}; {plan} version {result['version']} unchanged (already in the plan)"
        elif result["new_version"]:
            text = f"{what}; {plan} version {result['version']} saved with the reason"
        else:
            text = f"{what}; {plan} version {result['version']} (a draft) edited in place"
        self.saved = {**result, "text": text}
        self.ticked.clear()
        self.notify(text + ".", timeout=10)
        self.load()  # what is proposed now, against the new version

    def action_back(self) -> None:
        self.dismiss(bool(self.saved and self.saved["changed"]))


class ReviewWhyScreen(Screen[None]):
    HELP_AREA = "review_why"
    BINDINGS = keymap.bindings("review_why")
    HELP_TEXT = "Why a change is proposed: the rules, what each says, its source and the facts."

    def __init__(self, change_id: str, lines: list[str]) -> None:
        super().__init__()
        self.change_id = change_id
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="review-why-scroll"):
            yield Static(Text("\n".join(self.lines)), id="review-why-text")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Why (review)"
        self.query_one("#review-why-scroll").focus()

    def action_back(self) -> None:
        self.app.pop_screen()
