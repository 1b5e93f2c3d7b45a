"""One client: current information (trauma overview first), intakes, plans, sessions.

When the dashboard flags the client, the line under the header says why (as the
caseload does); `a` goes on to the next client needing attention, most urgent first,
so the whole list can be worked through from here."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from planwise.store.models import ClientInfo
from planwise.text import printable
from planwise.tui import keymap


def info_text(info: ClientInfo) -> str:
    """The guide's current information, with the running trauma overview at the top."""
    lines: list[str] = []
    lines.append("[b]Trauma and significant events[/b]")
    if info.significant_events:
        for e in info.significant_events:
            when = f"{e.date}: " if e.date else ""
            lines.append(f"  - {when}{e.text}")
    else:
        lines.append("  (none recorded)")
    contact = info.contact
    bits = [b for b in (contact.phone, contact.email, contact.address) if b]
    lines.append(f"[b]Contact[/b] {' | '.join(bits) if bits else '(none recorded)'}")
    if info.emergency_contacts:
        lines.append("[b]Emergency contacts[/b] " + "; ".join(
            f"{e.name}{f' ({e.relationship})' if e.relationship else ''}"
            f"{f' {e.phone}' if e.phone else ''}" for e in info.emergency_contacts))
    else:
        lines.append("[b]Emergency contacts[/b] (none recorded)")
    if info.care_providers:
        lines.append("[b]Care providers[/b] " + "; ".join(
            f"{p.name}{f', {p.role}' if p.role else ''}" for p in info.care_providers))
    if info.past_diagnoses:
        lines.append("[b]Past diagnoses[/b] " + "; ".join(
            f"{d.description}{f' ({d.code})' if d.code else ''}" for d in info.past_diagnoses))
    if info.past_treatment:
        lines.append("[b]Past treatment[/b] " + "; ".join(
            f"{t.description}{f', {t.outcome}' if t.outcome else ''}"
            for t in info.past_treatment))
    return "\n".join(lines)


DRAFT_TEXT = {
    "intake": "Intake not finished (draft saved {when}): Enter or i continues it",
    "proposal": "Proposal review not saved as a plan (draft saved {when}): Enter reopens it",
    "session": "Session note on {key} not saved (draft saved {when}): Enter continues it",
    "plan": "Unsaved edits of plan {key} (draft saved {when}): Enter opens the plan",
    "client": "Unsaved client information (draft saved {when}): Enter or e continues it",
}
DIALOG_ONLY = ("Text typed in a proposal review's dialog (saved {when}): Enter reopens the "
               "review with it")


