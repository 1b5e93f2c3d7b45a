"""No lost keys: keys typed while a dialog opens land in the field the user then sees
focused; the focused field is marked (not by a shade of colour); the focus order is the
order on screen and in the hint; an error puts the focus on the field it names; what is
typed into the objective dialog is kept as a draft and comes back. And the sign dialog's
trainee path: it starts on the missing role, says who signs without contradicting itself,
and the plan's top line stops saying "supervisor required" once the supervisor signs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input, Label, Static

from planwise.kb import load_knowledge
from planwise.models.profile import Profile, Therapist
from planwise.store import plans
from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.tui.app import PlanwiseApp
from planwise.tui.focus_marks import MARK
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.plan import PlanScreen
from planwise.tui.screens.proposal import ProposalScreen
from planwise.tui.screens.sign import SignDialog, consequence, default_role, signatures_note
from planwise.tui.services import Services
from planwise.tui.widgets.plan_dialogs import ObjectiveDialog, objective_draft_key
from planwise.tui.widgets.proposal_dialogs import ItemDialog
from tests.tui.conftest import EXAMPLES, run, settle
from tests.tui.test_plan import FIRST, open_plan, text_of
from tests.tui.test_proposal import example, open_review, select

TRAINEE = Profile(therapist=Therapist(name="A. Trainee", supervisor="B. Supervisor"))


NAMED = {"enter": "\r", "tab": "\t", "plus": "+", "escape": None}


def burst(app: PlanwiseApp, *keys: str) -> None:
    """Keys as they arrive over SSH: all queued at once, none waiting for the one before.
    A key name ("enter", "plus", "ctrl+g") or text, one key per character."""
    for key in keys:
        if key in NAMED or key.startswith("ctrl+"):
            names = [(key, NAMED.get(key))]
        else:
            names = [(c if c.isalnum() else _character_to_key(c), c) for c in key]
        for name, char in names:
            event = events.Key(name, char)
            event.set_sender(app)
            app.post_message(event)


async def settled(app: PlanwiseApp, pilot: Any) -> None:
    for _ in range(3):
        await settle(app, pilot)


def marked_labels(app: PlanwiseApp) -> list[str]:
    return [str(label.render()) for label in app.screen.query(Label)
            if label.has_class(MARK)]


def focused_id(app: PlanwiseApp) -> str | None:
    return app.focused.id if app.focused is not None else None


# -- type-ahead ----------------------------------------------------------------------------

@pytest.fixture()
def client(services: Services) -> int:
    return add_client(services.conn(), "Focus Test (fictional)")


def test_typing_straight_after_plus_lands_in_the_first_field(
        make_app: Callable[[], PlanwiseApp], client: int) -> None:
    """Before: the keys read before the add dialog had composed its fields went nowhere
    (the dialog opened empty)."""
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            select(screen, "depression.activity.monitor")  # beside it: another objective
            before = screen.review.to_json()
            burst(app, "plus", "Walk daily")
            await settled(app, pilot)
            assert isinstance(app.screen, ItemDialog)
            assert focused_id(app) == "field-text"
            assert app.screen.query_one("#field-text", Input).value == "Walk daily"
            assert screen.review.to_json() == before  # no letter acted on the review

    run(go())


def test_typing_through_a_one_line_prompt_into_the_next_dialog(
        make_app: Callable[[], PlanwiseApp], client: int) -> None:
    """`+` on a goal asks o or i first: before, the letters typed after Enter landed in
    the prompt that was closing (and the first of them was lost)."""
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            select(screen, "depression.thinking")
            burst(app, "plus", "o", "enter", "Walk", "enter", "Walk daily")
            await settled(app, pilot)
            assert isinstance(app.screen, ItemDialog)
            assert app.screen.query_one("#field-text", Input).value == "Walk"
            assert app.screen.query_one("#field-client_action", Input).value == "Walk daily"
            assert focused_id(app) == "field-client_action"

    run(go())


def test_a_name_typed_straight_after_ctrl_g_is_in_the_name_field(
        make_app: Callable[[], PlanwiseApp], plan_id: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, plan_id)
            burst(app, "ctrl+g", "Dr Burst")
            await settled(app, pilot)
            assert isinstance(app.screen, SignDialog)
            assert app.screen.query_one("#sign-name", Input).value == "Dr Burst"

    run(go())


# -- the sign dialog: focus order, marks, errors ---------------------------------------------

def test_sign_dialog_focus_order_is_the_hint_and_every_stop_is_marked(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    """Before: focus opened in Name marked by a shade only; one Tab went to the SMART
    box, a stop nobody could see where typing went nowhere; the hint put the role first."""
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            # A failing objective, so that "sign anyway" is there too.
            found = screen.doc and [o for p in screen.doc.problems for g in p.goals
                                    for o in g.objectives if o.key == FIRST]
            assert found
            screen.apply(found[0].model_copy(update={"measure": "feels safer"}))
            await settle(app, pilot)
            await pilot.press("ctrl+g")
            await settle(app, pilot)
            dialog = app.screen
            assert isinstance(dialog, SignDialog)
            chain = [w.id for w in dialog.focus_chain]
            assert chain == ["sign-name", "sign-roles", "sign-force"]
            hint = str(dialog.query_one(".dialog-keys", Static).render()).lower()
            where = [hint.index(word) for word in ("name", "role", "sign anyway")]
            assert where == sorted(where)
            assert focused_id(app) == "sign-name" and marked_labels(app) == ["Name"]
            name_label = next(lbl for lbl in dialog.query(Label) if lbl.has_class(MARK))
            style = name_label.styles.text_style
            assert style.reverse and style.bold  # a mark that needs no colour
            await pilot.press("tab")
            assert focused_id(app) == "sign-roles" and marked_labels(app) == ["Role"]
            await pilot.press("tab")
            assert focused_id(app) == "sign-force" and marked_labels(app) == []
            await pilot.press("tab")
            assert focused_id(app) == "sign-name"
            # Errors put the focus on the field they name.
            dialog.query_one("#sign-name", Input).value = "Dr Focus"
            await pilot.press("ctrl+s")                      # "sign anyway" not ticked
            await pilot.pause()
            assert isinstance(app.screen, SignDialog) and focused_id(app) == "sign-force"
            dialog.query_one("#sign-name", Input).value = ""
            dialog.query_one("#sign-roles").focus()
            await pilot.press("ctrl+s")                      # no name
            await pilot.pause()
            assert focused_id(app) == "sign-name"
            assert plans.history(services.conn(), plan_id)[0]["signatures"] == []

    run(go())


# -- the trainee's path ----------------------------------------------------------------------

@pytest.fixture()
def trainee(tmp_path: Path) -> Iterator[tuple[Services, int]]:
    """A trainee's plan (the profile names a supervisor), on its own services."""
    svc = Services(Store(tmp_path / "trainee.db"), load_knowledge(), TRAINEE)
    c = svc.conn()
    client_id = add_client(c, "Trainee Client (fictional)")
    plan_id = plans.draft(c, client_id, str(EXAMPLES / "depression-alcohol.toml"), svc.kb,
                          TRAINEE)
    yield svc, plan_id
    svc.close()


