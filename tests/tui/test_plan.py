"""Plan editor: SMART letters live, edits saved, signing (forced when lint fails), immutable
signed versions, revision with a reason, history/diff, export 0600, draft recovery."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList, Static

from planwise.store import plans
from planwise.store.clients import get_client
from planwise.store.drafts import load_draft
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.client_edit import ClientEditScreen
from planwise.tui.screens.export import ExportDialog
from planwise.tui.screens.history import HistoryScreen
from planwise.tui.screens.plan import PlanScreen
from planwise.tui.screens.sign import SignDialog
from planwise.tui.screens.why import WhyScreen
from planwise.tui.services import Services
from planwise.tui.widgets.plan_dialogs import ObjectiveDialog
from tests.tui.conftest import EXAMPLES, run, settle

FIRST = "suicide_risk.safety_plan.write"  # the first objective of the example's plan


def text_of(app: PlanwiseApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def label_of(app: PlanwiseApp, key: str) -> str:
    screen = app.screen
    assert isinstance(screen, PlanScreen)
    return screen._labels[key].plain  # the label without the cursor's '> '


async def open_plan(app: PlanwiseApp, pilot: Any, plan_id: int) -> PlanScreen:
    await settle(app, pilot)
    app.open_plan(plan_id)
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, PlanScreen)
    return screen


async def open_export_dialog(app: PlanwiseApp, pilot: Any, plan_id: int) -> ExportDialog:
    """The plan editor open, then x: its export dialog."""
    await open_plan(app, pilot, plan_id)
    await pilot.press("x")
    await settle(app, pilot)
    dialog = app.screen
    assert isinstance(dialog, ExportDialog)
    return dialog


async def edit_measure(app: PlanwiseApp, pilot: Any, measure: str) -> None:
    await pilot.press("e")
    await pilot.pause()
    assert isinstance(app.screen, ObjectiveDialog)
    await pilot.press("tab", "tab")  # objective text -> client tasks -> measure (selected)
    assert app.focused is not None and app.focused.id == "obj-measure"
    await pilot.press(*measure)
    await pilot.pause()


def test_plan_editor_summary_smart_letters_edit_and_status(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, plan_id)
            head = text_of(app, "#plan-head")
            assert f"P{plan_id} v1 draft" in head
            assert "risk low" in head and "start 2026-11-29" in head
            assert "0 of 12 sessions used, 12 left" in head
            assert text_of(app, "#plan-info").startswith("Trauma and significant events")
            assert label_of(app, FIRST).startswith("S M A R T  open  due 2026-12-06")
            assert FIRST in text_of(app, "#plan-detail")  # the cursor starts on it
            screen = app.screen
            assert isinstance(screen, PlanScreen)
            assert screen._tree_nodes[FIRST].label.plain.startswith("> S M A R T")
            # w: why the objective is there (the rule, what it says, its source)
            await pilot.press("w")
            await settle(app, pilot)
            assert isinstance(app.screen, WhyScreen)
            why = str(app.screen.query_one("#why-text", Static).render())
            assert "rule risk.goals" in why and "Stanley & Brown" in why
            await pilot.press("escape")
            await settle(app, pilot)
            assert isinstance(app.screen, PlanScreen)
            await edit_measure(app, pilot, "feels safer")
            live = str(app.screen.query_one("#objective-smart", Static).render())
            assert "SMART S !M A R T" in live and "no number" in live
            await pilot.press(*" 3x")  # a number again: M passes
            await pilot.pause()
            live = str(app.screen.query_one("#objective-smart", Static).render())
            assert "SMART S M A R T" in live
            await pilot.press("backspace", "backspace", "backspace", "ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, PlanScreen)
            assert label_of(app, FIRST).startswith("S !M A R T")
            assert "1 objective(s) failing" in text_of(app, "#plan-head")
            doc = plans.load_doc_for(services.conn(), plan_id)
            saved = next(o for p in doc.problems for g in p.goals for o in g.objectives
                         if o.key == FIRST)
            assert saved.measure == "feels safer"
            assert saved.origin == "proposed_edited"
            assert doc.version == 1  # a draft is edited in place
            # t cycles the status; met sets the actual date
            await pilot.press("t")
            await settle(app, pilot)
            assert "met  due 2026-12-06 done 2026-11-29" in label_of(app, FIRST)
            doc = plans.load_doc_for(services.conn(), plan_id)
            o = next(o for p in doc.problems for g in p.goals for o in g.objectives
                     if o.key == FIRST)
            assert o.status == "met" and str(o.actual) == "2026-11-29"

    run(go())


def test_sign_forced_when_lint_fails_then_immutable_and_revision_needs_a_reason(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, plan_id)
            await edit_measure(app, pilot, "feels safer")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            # sign: the SMART failure is shown, and signing needs "sign anyway"
            await pilot.press("ctrl+g")
            await pilot.pause()
            assert isinstance(app.screen, SignDialog)
            lint = str(app.screen.query_one("#sign-lint", Static).render())
            assert "SMART check failed" in lint and f"!M {FIRST}" in lint
            assert "IMMUTABLE" in str(app.screen.query_one("#sign-consequence",
                                                           Static).render())
            await pilot.press(*"Dr E", "ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, SignDialog)  # refused without "sign anyway"
            assert plans.history(services.conn(), plan_id)[0]["signatures"] == []
            app.screen.query_one("#sign-force").focus()
            await pilot.press("space", "ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, PlanScreen)
            v1 = plans.history(services.conn(), plan_id)[0]
            assert v1["state"] == "signed"
            assert v1["signatures"][0]["role"] == "therapist"
            assert v1["signatures"][0]["forced"] == 1
            assert "v1 signed (therapist (forced))" in text_of(app, "#plan-head")
            # an edit of the signed version is kept as a draft, not stored
            await pilot.press("t")
            await settle(app, pilot)
            assert "REVISING v1 -> v2" in text_of(app, "#plan-head")
            assert plans.current_version(services.conn(), plan_id)["version"] == 1
            draft = load_draft(services.conn(), "plan", f"P{plan_id}")
            assert draft is not None and draft["base_version"] == 1
            # Ctrl+R asks for a reason; an empty one is refused
            await pilot.press("ctrl+r")
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert plans.current_version(services.conn(), plan_id)["version"] == 1
            await pilot.press(*"written", "enter")
            await settle(app, pilot)
            cur = plans.current_version(services.conn(), plan_id)
            assert cur["version"] == 2 and cur["reason"] == "written"
            assert load_draft(services.conn(), "plan", f"P{plan_id}") is None
            assert "v2 draft" in text_of(app, "#plan-head")
            v1_doc = plans.load_doc_for(services.conn(), plan_id, 1)
            assert all(o.status == "open" for p in v1_doc.problems for g in p.goals
                       for o in g.objectives)  # version 1 unchanged
            # history and diff show the change
            await pilot.press("h")
            await settle(app, pilot)
            assert isinstance(app.screen, HistoryScreen)
            diff = text_of(app, "#diff")
            assert "version 2 reason: written" in diff
            assert f"~ objective {FIRST}" in diff and "status: open -> met" in diff
            assert app.screen.query_one("#versions", OptionList).option_count == 2

    run(go())


def test_history_diff_of_any_two_versions(make_app: Callable[[], PlanwiseApp],
                                          services: Services, plan_id: int) -> None:
    c = services.conn()
    plans.sign(c, plan_id, "therapist", "Dr Example")
    for n, reason in ((2, "first change"), (3, "second change")):
        doc = plans.load_doc_for(c, plan_id)
        doc.row_version = plans.current_version(c, plan_id)["row_version"]
        doc.risk_level = "moderate" if n == 2 else "high"
        plans.save_doc(c, plan_id, doc, reason)
        if n == 2:
            plans.sign(c, plan_id, "therapist", "Dr Example")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.push_screen(HistoryScreen(plan_id))
            await settle(app, pilot)
            assert "risk_level: moderate -> high" in text_of(app, "#diff")
            await pilot.press("down", "down")  # to version 1
            await settle(app, pilot)
            await pilot.press("m")  # compare from version 1 ...
            await settle(app, pilot)
            await pilot.press("up", "up")  # ... to version 3
            await settle(app, pilot)
            diff = text_of(app, "#diff")
            assert "version 1 -> version 3" in diff and "risk_level: low -> high" in diff
            assert "first change" in diff and "second change" in diff

    run(go())


def test_export_writes_a_private_file_and_says_where(make_app: Callable[[], PlanwiseApp],
                                                     plan_id: int, tmp_path: Path) -> None:
    target = tmp_path / "out.md"

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            dialog = await open_export_dialog(app, pilot, plan_id)
            path = dialog.query_one("#export-path", Input)
            assert path.value == f"~/planwise-P{plan_id}-v1.md"
            await pilot.press("down", "space")  # TOML: the extension follows
            await pilot.pause()
            assert path.value == f"~/planwise-P{plan_id}-v1.toml"
            await pilot.press("up", "space")
            await pilot.pause()
            path.value = str(target)
            path.focus()
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, PlanScreen)
            assert target.read_text().startswith(f"# Treatment plan P{plan_id}, version 1")
            assert stat.S_IMODE(target.stat().st_mode) == 0o600
            assert any(str(target) in str(n.message) for n in app._notifications)

    run(go())


def test_enter_in_the_format_list_writes_in_the_highlighted_format(
        make_app: Callable[[], PlanwiseApp], plan_id: int, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: Enter in the format list only chose the format, and pressing it again did
    nothing: the file was written only from the file field (found trying it in tmux)."""
    monkeypatch.setenv("HOME", str(tmp_path))

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_export_dialog(app, pilot, plan_id)
            await pilot.press("down", "enter")          # TOML, highlighted: written
            await settle(app, pilot)
            await settle(app, pilot)
            assert isinstance(app.screen, PlanScreen)

    run(go())
    written = tmp_path / f"planwise-P{plan_id}-v1.toml"
    assert written.read_text().startswith('schema = "planwise.plan/1"')
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_signed_plan_edits_are_recovered(make_app: Callable[[], PlanwiseApp],
                                         services: Services, plan_id: int) -> None:
    plans.sign(services.conn(), plan_id, "therapist", "Dr Example")

    async def first() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, plan_id)
            await pilot.press("t")  # met, kept as a draft of version 2
            await settle(app, pilot)

    async def second() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, plan_id)
            assert "met  due 2026-12-06" in label_of(app, FIRST)
            assert "REVISING v1 -> v2" in text_of(app, "#plan-head")
            assert any("Recovered unsaved plan edits from" in str(n.message)
                       for n in app._notifications)
            await pilot.press("ctrl+d")  # discard
            await settle(app, pilot)
            assert "open  due 2026-12-06" in label_of(app, FIRST)
            assert load_draft(services.conn(), "plan", f"P{plan_id}") is None

    run(first())
    assert plans.current_version(services.conn(), plan_id)["version"] == 1
    run(second())


