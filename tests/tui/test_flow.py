"""The whole flow, keyboard only, at 80x24, as a therapist would walk it: a new client on an
empty database -> intake -> proposal review -> accept, reject and edit -> save as plan ->
sign -> session note -> export. The store is checked after every step."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Input, SelectionList, Static, TextArea, Tree

from planwise.store.clients import get_client, list_clients, list_intakes
from planwise.store.drafts import load_draft
from planwise.store.plans import current_version, history, load_doc_for
from planwise.store.sessions import list_sessions
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.caseload import CaseloadScreen
from planwise.tui.screens.client import ClientScreen
from planwise.tui.screens.client_edit import ClientEditScreen
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.export import ExportDialog
from planwise.tui.screens.intake import IntakeScreen, SkipRiskDialog
from planwise.tui.screens.plan import PlanScreen
from planwise.tui.screens.proposal import ProposalScreen
from planwise.tui.screens.session import SessionScreen
from planwise.tui.screens.sign import SignDialog
from planwise.tui.services import Services
from planwise.tui.widgets.instrument_form import InstrumentForm
from planwise.tui.widgets.plan_checklist import ObjectiveChecklist
from tests.tui.conftest import TODAY, run

PHQ9 = "232212211"          # total 16, moderately severe; item 9 = 1: a positive screen
AUDIT = "3221101122"        # total 15; items 9 and 10 take 0, 2 or 4


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def until(pilot: Any, done: Callable[[], bool], what: str, tries: int = 150) -> None:
    """Wait (bounded) for something a worker brings about, e.g. a screen it opens."""
    for _ in range(tries):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.02)
        if done():
            return
    raise AssertionError(f"timed out waiting for {what}; screen is {pilot.app.screen!r}")


def on(app: PlanwiseApp, kind: type[Screen[Any]]) -> Callable[[], bool]:
    return lambda: isinstance(app.screen, kind)


def text(screen: Screen[Any], selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def test_new_client_to_exported_signed_plan_by_keyboard(
        make_app: Callable[[], PlanwiseApp], services: Services, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    c = services.conn()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    written: list[Path] = []

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, on(app, CaseloadScreen), "the caseload")
            await settle(pilot)
            assert app.screen.query_one("#empty").display  # the empty caseload explains
            assert list_clients(c) == []

            # -- n: a new client -> the client's page ---------------------------------------
            await pilot.press("n")
            await until(pilot, on(app, TextPrompt), "the new-client prompt")
            await pilot.press(*"Jo Flow", "enter")
            await until(pilot, on(app, ClientScreen), "the client's page")
            clients = list_clients(c)
            assert [cl["name"] for cl in clients] == ["Jo Flow"]
            cid = int(clients[0]["id"])
            client_screen = app.screen
            assert isinstance(client_screen, ClientScreen) and client_screen.client_id == cid
            await settle(pilot)
            assert "(none recorded)" in text(client_screen, "#client-info")

            # -- e: a significant event in the client's information --------------------------
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ClientEditScreen)
                        and app.screen.info is not None, "the client information editor")
            await pilot.press("ctrl+e")
            await until(pilot, on(app, TextPrompt), "the event prompt")
            await pilot.press(*"2019-03-01 | Crash", "enter")
            await pilot.pause()
            await pilot.press("ctrl+s")
            await until(pilot, on(app, ClientScreen), "back on the client's page")
            info = get_client(c, cid)
            assert [(str(e.date), e.text) for e in info.significant_events] == [
                ("2019-03-01", "Crash")]
            await settle(pilot)
            assert "2019-03-01: Crash" in text(client_screen, "#client-info")

            # -- i: new intake, screening ----------------------------------------------------
            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, IntakeScreen)
                        and app.screen.ready, "the new intake")
            intake = app.screen
            assert isinstance(intake, IntakeScreen)
            await settle(pilot)
            # Depression is the first concern; Substance use (broad) the 7th from the end.
            await pilot.press("space", "end", *["up"] * 6, "space")
            await pilot.press("tab", *"Low mood")
            await settle(pilot)
            assert intake.state.concerns == ["depression", "substance_use"]
            draft = load_draft(c, "intake", f"C{cid}")
            assert draft is not None
            assert draft["intake"]["screening"]["summary"] == "Low mood"

            # -- assessments: AUDIT, DAST-10 and PHQ-9 called for; DAST-10 unticked -----------
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert intake.state.step == 1
            kb = services.kb
            assert intake.state.chosen(kb) == ["audit", "dast10", "phq9"]
            listing = intake.query_one("#assessments", SelectionList)
            offered = [listing.get_option_at_index(i).value for i in range(listing.option_count)]
            assert offered[:3] == ["audit", "dast10", "phq9"]
            await pilot.press("down")        # to the first row (AUDIT) ...
            if listing.highlighted is None or listing.highlighted == 0:
                await pilot.press("down")    # ... and on to DAST-10
            assert listing.highlighted == 1
            await pilot.press("space")
            await settle(pilot)
            assert intake.state.chosen(kb) == ["audit", "phq9"]

            # -- instruments: digit keys answer and advance ----------------------------------
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert intake.state.step == 2
            audit = intake.query_one("#form-audit", InstrumentForm)
            assert app.focused is audit
            await pilot.press(*AUDIT)
            await pilot.pause()
            assert "TOTAL 15 of 40" in str(audit.query_one(".form-status", Static).render())
            await pilot.press("tab")       # the next form
            await pilot.pause()
            phq9 = intake.query_one("#form-phq9", InstrumentForm)
            assert app.focused is phq9
            await pilot.press(*PHQ9)
            await settle(pilot)
            status = str(phq9.query_one(".form-status", Static).render())
            assert "TOTAL 16 of 27" in status
            draft = load_draft(c, "intake", f"C{cid}")
            assert draft is not None
            assert draft["intake"]["instruments"]["phq9"] == [int(d) for d in PHQ9]
            assert draft["intake"]["instruments"]["audit"] == [int(d) for d in AUDIT]

            # -- suicide risk: positive screen (PHQ-9 item 9); passive ideation ---------------
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert intake.state.step == 3
            assert "POSITIVE" in text(intake, "#screen-status")
            await pilot.press("tab", "right", "space")
            await settle(pilot)
            assert intake.state.risk["ideation"] == "passive"
            assert "RISK LEVEL: LOW" in text(intake, "#risk-level")

            # -- history and context ---------------------------------------------------------
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert not isinstance(app.screen, SkipRiskDialog)  # assessed: nothing to ask
            assert intake.state.step == 4
            await pilot.press("space", "tab", "tab", "tab", "tab", *"12")
            await settle(pilot)
            assert intake.state.trauma is True
            assert intake.state.session_limit == "12"
            draft = load_draft(c, "intake", f"C{cid}")
            assert draft is not None and draft["intake"]["context"]["session_limit"] == 12
            assert list_intakes(c, cid) == []  # nothing stored but the draft

            # -- Ctrl+R: the proposal --------------------------------------------------------
            await pilot.press("ctrl+r")
            await until(pilot, lambda: isinstance(app.screen, ProposalScreen)
                        and app.screen.loaded, "the proposal review")
            review = app.screen
            assert isinstance(review, ProposalScreen)
            assert "SUICIDE RISK: LOW" in text(review, "#proposal-risk")
            tree = review.query_one("#proposal-tree", Tree)
            assert app.focused is tree
            if review._selected_key() is None:
                await pilot.press("down")       # the tree opens with no line selected
            assert review._selected_key() == "problem.suicide_risk"
            # Space folds a problem: fold the first two to reach alcohol use's first goal.
            await pilot.press("space", "down", "space", "down")
            assert review._selected_key() == "problem.alcohol_use"
            await pilot.press("down")
            alcohol_goal = review._selected_key()
            assert alcohol_goal is not None and alcohol_goal.startswith("alcohol_use.")
            assert review.review.get(alcohol_goal).kind == "goal"  # type: ignore[union-attr]
            # reject that goal, with a reason
            await pilot.press("r")
            await until(pilot, on(app, TextPrompt), "the reason prompt")
            await pilot.press(*"Not now", "enter")
            await settle(pilot)
            assert review.review.status(alcohol_goal) == "rejected"
            # unfold depression; edit its first objective's text, keep the other fields
            await pilot.press("up", "up", "space", "down", "down")
            depression_objective = review._selected_key()
            assert depression_objective is not None
            assert depression_objective.startswith("depression.")
            assert review.review.get(depression_objective).kind == "objective"  # type: ignore[union-attr]
            await pilot.press("e")
            await pilot.pause()
            await pilot.press("end", *" daily", "enter", "enter", "enter", "enter")
            await settle(pilot)
            assert review.review.status(depression_objective) == "edited"
            edited_text = review.review.current(depression_objective)["text"]
            assert edited_text.endswith(" daily")
            proposal_draft = load_draft(c, "proposal", f"C{cid}")
            assert proposal_draft is not None
            decisions = proposal_draft["review"]["decisions"]
            assert decisions[alcohol_goal] == {"reject": "Not now"}

            # -- Ctrl+S: save as plan; the plan editor opens ---------------------------------
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, PlanScreen)
                        and app.screen.doc is not None, "the plan editor")
            plan_screen = app.screen
            assert isinstance(plan_screen, PlanScreen)
            plan_id = plan_screen.plan_id
            assert [i["id"] for i in list_intakes(c, cid)] != []
            assert load_draft(c, "intake", f"C{cid}") is None
            assert load_draft(c, "proposal", f"C{cid}") is None
            doc = load_doc_for(c, plan_id)
            items = {it.key: it for p in doc.problems for it in [p, *p.goals]}
            assert items[alcohol_goal].origin == "proposed_rejected"  # type: ignore[union-attr]
            assert items[alcohol_goal].rejection_reason == "Not now"  # type: ignore[union-attr]
            edited = [o for p in doc.problems for g in p.goals for o in g.objectives
                      if o.key == depression_objective]
            assert edited and edited[0].text == edited_text
            assert edited[0].origin == "proposed_edited"
            assert current_version(c, plan_id)["state"] == "draft"
            # the main screen of the plan shows the trauma overview
            await settle(pilot)

            # -- Ctrl+G: sign as therapist ---------------------------------------------------
            await pilot.press("ctrl+g")
            await until(pilot, on(app, SignDialog), "the sign dialog")
            sign = app.screen
            name = sign.query_one("#sign-name", Input)
            if not name.value:
                await pilot.press(*"A. Therapist")
            signer = name.value
            if sign.query("#sign-force"):
                await pilot.press("tab", "tab", "space")  # "sign anyway" (SMART failures)
            await pilot.press("ctrl+s")
            await until(pilot, on(app, PlanScreen), "back on the plan")
            await settle(pilot)
            versions = history(c, plan_id)
            assert versions[-1]["state"] == "signed"
            assert [(s["role"], s["name"]) for s in versions[-1]["signatures"]] == [
                ("therapist", signer)]

            # -- back to the client; s: a session note ---------------------------------------
            await pilot.press("escape")
            await until(pilot, on(app, ClientScreen), "the client's page")
            await settle(pilot)
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SessionScreen)
                        and app.screen.loaded is not None, "the session note")
            session = app.screen
            checklist = session.query_one(ObjectiveChecklist)
            assert app.focused is checklist and len(checklist.items) >= 2
            first, second = checklist.items[0][0], checklist.items[1][0]
            await pilot.press("6", "down", "space", "4")
            await pilot.press("ctrl+n", *"Better.")
            await settle(pilot)
            assert session.query_one("#session-note", TextArea).text == "Better."
            session_draft = load_draft(c, "session", f"P{plan_id}")
            assert session_draft is not None and session_draft["addressed"] == {
                first: 6, second: 4}
            await pilot.press("ctrl+s")
            await until(pilot, on(app, ClientScreen), "back on the client's page")
            saved = list_sessions(c, plan_id)
            assert len(saved) == 1
            assert saved[0]["date"] == TODAY
            assert saved[0]["note"] == "Better."
            assert [(o["key"], o["rating"]) for o in saved[0]["objectives"]] == [
                (first, 6), (second, 4)]
            assert load_draft(c, "session", f"P{plan_id}") is None

            # -- x: export Markdown ----------------------------------------------------------
            await settle(pilot)
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ExportDialog)
                        and app.screen.version is not None, "the export dialog")
            path = app.screen.query_one("#export-path", Input)
            assert path.value.endswith(f"planwise-P{plan_id}-v1.md")
            await pilot.press("tab", "enter")   # the default file name, in $HOME
            await until(pilot, on(app, ClientScreen), "back from the export")
            written.append(home / f"planwise-P{plan_id}-v1.md")
            assert any(str(written[0]) in str(n.message) for n in app._notifications)

    run(go())
    out = written[0]
    assert out.is_file()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    md = out.read_text(encoding="utf-8")
    first_section = md.index("\n## ")
    assert md[first_section:].startswith("\n## Trauma and significant events")
    assert "Crash" in md[first_section: md.index("## Problems")]
    assert md.index("## Current information") < md.index("## Problems")
    signatures = md[md.index("## Signatures"):]
    assert "therapist" in signatures.split("## Versions")[0]
    assert "Not now" in md