def test_trainee_plan_co_signed_through_the_dialog(trainee: tuple[Services, int]) -> None:
    """Before: after the trainee signed, the dialog started on the client (the client's
    name filled in), and the top line kept saying "supervisor required" after the
    supervisor had co-signed."""
    services, plan_id = trainee

    async def go() -> None:
        app = PlanwiseApp(services, blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, plan_id)
            assert "supervisor required" in text_of(app, "#plan-head")
            await pilot.press("ctrl+g")
            await settle(app, pilot)
            dialog = app.screen
            assert isinstance(dialog, SignDialog)
            assert dialog.role() == "therapist"
            assert dialog.query_one("#sign-name", Input).value == "A. Trainee"
            assert text_of(app, "#sign-needed") == (
                "Signatures: therapist needed; supervisor (B. Supervisor) needed; client "
                "optional.")
            assert "once the supervisor signs" in text_of(app, "#sign-consequence")
            await pilot.press("enter")                    # Enter in the name signs
            await settled(app, pilot)
            assert isinstance(app.screen, PlanScreen)
            head = text_of(app, "#plan-head")
            assert "partly signed (therapist)" in head and "supervisor required" in head
            await pilot.press("ctrl+g")
            await settle(app, pilot)
            dialog = app.screen
            assert isinstance(dialog, SignDialog)
            assert dialog.role() == "supervisor"          # the missing role, not the client
            assert dialog.query_one("#sign-name", Input).value == "B. Supervisor"
            assert text_of(app, "#sign-needed") == (
                "Signatures: therapist signed (A. Trainee); supervisor (B. Supervisor) "
                "needed; client optional.")
            assert "After this signature version 1 is SIGNED and IMMUTABLE" in \
                text_of(app, "#sign-consequence")
            await pilot.press("ctrl+s")
            await settled(app, pilot)
            head = text_of(app, "#plan-head")
            assert "v1 signed (therapist, supervisor)" in head
            assert "supervisor required" not in head
            await pilot.press("ctrl+g")                   # the client may still sign
            await settle(app, pilot)
            dialog = app.screen
            assert isinstance(dialog, SignDialog) and dialog.role() == "client"
            assert "already signed and immutable" in text_of(app, "#sign-consequence")
            await pilot.press("escape")

    run(go())
    signatures = plans.history(services.conn(), plan_id)[0]["signatures"]
    assert [(s["role"], s["name"]) for s in signatures] == [
        ("therapist", "A. Trainee"), ("supervisor", "B. Supervisor")]