def test_client_info_edit_saves_and_recovers(make_app: Callable[[], PlanwiseApp],
                                             services: Services, plan_id: int) -> None:
    client_id = plans.get_plan(services.conn(), plan_id)["client_id"]

    async def first() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.edit_client_info(client_id)
            await settle(app, pilot)
            assert isinstance(app.screen, ClientEditScreen)
            await pilot.press("ctrl+e")
            await pilot.pause()
            app.screen.query_one(Input).value = "2025-06-01 | Lost job after 10 years"
            await pilot.press("enter")
            await settle(app, pilot)
            app.screen.query_one("#phone", Input).value = "555-0100"
            await settle(app, pilot)
            # killed here: nothing saved, but the draft holds the edits

    run(first())
    assert get_client(services.conn(), client_id).significant_events == []
    assert load_draft(services.conn(), "client", f"C{client_id}") is not None

    async def second() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.edit_client_info(client_id)
            await settle(app, pilot)
            assert any("Recovered unsaved client information" in str(n.message)
                       for n in app._notifications)
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert not isinstance(app.screen, ClientEditScreen)

    run(second())
    info = get_client(services.conn(), client_id)
    assert [(str(e.date), e.text) for e in info.significant_events] == [
        ("2025-06-01", "Lost job after 10 years")]
    assert info.significant_events[0].recorded is not None
    assert info.contact.phone == "555-0100"
    assert load_draft(services.conn(), "client", f"C{client_id}") is None