def draft_lines(drafts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(option id, text) for each of the client's drafts (kind, key, updated_at), newest
    first. A dialog's draft (P3/dialog, P3/objective, C1/dialog: tui/dialog_drafts.py) is
    part of its screen's line; alone, it gets the line its screen would have."""
    from planwise.tui.dialog_drafts import base_key
    from planwise.tui.widgets.plan_model import when_text

    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for d in drafts:
        kind, key = str(d["kind"]), str(d["key"])
        base = base_key(key)
        if kind not in DRAFT_TEXT or (kind, base) in seen:
            continue
        seen.add((kind, base))
        if kind == "proposal" and base != key and \
                not any(str(o["kind"]) == kind and str(o["key"]) == base for o in drafts):
            out.append(("draft:proposal-dialog", DIALOG_ONLY.format(
                when=when_text(d["updated_at"]))))
            continue
        ref = f"draft:{kind}" + (f":{base[1:]}" if base.startswith("P") else "")
        out.append((ref, DRAFT_TEXT[kind].format(key=base, when=when_text(d["updated_at"]))))
    return out


class ClientScreen(Screen[None]):
    HELP_AREA = "client"
    BINDINGS = keymap.bindings("client")
    HELP_TEXT = ("Enter on an intake reviews its proposal; on a plan opens the plan editor. "
                 "i starts a new intake.")

    DEFAULT_CSS = """
    ClientScreen #client-attention { height: auto; max-height: 2; padding: 0 1;
        text-style: bold; }
    """

    def __init__(self, client_id: int) -> None:
        super().__init__()
        self.client_id = client_id
        self.overview: dict[str, Any] | None = None
        self.attention: dict[int, dict[str, Any]] | None = None   # None: not loaded yet

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="client-attention")
        with VerticalScroll(id="client-info-box"):
            yield Static("Loading...", id="client-info")
        yield Static("Records (Enter to open)", classes="section-title")
        yield OptionList(id="records")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "planwise"
        self.sub_title = f"Client C{self.client_id}"
        self.query_one("#client-attention").display = False
        self.load()

    def on_screen_resume(self) -> None:
        self.load()
        self.load_attention()

    # A worker of its own: on a large caseload the flags take a moment the first time,
    # and the client's records show without waiting for them.
    @work(thread=True, exclusive=True, exit_on_error=False, group="client-attention")
    def load_attention(self) -> None:
        rows = self.app.services.attention()  # type: ignore[attr-defined]
        self.app.call_from_thread(self.show_attention, rows)

    def show_attention(self, rows: dict[int, dict[str, Any]]) -> None:
        from planwise.tui.screens.caseload import attention_text

        self.attention = rows
        line = self.query_one("#client-attention", Static)
        entry = rows.get(self.client_id)
        line.display = entry is not None
        if entry is not None:
            line.update(escape(attention_text(f"C{self.client_id}", entry))
                        + " [dim](r reviews the plan; a: next client needing attention)[/dim]")

    def action_next_attention(self) -> None:
        """The next client needing attention after this one, most urgent first."""
        if self.attention is None:
            self.notify("Still finding the clients needing attention...")
            return
        order = list(self.attention)
        others = [c for c in order if c != self.client_id]
        if not others:
            self.notify("No other client needs attention today." if order else
                        "No client needs attention today.")
            return
        after = order[order.index(self.client_id) + 1:] if self.client_id in order else []
        nxt = next((c for c in after if c != self.client_id), others[0])
        n = len(order)
        self.app.pop_screen()
        self.app.open_client(nxt)  # type: ignore[attr-defined]
        self.app.notify(f"Client C{nxt}: {order.index(nxt) + 1} of {n} needing attention "
                        "(a: the next one).")

    @work(thread=True, exclusive=True, exit_on_error=False, group="client")
    def load(self) -> None:
        overview = self.app.services.client_overview(self.client_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self.show, overview)

    def show(self, overview: dict[str, Any]) -> None:
        self.overview = overview
        info: ClientInfo = overview["info"]
        # The header is the terminal's title line: a name never reaches it raw.
        self.sub_title = printable(f"C{self.client_id} {info.name}")
        self.query_one("#client-info", Static).update(info_text(info))
        records = self.query_one("#records", OptionList)
        records.clear_options()
        options: list[Option] = []
        for plan in reversed(overview["plans"]):
            v = plan["versions"][-1]
            signed = ", ".join(s["role"] for s in v["signatures"]) or "unsigned"
            used = len(plan["sessions"])
            options.append(Option(
                f"Plan P{plan['id']} v{v['version']} ({v['state']}; {signed}); "
                f"review {v['review_date'] or '-'}; {used} session(s)", id=f"plan:{plan['id']}"))
        for intake in reversed(overview["intakes"]):
            scores = ", ".join(f"{s['instrument']} {s['total']}" for s in intake["scores"])
            options.append(Option(f"Intake I{intake['id']} {intake['date']}: {scores or '-'}",
                                  id=f"intake:{intake['id']}"))
        # Work in progress too: an intake not finished is a record of this client already.
        options += [Option(text, id=ref) for ref, text in draft_lines(overview.get("drafts", []))]
        if not options:
            options.append(Option("No intakes yet: press i to start one.", id="none",
                                  disabled=True))
        records.add_options(options)
        if records.option_count and not options[0].disabled:
            records.highlighted = 0  # Enter opens the newest record at once
        records.focus()
        self.load_remote()

    # Remote questionnaires sent and not answered yet (docs/remote.md), after the records.
    @work(thread=True, exclusive=True, exit_on_error=False, group="client-remote")
    def load_remote(self) -> None:
        from planwise.dates import today
        from planwise.remote.requests import for_client

        rows = for_client(self.app.services.conn(),  # type: ignore[attr-defined]
                          self.client_id, today())
        self.app.call_from_thread(self.show_remote, rows)

    def show_remote(self, rows: list[dict[str, Any]]) -> None:
        from planwise.tui.screens.remote import request_lines

        records = self.query_one("#records", OptionList)
        # Two reloads close together (the page mounted, then resumed) each send their
        # rows: the latest replaces what an earlier one added rather than listing the
        # requests twice (Textual refuses a repeated option id).
        for option in [o for o in records.options if (o.id or "").startswith("remote:")]:
            records.remove_option(option.id or "")
        lines = request_lines(rows)
        if lines:
            records.add_options([Option(text, id=ref) for ref, text in lines])

    @on(OptionList.OptionSelected, "#records")
    def open_record(self, event: OptionList.OptionSelected) -> None:
        kind, _, ref = (event.option.id or "").partition(":")
        if kind == "plan":
            self.app.open_plan(int(ref))  # type: ignore[attr-defined]
        elif kind == "intake":
            self.app.open_intake_proposal(self.client_id, int(ref))  # type: ignore[attr-defined]
        elif kind == "draft":
            self.open_draft(ref)
        elif kind == "remote":
            self.notify(f"{ref} waits for the client's sealed answers: v pastes them; m "
                        "sends a new request.")

    def open_draft(self, ref: str) -> None:
        kind, _, plan = ref.partition(":")
        app: Any = self.app
        if kind == "intake":
            app.new_intake(self.client_id)
        elif kind == "proposal":
            from planwise.tui.screens.proposal import ProposalScreen

            app.push_screen(ProposalScreen.from_draft(self.client_id))
        elif kind == "proposal-dialog":
            self._open_dialog_intake()
        elif kind == "session":
            app.new_session(int(plan))
        elif kind == "plan":
            app.open_plan(int(plan))
        elif kind == "client":
            app.edit_client_info(self.client_id)

    @work(thread=True, exit_on_error=False, group="client-draft")
    def _open_dialog_intake(self) -> None:
        """A proposal dialog's text without the review's draft: the review of the intake
        it was typed over (which opens the dialog again), or a new intake's."""
        from planwise.tui.dialog_drafts import kept_dialog

        draft = kept_dialog(self.app.services, "proposal",  # type: ignore[attr-defined]
                            f"C{self.client_id}")
        intake = draft["action"].get("intake") if draft is not None else None
        app: Any = self.app
        if isinstance(intake, int):
            app.call_from_thread(app.open_intake_proposal, self.client_id, intake)
        else:
            app.call_from_thread(self.notify, "The review that text was typed in was never "
                                 "saved; its intake is gone.", severity="warning")

    def _latest_plan(self) -> int | None:
        if self.overview and self.overview["plans"]:
            return int(self.overview["plans"][-1]["id"])
        return None

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_new_intake(self) -> None:
        self.app.new_intake(self.client_id)  # type: ignore[attr-defined]

    def action_open_plan(self) -> None:
        plan = self._latest_plan()
        if plan is None:
            self.notify("No plan yet: start an intake (i) and save its proposal as a plan.")
        else:
            self.app.open_plan(plan)  # type: ignore[attr-defined]

    def action_new_session(self) -> None:
        plan = self._latest_plan()
        if plan is None:
            self.notify("A session note needs a plan: its objectives justify the session.")
        else:
            self.app.new_session(plan)  # type: ignore[attr-defined]

    def action_edit_info(self) -> None:
        self.app.edit_client_info(self.client_id)  # type: ignore[attr-defined]

    def action_search_notes(self) -> None:
        from planwise.tui.screens.search import SearchScreen

        self.app.push_screen(SearchScreen(client_id=self.client_id))

    def action_scores(self) -> None:
        from planwise.tui.screens.scores import ScoresScreen

        self.app.push_screen(ScoresScreen(self.client_id))

    def action_review(self) -> None:
        plan = self._latest_plan()
        if plan is None:
            self.notify("No plan to review yet.")
        else:
            self.app.review_plan(plan)  # type: ignore[attr-defined]

    def action_export_plan(self) -> None:
        plan = self._latest_plan()
        if plan is None:
            self.notify("No plan to export yet.")
        else:
            self.app.export_plan(plan)  # type: ignore[attr-defined]

    def action_remote_request(self) -> None:
        from planwise.tui.screens.remote import RequestDialog

        def written(done: Any) -> None:
            if done:
                self.load()

        self.app.push_screen(RequestDialog(self.client_id), written)

    def action_remote_paste(self) -> None:
        from planwise.tui.screens.remote import PasteDialog

        def imported(done: Any) -> None:
            if done:
                self.load()
                self.load_attention()

        self.app.push_screen(PasteDialog(self.client_id), imported)