def view(signed: list[str], supervised: bool) -> Any:
    return SimpleNamespace(signatures=[{"role": r, "name": f"N {r}"} for r in signed],
                           version=3, requires_supervisor=supervised,
                           supervisor="B. Supervisor" if supervised else None)


@pytest.mark.parametrize(("signed", "supervised", "role"), [
    ([], False, "therapist"), (["therapist"], False, "client"),
    ([], True, "therapist"), (["therapist"], True, "supervisor"),
    (["supervisor"], True, "therapist"), (["client"], True, "therapist"),
    (["therapist", "supervisor"], True, "client"),
])
def test_the_dialog_starts_on_the_missing_role(signed: list[str], supervised: bool,
                                               role: str) -> None:
    assert default_role(view(signed, supervised)) == role


def test_the_dialog_never_says_something_and_its_opposite() -> None:
    """Before: a signed version's client signature read "After this signature version 1 is
    SIGNED" (it was already), and "Until then it is partly signed" was said of a draft."""
    done = view(["therapist"], False)
    assert consequence(done, "client") == (
        "Version 3 is already signed and immutable; this adds the client's signature to it.")
    assert signatures_note(done) == "Signatures: therapist signed (N therapist); client " \
                                    "optional."
    fresh = view([], True)
    text = consequence(fresh, "client")
    assert text.startswith("After this signature version 3 is partly signed")
    assert "once the therapist and the supervisor sign." in text
    assert "SIGNED and IMMUTABLE" in consequence(view(["supervisor"], True), "therapist")


# -- the objective dialog: marks, errors, the draft ------------------------------------------

def test_objective_dialog_marks_each_field_and_errors_move_the_focus(
        make_app: Callable[[], PlanwiseApp], plan_id: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, plan_id)
            await pilot.press("e")
            await settle(app, pilot)
            dialog = app.screen
            assert isinstance(dialog, ObjectiveDialog)
            seen = []
            for _ in range(6):
                seen.append((focused_id(app), marked_labels(app)))
                await pilot.press("tab")
            assert seen == [("obj-text", ["Objective"]), ("obj-tasks", ["Client tasks"]),
                            ("obj-measure", ["Measure"]),
                            ("obj-anticipated", ["Anticipated"]),
                            ("obj-actual", ["  Actual"]), ("obj-status", ["Status"])]
            dialog.query_one("#obj-anticipated", Input).value = "2026-13-45"
            dialog.query_one("#obj-text").focus()
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert focused_id(app) == "obj-anticipated"
            dialog.query_one("#obj-anticipated", Input).value = "2026-12-31"
            dialog.query_one("#obj-measure", Input).value = "  "
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, ObjectiveDialog) and focused_id(app) == "obj-measure"

    run(go())


def test_item_dialog_error_moves_the_focus_to_the_field(
        make_app: Callable[[], PlanwiseApp], client: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot, ProposalScreen(client, example()))
            select(screen, "depression.activity.monitor")
            await pilot.press("e")
            await settle(app, pilot)
            assert isinstance(app.screen, ItemDialog)
            assert marked_labels(app) == ["Text"]
            app.screen.query_one("#field-target_weeks", Input).value = "lots"
            await pilot.press("enter", "enter", "enter", "enter")
            await pilot.pause()
            assert isinstance(app.screen, ItemDialog)
            assert focused_id(app) == "field-target_weeks"
            assert marked_labels(app) == ["Target (weeks from the start)"]

    run(go())


def test_a_one_line_prompt_marks_its_field_with_a_heavier_border(
        make_app: Callable[[], PlanwiseApp]) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.push_screen(TextPrompt("Reason"))
            await settle(app, pilot)
            field = app.screen.query_one(Input)
            assert app.focused is field
            assert field.styles.border_top[0] == "thick"
            assert field.styles.text_style.underline

    run(go())