def test_sign_dialog_says_when_the_version_becomes_immutable() -> None:
    from types import SimpleNamespace

    from planwise.tui.screens.sign import consequence

    trainee = SimpleNamespace(signatures=[], version=1, requires_supervisor=True)
    assert "once the supervisor signs" in consequence(trainee, "therapist")  # type: ignore[arg-type]
    trainee.signatures = [{"role": "therapist"}]
    assert "SIGNED and IMMUTABLE" in consequence(trainee, "supervisor")  # type: ignore[arg-type]
    alone = SimpleNamespace(signatures=[], version=2, requires_supervisor=False)
    assert "version 2 is SIGNED and IMMUTABLE" in consequence(alone, "therapist")  # type: ignore[arg-type]
    assert "once the therapist signs" in consequence(alone, "client")  # type: ignore[arg-type]


def test_saving_a_proposal_as_a_plan_saves_the_intake_and_plan_together_or_neither(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the intake was committed on its own, so a failure drafting the plan left an
    intake without its plan (and a second try stored the intake twice)."""
    import tomllib

    from planwise.store.clients import add_client, list_intakes
    from planwise.tui.widgets.proposal_model import Review, items_from_proposal

    c = services.conn()
    client_id = add_client(c, "Transaction Test (fictional)")
    data = tomllib.loads((EXAMPLES / "depression-alcohol.toml").read_text(encoding="utf-8"))
    proposal, _evaluation, scored = services.evaluate(data)
    review = Review()
    review.replace_items(items_from_proposal(proposal, scored.intake.date))

    def plans_of_client() -> list[dict[str, Any]]:
        return c.query("SELECT id FROM plans WHERE client_id = ?", [client_id])

    def disk_full(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(plans, "save_doc", disk_full)  # the last write of the three
    with pytest.raises(OSError, match="disk full"):
        services.save_proposal_as_plan(client_id, data, None, review)
    assert list_intakes(c, client_id) == [] and plans_of_client() == []
    assert not c.raw.in_transaction
    monkeypatch.undo()
    plan_id, notes = services.save_proposal_as_plan(client_id, data, None, review)
    assert notes == [] and [p["id"] for p in plans_of_client()] == [plan_id]
    assert len(list_intakes(c, client_id)) == 1


def test_the_demo_and_the_services_do_not_import_each_other() -> None:
    """Before: services.py imported demo.py (to make and seed the demo's database) and
    demo.py imported services.py back (its type, its `today`). Now only one way."""
    import ast

    import planwise.tui.demo as demo
    import planwise.tui.services as services_module

    def imported(module: Any) -> set[str]:
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        names: set[str] = set()
        for node in ast.walk(tree):  # every import, also inside functions and TYPE_CHECKING
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        return names

    assert "planwise.tui.demo" in imported(services_module)
    assert not {n for n in imported(demo) if n.startswith("planwise.tui.services")}


def test_the_walkthrough_is_one_key_away_in_the_plan_editor(
        make_app: Callable[[], PlanwiseApp], services: Services, plan_id: int) -> None:
    """Before: `planwise explain`'s walk-through was in the command line only."""
    from planwise.explain import explain
    from planwise.intake_io import load_intake
    from planwise.rules import evaluate
    from planwise.tui.screens.help import HelpScreen
    from planwise.tui.screens.walkthrough import WalkthroughScreen

    scored = load_intake(str(EXAMPLES / "depression-alcohol.toml"), services.kb)
    expected = explain(evaluate(scored, None, services.kb), scored, services.kb)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_plan(app, pilot, plan_id)
            await pilot.press("W")
            await settle(app, pilot)
            assert isinstance(app.screen, WalkthroughScreen)
            text = str(app.screen.query_one("#walkthrough-text", Static).render())
            assert text.startswith("How planwise reached its proposal")
            assert "Step 1. From scores and answers" in text and "Source:" in text
            # The command line's walk-through of the same intake, letter for letter (the
            # stored intake lists its instruments in another order), wrapped to the screen.
            def letters(t: str) -> list[str]:
                return sorted("".join(t.split()))

            assert letters(text) == letters(expected)
            assert max(map(len, text.splitlines())) <= 78
            await pilot.resize_terminal(60, 20)
            await settle(app, pilot)
            narrow = str(app.screen.query_one("#walkthrough-text", Static).render())
            assert letters(narrow) == letters(expected)
            assert max(map(len, narrow.splitlines())) <= 58
            assert "\n    Source: " in narrow          # the indents kept at 60 columns
            await pilot.resize_terminal(80, 24)
            await settle(app, pilot)
            await pilot.press("pagedown", "escape")
            await settle(app, pilot)
            assert app.screen is screen
            await pilot.press("f1")
            await settle(app, pilot)
            assert isinstance(app.screen, HelpScreen)
            assert "Walk-through" in str(app.screen.query_one("#help-text", Static).render())
            await pilot.press("escape")
            await settle(app, pilot)
            assert screen.view is not None
            screen.view.intake_id = None           # an imported plan: nothing to walk
            await pilot.press("W")
            await settle(app, pilot)
            assert app.screen is screen
            assert any("no stored intake" in str(n.message) for n in app._notifications)

    run(go())
