"""Every key binding, as data: one list per area of the interface.

Each binding has an id (so a user keymap could rebind it) and a description
(the F1 help of that area and the command palette say it); `short`, when given, is
what the footer says instead. Screens and widgets take their BINDINGS from here;
nothing else defines keys.

Footers: at 80 columns each screen's footer shows, uncut, the keys it needs most,
then F1 (tests/tui/test_keys_footer.py checks every screen). The others have
`show=False` and are in F1 and the palette. Ctrl+Q quits from anywhere; the
caseload's footer shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Key:
    id: str
    keys: str
    action: str
    description: str
    show: bool = True
    priority: bool = False
    short: str = ""          # the footer's word for it, when the description is longer

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.short or self.description,
                       show=self.show, priority=self.priority, id=self.id)


KEYMAP: dict[str, list[Key]] = {
    "app": [
        Key("app.help", "f1", "help", "Help"),
        Key("app.quit", "ctrl+q", "quit", "Quit", priority=True, show=False),
    ],
    "caseload": [
        Key("caseload.new_client", "n", "new_client", "New client"),
        Key("caseload.open", "enter", "open_client", "Open", show=False),
        Key("caseload.search", "slash", "focus_search", "Search"),
        Key("caseload.attention", "a", "attention_only",
            "Only the clients needing attention (again: all)", short="Needs attention"),
        Key("caseload.refresh", "f5", "reload", "Refresh", show=False),
        Key("caseload.quit", "ctrl+q", "app.quit", "Quit", priority=True),
        Key("caseload.search_notes", "ctrl+f", "search_notes",
            "Search the records' words: session notes, intake summaries, names",
            short="Notes", priority=True),  # after Quit: at 60 columns it is cut first
    ],
    "client": [
        Key("client.back", "escape", "back", "Back"),
        Key("client.new_intake", "i", "new_intake", "New intake", short="Intake"),
        Key("client.open_plan", "p", "open_plan", "Plan"),
        Key("client.new_session", "s", "new_session", "Session note", short="Session"),
        Key("client.review", "r", "review", "Review"),
        Key("client.scores", "g", "scores", "Scores over time", show=False),
        Key("client.attention", "a", "next_attention",
            "Next client needing attention (most urgent first)", short="Attention"),
        Key("client.edit", "e", "edit_info", "Edit info", show=False),
        Key("client.export", "x", "export_plan", "Export", show=False),
        Key("client.remote_request", "m", "remote_request",
            "Request measures: a questionnaire file to answer at home", show=False),
        Key("client.remote_paste", "v", "remote_paste",
            "Paste a remote response (sealed answers) to import", show=False),
        Key("client.search_notes", "ctrl+f", "search_notes",
            "Search this client's session notes and intake summaries", show=False,
            priority=True),
    ],
    "search": [
        Key("search.back", "escape", "back", "Back"),
        Key("search.open", "enter", "open", "Open the client of the highlighted record",
            show=False),
        Key("search.results", "down", "results", "To the results", show=False),
        Key("search.query", "ctrl+f", "query", "Back to the search words", short="Words",
            priority=True),
    ],
    "scores": [
        Key("scores.back", "escape", "back", "Back"),
        Key("scores.next", "right,tab", "next_instrument", "Next instrument", priority=True),
        Key("scores.previous", "left,shift+tab", "previous_instrument",
            "Previous instrument", priority=True),
    ],
    "intake": [
        Key("intake.back", "escape", "back", "Back"),
        Key("intake.next", "ctrl+n", "next_step", "Next step", priority=True, short="Next"),
        Key("intake.previous", "ctrl+b", "previous_step", "Previous step", priority=True,
            short="Prev"),
        Key("intake.propose", "ctrl+r", "propose", "Proposal", priority=True),
    ],
    "instrument": [
        Key("instrument.answer", "0,1,2,3,4,5,6,7,8,9", "answer_digit",
            "Answer the current item with that option and go to the next", show=False),
        Key("instrument.yes", "y", "answer_yes", "Yes (ASQ, MDQ)", show=False),
        Key("instrument.no", "n", "answer_no", "No (ASQ, MDQ)", show=False),
        Key("instrument.up", "up", "previous_item", "Previous item", show=False),
        Key("instrument.down", "down", "next_item", "Next item", show=False),
        Key("instrument.clear", "backspace", "clear_answer", "Clear answer", short="Clear"),
        Key("instrument.next_form", "tab", "next_form", "Next form"),
        Key("instrument.previous_form", "shift+tab", "previous_form", "Previous form",
            show=False),
    ],
    "intake_skip": [
        Key("intake_skip.assess", "a", "assess", "Assess now"),
        Key("intake_skip.skip", "s", "skip", "Skip the assessment for now"),
        Key("intake_skip.cancel", "escape", "assess", "Back to the assessment"),
    ],
    "intake_leave": [
        Key("intake_leave.keep", "k,enter", "keep", "Keep the draft and leave"),
        Key("intake_leave.discard", "d", "discard", "Discard the draft and leave"),
        Key("intake_leave.stay", "escape", "stay", "Stay"),
    ],
    "proposal": [
        Key("proposal.accept", "a", "accept", "Accept (on a screen-only problem: confirm)",
            short="Accept"),
        Key("proposal.reject", "r", "reject", "Reject (a reason is asked for)",
            short="Reject"),
        Key("proposal.edit", "e", "edit", "Edit the selected item", short="Edit"),
        Key("proposal.add", "plus", "add",
            "Add: a goal, objective or intervention; on the side panel a referral",
            show=False),
        Key("proposal.why", "w", "why", "Why: the explanation of the selected item",
            short="Why"),
        Key("proposal.answers", "c", "change_answers",
            "What-if: change a copy of the answers and see what changes", short="What-if"),
        Key("proposal.save", "ctrl+s", "save_plan", "Save as plan", priority=True,
            short="Save"),
        Key("proposal.back", "escape", "back",
            "Back (after a what-if: back to the real answers)", short="Back"),
        Key("proposal.panel", "tab", "app.focus_next", "Tree / side panel", show=False),
        Key("proposal.walkthrough", "W", "walkthrough",
            "Walk-through: how the engine reached this proposal, rule by rule (planwise "
            "explain)", show=False),
    ],
    "why": [
        Key("why.back", "escape", "back", "Back"),
    ],
    "walkthrough": [
        Key("walkthrough.back", "escape", "back", "Back"),
    ],
    "plan": [
        Key("plan.back", "escape", "back", "Back"),
        Key("plan.edit", "e", "edit",
            "Edit the selected objective, intervention, referral or treatment block",
            short="Edit"),
        Key("plan.status", "t", "cycle_status", "Next status of the selected objective",
            short="Status"),
        Key("plan.why", "w", "why", "Why the selected item is in the plan", short="Why"),
        Key("plan.review", "r", "review", "Review the plan's course", short="Review"),
        Key("plan.sign", "ctrl+g", "sign", "Sign", priority=True),
        Key("plan.export", "x", "export", "Export"),
        Key("plan.reject", "minus,delete", "reject_item",
            "Reject the selected item (a reason is asked for)", show=False),
        Key("plan.accept", "a", "accept_item", "Accept: take back a rejection", show=False),
        Key("plan.add", "plus", "add_item",
            "Add an intervention (on a goal), a referral (on Referrals) or a treatment block",
            show=False),
        Key("plan.history", "h", "history", "History", show=False),
        Key("plan.revise", "ctrl+r", "revise", "Revise (save the edits as the next version)",
            priority=True, show=False),
        Key("plan.discard", "ctrl+d", "discard", "Discard unsaved revision", show=False),
        Key("plan.screen", "c", "decide_screen",
            "Confirm or reject a problem found on a screen alone", show=False),
        Key("plan.walkthrough", "W", "walkthrough",
            "Walk-through: how the engine reached this plan, rule by rule (planwise "
            "explain)", show=False),
    ],
    "screen_decision": [
        Key("screen_decision.confirm", "c", "confirm", "Confirm: a problem in the plan"),
        Key("screen_decision.reject", "r", "reject", "Reject (a reason follows)"),
        Key("screen_decision.undecide", "u", "undecide", "Undecided again"),
        Key("screen_decision.cancel", "escape", "cancel", "Cancel"),
    ],
    "objective": [
        Key("objective.cancel", "escape", "cancel", "Cancel"),
        Key("objective.save", "ctrl+s", "save", "Keep these changes", priority=True),
    ],
    "item_dialog": [
        Key("item_dialog.cancel", "escape", "cancel", "Cancel"),
        Key("item_dialog.save", "ctrl+s", "save", "Keep these values", priority=True,
            short="Keep"),
    ],
    "sign": [
        Key("sign.cancel", "escape", "cancel", "Cancel"),
        Key("sign.sign", "ctrl+s", "sign", "Sign", priority=True),
    ],
    "history": [
        Key("history.back", "escape", "back", "Back"),
        Key("history.mark", "m", "mark_base", "Compare from here"),
        Key("history.previous", "p", "compare_previous", "Compare with previous"),
    ],
    "session": [
        Key("session.back", "escape", "back", "Back (the note stays as a draft)", short="Back"),
        Key("session.save", "ctrl+s", "save", "Save", priority=True),
        Key("session.objectives", "ctrl+o", "focus_objectives", "Objectives", show=False,
            priority=True),
        Key("session.note", "ctrl+n", "focus_note", "Note", show=False, priority=True),
        Key("session.feedback", "ctrl+f", "focus_feedback", "Feedback", show=False,
            priority=True),
        Key("session.measure", "ctrl+t", "give_measure", "Give a measure", priority=True,
            short="Measure"),
    ],
    "session_feedback": [
        *[Key(f"session_feedback.answer_{n}", str(n), f"answer({n})",
              f"Answer {n}/10 and go to the next item", show=False) for n in range(10)],
        Key("session_feedback.more", "plus", "more", "Answer +1 (up to 10)", short="More"),
        Key("session_feedback.less", "minus", "less", "Answer -1", short="Less"),
        Key("session_feedback.clear", "backspace", "clear", "Clear the answer", short="Clear"),
    ],
    "measure": [
        Key("measure.cancel", "escape", "cancel", "Cancel"),
        Key("measure.keep", "ctrl+s", "keep", "Keep with the session", priority=True,
            short="Keep"),
        Key("measure.remove", "ctrl+d", "remove", "Take out of the session", show=False,
            priority=True),
    ],
    "session_objectives": [
        Key("session_objectives.toggle", "space", "toggle_addressed", "Addressed (tick / untick)",
            short="Tick"),
        Key("session_objectives.more", "plus", "more", "Rating +1 (up to 10)", short="More"),
        Key("session_objectives.less", "minus", "less", "Rating -1", short="Less"),
        *[Key(f"session_objectives.rate_{n}", str(n), f"rate({n})", f"Rate {n}/10", show=False)
          for n in range(10)],
    ],
    "review": [
        Key("review.back", "escape", "back", "Back"),
        Key("review.tick", "space", "tick", "Tick / untick", short="Tick"),
        Key("review.all", "a", "tick_all", "Tick all / none", short="All"),
        Key("review.why", "w", "why", "Why"),
        Key("review.accept", "ctrl+s", "accept", "Accept ticked", priority=True, short="Accept"),
        Key("review.no_changes", "n", "no_changes", "Reviewed: no changes", short="No changes"),
        Key("review.refresh", "f5", "refresh", "Run the review again", show=False),
    ],
    "review_why": [
        Key("review_why.back", "escape", "back", "Back"),
    ],
    "export": [
        Key("export.cancel", "escape", "cancel", "Cancel"),
        Key("export.write", "ctrl+s", "write", "Write file", priority=True),
        # Enter wrote only from the file field: in the format list it just chose the
        # format, and a second Enter did nothing (the hint said "Enter: write").
        Key("export.enter", "enter", "enter", "Write the file (in the list: in the "
            "highlighted format)", priority=True, show=False),
    ],
    "client_edit": [
        Key("client_edit.back", "escape", "back", "Back"),
        Key("client_edit.save", "ctrl+s", "save", "Save", priority=True),
        Key("client_edit.event", "ctrl+e", "add_event", "Add event", priority=True),
    ],
    "dialog": [
        Key("dialog.cancel", "escape", "cancel", "Cancel"),
    ],
    "remote_request": [
        Key("remote_request.cancel", "escape", "cancel", "Cancel"),
        Key("remote_request.write", "ctrl+s", "write", "Write the questionnaire file",
            priority=True, short="Write"),
    ],
    "remote_paste": [
        Key("remote_paste.cancel", "escape", "cancel", "Cancel"),
        Key("remote_paste.import", "ctrl+s", "import", "Import the pasted response",
            priority=True, short="Import"),
    ],
}


def bindings(area: str) -> list[BindingType]:
    return [k.binding() for k in KEYMAP[area]]


_NAMES = {"slash": "/", "plus": "+", "escape": "Esc", "enter": "Enter", "backspace": "Backspace",
          "up": "Up", "down": "Down", "space": "Space", "tab": "Tab"}


def display(keys: str) -> str:
    """How a key reads in help: ctrl+n -> Ctrl+N, slash -> /, a -> a."""
    out = []
    for key in keys.split(","):
        parts = key.strip().split("+")
        shown = []
        for p in parts:
            if p in _NAMES:
                shown.append(_NAMES[p])
            elif len(p) == 1:
                shown.append(p.upper() if len(parts) > 1 else p)
            else:
                shown.append(p.upper() if p[0] == "f" and p[1:].isdigit() else p.capitalize())
        out.append("+".join(shown))
    return " / ".join(out)


def describe(area: str) -> list[tuple[str, str]]:
    """(key, description) for the F1 help of an area."""
    return [(display(k.keys), k.description) for k in KEYMAP.get(area, [])]