def test_text_typed_in_the_objective_dialog_is_kept_and_comes_back(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    """Before: nothing typed into an open objective dialog was saved anywhere: a crash or
    a hangup lost it."""
    key = objective_draft_key(plan_id)

    async def typing() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, plan_id)
            await pilot.press("e")
            await settle(app, pilot)
            await pilot.press("tab", "tab")     # to the measure, all of it selected
            await pilot.press(*"diary on 5 of 7 days")
            await settle(app, pilot)
            # What the crash handler would save is the same (tui/crash_drafts.py).
            from planwise.tui.crash_drafts import open_drafts

            drafts, failed = open_drafts(list(app.screen_stack))
            mine = [d for d in drafts if d.key == key]
            assert not failed and len(mine) == 1
            assert mine[0].payload["fields"]["measure"] == "diary on 5 of 7 days"
            # the terminal dies here: the dialog is still open

    run(typing())
    draft = services.kept_draft("plan", key)
    assert draft is not None and draft["objective"] == FIRST and draft["base_version"] == 1
    assert draft["fields"]["measure"] == "diary on 5 of 7 days"

    async def again() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_plan(plan_id)
            await settled(app, pilot)
            dialog = app.screen
            assert isinstance(dialog, ObjectiveDialog) and dialog.objective.key == FIRST
            assert dialog.query_one("#obj-measure", Input).value == draft["fields"]["measure"]
            assert any("Recovered your unsaved edit of objective" in str(n.message)
                       for n in app._notifications)
            assert str(dialog.query_one("#objective-recovered", Static).render()).startswith(
                "Recovered your unsaved edit from ")
            await pilot.press("ctrl+s")
            await settled(app, pilot)
            assert isinstance(app.screen, PlanScreen)

    run(again())
    assert services.kept_draft("plan", key) is None
    doc = plans.load_doc_for(services.conn(), plan_id)
    saved = next(o for p in doc.problems for g in p.goals for o in g.objectives
                 if o.key == FIRST)
    assert saved.measure == draft["fields"]["measure"]


def test_demo_trainee_opens_as_a_supervised_trainee(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """Before: no way into the co-sign path from the demo (`demo --trainee` did not exist,
    and the plain demo's plans need no supervisor)."""
    from click.testing import CliRunner

    import planwise.tui as tui
    from planwise.cli import cli
    from planwise.intake_io import load_profile
    from planwise.tui.demo import seed

    asked: list[dict[str, Any]] = []
    monkeypatch.setattr(tui, "run", lambda *args, **kwargs: asked.append(kwargs))
    done = CliRunner().invoke(cli, ["demo", "--trainee"])
    assert done.exit_code == 0, done.output
    profile_path = asked[0]["profile_path"]
    assert asked[0]["demo"] and profile_path.endswith("profile-trainee.toml")
    kb = load_knowledge()
    profile = load_profile(profile_path, kb)
    assert profile is not None and profile.therapist.supervisor == "B. Supervisor"
    refused = CliRunner().invoke(cli, ["demo", "--trainee", "--profile", "mine.toml"])
    assert refused.exit_code == 2 and "leave out --profile" in refused.output

    services = Services(Store(tmp_path / "demo.db"), kb, profile)
    try:
        seed(services)
        c = services.conn()
        plans_ = c.query("SELECT p.id, p.requires_supervisor, c.name FROM plans p "
                         "JOIN clients c ON c.id = p.client_id ORDER BY p.id")
        assert plans_ and all(p["requires_supervisor"] for p in plans_)
        birch = next(p["id"] for p in plans_ if p["name"].startswith("Birch"))
        version = plans.history(c, birch)[0]
        assert version["state"] == "partly_signed"
        assert [(s["role"], s["name"]) for s in version["signatures"]] == [
            ("therapist", "A. Trainee")]
    finally:
        services.close()


def test_keys_after_a_key_that_moves_the_focus_go_to_the_new_field(
        make_app: Callable[[], PlanwiseApp], plan_id: int) -> None:
    """Ctrl+N in the session note moves to the note: what is typed straight after it is
    the note's (tests/tui/test_recovery.py waited half a second for this)."""
    from textual.widgets import TextArea

    from planwise.tui.screens.session import SessionScreen

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.new_session(plan_id)
            await settled(app, pilot)
            assert isinstance(app.screen, SessionScreen)
            burst(app, "7", "ctrl+n", "Slept better")
            await settled(app, pilot)
            assert app.screen.query_one("#session-note", TextArea).text == "Slept better"

    run(go())
