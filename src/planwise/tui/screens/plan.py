"""The plan editor: the client's current information (trauma overview first), the plan's
version and state, and every objective with its SMART letters, dates and status.

Edits to a draft version are saved as they are made (the store edits a draft in
place). A version with any signature is never changed: edits to it are kept as a
draft (kind "plan", key "P<id>") until Ctrl+R saves them, with a reason, as the
next version.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header, Input, Label, Select, Static, TextArea, Tree
from textual.widgets.tree import TreeNode

from planwise.store.lint import Finding
from planwise.store.models import ObjectiveItem, PlanDoc
from planwise.tui import keymap
from planwise.tui.screens.client import info_text
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.services import today
from planwise.tui.widgets import plan_model as pm
from planwise.tui.widgets.plan_smart import failing, findings_text, smart_text

NodeData = tuple[str, str]  # (kind, key)


def objective_label(o: ObjectiveItem, findings: list[Finding], rejected: bool) -> Text:
    """'S !M A R T  open  due 2026-12-06  Write a personal safety plan...'"""
    out = Text()
    if rejected:
        out.append("(rejected) ")
    else:
        out.append_text(smart_text(failing(findings)))
        out.append("  ")
    out.append(f"{pm.status_label(o.status)}")
    out.append(f"  due {o.anticipated or '-'}")
    if o.actual:
        out.append(f" done {o.actual}")
    out.append("  " + o.text)
    return out


class PlanScreen(Screen[None]):
    HELP_AREA = "plan"
    BINDINGS = keymap.bindings("plan")
    HELP_TEXT = ("Every objective shows its SMART letters (a failing letter reads !M). "
                 "Edits to a draft are saved as you make them; a signed version is revised "
                 "into the next version with a reason (Ctrl+R).")
    DEFAULT_CSS = """
    PlanScreen #plan-head { height: auto; padding: 0 1; }
    PlanScreen #plan-info-box { height: auto; max-height: 4; padding: 0 1; }
    PlanScreen #plan-tree { height: 1fr; overflow-x: hidden; }
    PlanScreen #plan-detail-box { height: 5; padding: 0 1; border-top: solid $accent; }
    """

    def __init__(self, plan_id: int) -> None:
        super().__init__()
        self.plan_id = plan_id
        self.view: pm.PlanView | None = None
        self.doc: PlanDoc | None = None
        self.findings: dict[str, list[Finding]] = {}
        self.revising = False       # edits of a signed version, kept as a draft
        self.dirty = False          # revision edits not yet saved as a version
        self.stale_draft = False    # a draft for an older version, not applied
        self._saving = False
        self._pending = False
        self._tree_nodes: dict[str, TreeNode[NodeData]] = {}
        self._labels: dict[str, Text] = {}   # each node's label without the cursor mark
        self._marked: str | None = None      # the key whose label carries the mark

    @property
    def key(self) -> str:
        return f"P{self.plan_id}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading...", id="plan-head")
        with VerticalScroll(id="plan-info-box"):
            yield Static("", id="plan-info")
        tree: Tree[NodeData] = Tree("plan", id="plan-tree")
        tree.show_root = False
        yield tree
        with VerticalScroll(id="plan-detail-box"):
            yield Static("", id="plan-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "planwise"
        self.sub_title = f"Plan {self.key}"
        self.load()

    # -- loading -----------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="plan-load")
    def load(self) -> None:
        view = self.app.services.plan_view(self.plan_id)  # type: ignore[attr-defined]
        self.app.call_from_thread(self.show, view)

    def show(self, view: pm.PlanView) -> None:
        self.view = view
        self.doc = view.doc
        self.revising = self.dirty = self.stale_draft = False
        draft = view.draft
        if draft is not None:
            when = pm.when_text(str(draft.get("_updated_at", "")))
            if draft.get("base_version") == view.version and "doc" in draft:
                doc = PlanDoc.model_validate(draft["doc"])
                doc.row_version = view.row_version
                self.doc = doc
                self.revising = self.dirty = True
                self.notify(f"Recovered unsaved plan edits from {when}.", timeout=8)
                if view.state == "draft":  # a draft version: save them at once
                    self.dirty = self.revising = False
                    self._queue_save()
            else:
                self.stale_draft = True
                self.notify(f"Unsaved plan edits from {when} were made on version "
                            f"{draft.get('base_version')}, which has changed since; they were "
                            "not applied (Ctrl+D discards them).", severity="warning",
                            timeout=10)
        self.sub_title = f"Plan {self.key} - C{view.client_id} {view.info.name}"
        self.query_one("#plan-info", Static).update(info_text(view.info))
        self.relint()
        self.build_tree()
        self.show_head()

    def show_head(self) -> None:
        v = self.view
        if v is None or self.doc is None:
            return
        doc = self.doc
        state = pm.STATE_SHOWN.get(v.state, v.state)
        signed = ", ".join(f"{s['role']}{' (forced)' if s['forced'] else ''}"
                           for s in v.signatures)
        if v.session_limit is None:
            sessions = f"{v.sessions_used} session(s), no payer limit recorded"
        else:
            left = v.session_limit - v.sessions_used
            sessions = (f"{v.sessions_used} of {v.session_limit} sessions used, {left} left"
                        if left >= 0 else
                        f"{v.sessions_used} of {v.session_limit} sessions, {-left} over")
        failing_n = sum(1 for f in self.findings.values() if f)
        lines = [
            f"[b]{self.key} v{v.version}[/b] {state}"
            + (f" ({signed})" if signed else "")
            + f" | risk [b]{doc.risk_level}[/b] | start {doc.start_date} | "
              f"review {doc.review_date or '-'}",
            f"{sessions} | SMART: "
            + (f"{failing_n} objective(s) failing" if failing_n else "all pass")
            + (" | supervisor required" if v.requires_supervisor else ""),
        ]
        if self.revising:
            lines.append(f"[b]REVISING[/b] v{v.version} -> v{v.version + 1}: "
                         + ("unsaved edits kept as a draft; Ctrl+R saves with a reason"
                            if self.dirty else "edit, then Ctrl+R saves with a reason"))
        self.query_one("#plan-head", Static).update("\n".join(lines))

    def relint(self) -> None:
        if self.doc is not None and self.view is not None:
            self.findings = pm.findings_by_key(self.doc, self.view.min_weeks,
                                               self.view.instruments)

    def build_tree(self) -> None:
        doc = self.doc
        if doc is None:
            return
        tree: Tree[NodeData] = self.query_one("#plan-tree", Tree)
        selected = self.selected()
        tree.clear()
        self._tree_nodes, self._labels, self._marked = {}, {}, None
        for p in doc.problems:
            label = Text(f"{p.condition.replace('_', ' ')} ({p.severity})")
            if pm.is_rejected(p):
                label.append(" (rejected)")
            pnode = tree.root.add(label, data=("problem", p.key or ""), expand=True)
            self._tree_nodes[p.key or ""], self._labels[p.key or ""] = pnode, label
            for g in p.goals:
                glabel = Text("Goal: " + g.text)
                if pm.is_rejected(g):
                    glabel.append(" (rejected)")
                gnode = pnode.add(glabel, data=("goal", g.key or ""), expand=True)
                self._tree_nodes[g.key or ""], self._labels[g.key or ""] = gnode, glabel
                for o in g.objectives:
                    olabel = self._objective_label(p, g, o)
                    onode = gnode.add_leaf(olabel, data=("objective", o.key or ""))
                    self._tree_nodes[o.key or ""], self._labels[o.key or ""] = onode, olabel
        target = self._tree_nodes.get(selected[1]) if selected else None
        if target is None:
            first = next((k for k, n in self._tree_nodes.items()
                          if n.data and n.data[0] == "objective"), None)
            target = self._tree_nodes.get(first) if first else None
        tree.focus()
        if target is not None:
            tree.call_after_refresh(self._move_to, target)
        self.show_detail()

    def _move_to(self, node: TreeNode[NodeData]) -> None:
        self.query_one("#plan-tree", Tree).move_cursor(node)
        self.show_detail()

    def _objective_label(self, p: Any, g: Any, o: ObjectiveItem) -> Text:
        return objective_label(o, self.findings.get(o.key or "", []), pm.is_rejected(p, g, o))

    def refresh_labels(self) -> None:
        if self.doc is None:
            return
        for p, g, o in pm.objectives(self.doc):
            node = self._tree_nodes.get(o.key or "")
            if node is not None:
                self._labels[o.key or ""] = self._objective_label(p, g, o)
                node.set_label(self._labels[o.key or ""])
        self._marked = None
        self.show_detail()
        self.show_head()

    def selected(self) -> NodeData | None:
        try:
            node = self.query_one("#plan-tree", Tree).cursor_node
        except Exception:
            return None
        return node.data if node is not None else None

    @on(Tree.NodeHighlighted, "#plan-tree")
    def highlighted(self) -> None:
        self.show_detail()

    def mark_cursor(self) -> None:
        """'> ' before the label under the cursor: the cursor reads without colour."""
        sel = self.selected()
        key = sel[1] if sel else None
        if key == self._marked:
            return
        if self._marked in self._tree_nodes:
            self._tree_nodes[self._marked].set_label(self._labels[self._marked])
        if key in self._tree_nodes:
            self._tree_nodes[key].set_label(Text("> ") + self._labels[key])
        self._marked = key

    def show_detail(self) -> None:
        self.mark_cursor()
        sel = self.selected()
        detail = self.query_one("#plan-detail", Static)
        if sel is None or self.doc is None:
            detail.update("")
            return
        kind, key = sel
        out = Text()
        if kind == "objective":
            found = pm.find_objective(self.doc, key)
            if found is None:
                return
            p, g, o = found
            out.append(o.text, style="bold")
            out.append(f"  [{key}]\n")
            for t in o.client_tasks:
                out.append(f"Client task: {t}\n")
            out.append(f"Measure: {o.measure}\n")
            out.append(f"Anticipated {o.anticipated or '-'}; actual {o.actual or '-'}; "
                       f"status {pm.status_label(o.status)}\n")
            if pm.is_rejected(p, g, o):
                out.append("Rejected: not checked and not worked on.")
            else:
                out.append_text(findings_text(self.findings.get(key, [])))
        else:
            for p in self.doc.problems:
                if kind == "problem" and p.key == key:
                    out.append(f"Problem: {p.condition.replace('_', ' ')}, {p.severity}\n",
                               style="bold")
                    out.append(f"{len(p.goals)} goal(s). w shows why it was proposed.")
                for g in p.goals:
                    if kind == "goal" and g.key == key:
                        out.append(f"Goal: {g.text}\n", style="bold")
                        out.append("Therapist interventions: "
                                   + "; ".join(i.text for i in g.interventions))
        detail.update(out)

    # -- editing -----------------------------------------------------------------------
    def _editable(self) -> bool:
        """May the plan be edited now? Starts a revision of a signed version."""
        v = self.view
        if v is None or self.doc is None:
            return False
        if self._saving and v.state != "draft":
            self.notify("Saving... try again in a moment.")
            return False
        if self.stale_draft:
            self.notify("Older unsaved edits exist for this plan: Ctrl+D discards them first.",
                        severity="warning")
            return False
        if v.state != "draft" and not self.revising:
            self.revising = True
            self.notify(f"Version {v.version} is {pm.STATE_SHOWN.get(v.state, v.state)} and "
                        f"cannot change: your edits become version {v.version + 1} when you "
                        "save them with a reason (Ctrl+R).", timeout=8)
            self.show_head()
        return True

    def _selected_objective(self) -> tuple[Any, Any, ObjectiveItem] | None:
        sel = self.selected()
        if sel is None or sel[0] != "objective" or self.doc is None:
            self.notify("Select an objective first (arrow keys).")
            return None
        return pm.find_objective(self.doc, sel[1])

    def action_edit(self) -> None:
        found = self._selected_objective()
        if found is None or not self._editable():
            return
        p, g, o = found
        assert self.doc is not None and self.view is not None

        def done(new: ObjectiveItem | None) -> None:
            if new is not None and new != o:
                self.apply(new)

        self.app.push_screen(ObjectiveDialog(self.doc, p, g, o, self.view.min_weeks,
                                             self.view.instruments), done)

    def action_cycle_status(self) -> None:
        found = self._selected_objective()
        if found is None or not self._editable():
            return
        _p, _g, o = found
        status = pm.next_status(o.status)
        update: dict[str, Any] = {"status": status}
        if status == "met" and o.actual is None:
            update["actual"] = today()
            self.notify(f"Met: actual date set to {today()} (e to change it).")
        self.apply(o.model_copy(update=update))

    def apply(self, new: ObjectiveItem) -> None:
        """Put an edited objective in the plan and save it (draft) or keep it (revision)."""
        assert self.doc is not None and self.view is not None
        pm.replace_objective(self.doc, new)
        self.relint()
        if self.view.state == "draft" and not self.revising:
            self._queue_save()
        else:
            self.dirty = True
            self.keep(self.doc.model_dump(mode="json", by_alias=True), time.monotonic_ns())
        self.refresh_labels()

    @work(thread=True, exit_on_error=False, group="plan-draft")
    def keep(self, doc: dict[str, Any], seq: int) -> None:
        assert self.view is not None
        payload = {"doc": doc, "base_version": self.view.version}
        self.app.services.keep_draft("plan", self.key, payload, seq,  # type: ignore[attr-defined]
                                     self.view.client_id)

    def _queue_save(self) -> None:
        """Save the draft version; one save at a time, the newest edits last."""
        if self._saving:
            self._pending = True
            return
        assert self.doc is not None
        self._saving = True
        self.save_draft_version(self.doc.model_copy(deep=True))

    @work(thread=True, exit_on_error=False, group="plan-save")
    def save_draft_version(self, doc: PlanDoc) -> None:
        try:
            result = self.app.services.plan_save(self.plan_id, doc)  # type: ignore[attr-defined]
        except Exception:
            self.app.call_from_thread(self._save_failed, doc)
            raise
        self.app.call_from_thread(self._saved, result)

    def _saved(self, result: dict[str, Any]) -> None:
        self._saving = False
        if self.doc is not None:
            self.doc.row_version = result["row_version"]
        if self.view is not None:
            self.view.row_version = result["row_version"]
        if self._pending:
            self._pending = False
            self._queue_save()

    def _save_failed(self, doc: PlanDoc) -> None:
        """Not saved (e.g. signed elsewhere meanwhile): keep the edits as a draft."""
        self._saving = self._pending = False
        self.dirty = self.revising = True
        if self.doc is not None:
            self.keep(self.doc.model_dump(mode="json", by_alias=True), time.monotonic_ns())
        self.show_head()

    # -- revision ----------------------------------------------------------------------
    def action_revise(self) -> None:
        v = self.view
        if v is None:
            return
        if v.state == "draft" and not self.dirty:
            self.notify(f"Version {v.version} is a draft: edits are saved as you make them; "
                        "no revision is needed until it is signed.")
            return
        if not self.dirty:
            self._editable()
            return

        def reason_given(reason: str | None) -> None:
            if reason and self.doc is not None:
                self.save_revision(self.doc.model_copy(deep=True), reason)

        self.app.push_screen(TextPrompt(
            f"Reason for version {v.version + 1}", placeholder="Why the plan changes",
            note=f"Version {v.version} stays as it was signed; your edits become version "
                 f"{v.version + 1}. The reason is kept with it."), reason_given)

    @work(thread=True, exit_on_error=False, group="plan-save")
    def save_revision(self, doc: PlanDoc, reason: str) -> None:
        result = self.app.services.plan_save(self.plan_id, doc, reason)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._revised, result)

    def _revised(self, result: dict[str, Any]) -> None:
        self.revising = self.dirty = False
        if result["changed"]:
            self.notify(f"Saved as version {result['version']} (a draft until signed).")
        else:
            self.notify("Nothing had changed: no new version.")
        self.load()

    def action_discard(self) -> None:
        if not (self.dirty or self.stale_draft):
            self.notify("No unsaved edits to discard.")
            return
        self.discard()

    @work(thread=True, exit_on_error=False, group="plan-draft")
    def discard(self) -> None:
        self.app.services.drop_draft("plan", self.key)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._discarded)

    def _discarded(self) -> None:
        self.notify("Unsaved plan edits discarded.")
        self.load()

    # -- sign, history, export, why ----------------------------------------------------
    def action_sign(self) -> None:
        from planwise.tui.screens.sign import SignDialog

        v = self.view
        if v is None or self.doc is None:
            return
        if self.dirty or self.stale_draft:
            self.notify("Save the revision first (Ctrl+R) or discard it (Ctrl+D): a signature "
                        "is for a stored version.", severity="warning")
            return
        if self._saving or self._pending:
            self.notify("Saving... try again in a moment.")
            return
        findings = [f for fs in self.findings.values() for f in fs]

        def signed(result: dict[str, Any] | None) -> None:
            if result:
                self.sign(result["role"], result["name"], result["force"])

        self.app.push_screen(SignDialog(v, findings), signed)

    @work(thread=True, exit_on_error=False, group="plan-save")
    def sign(self, role: str, name: str, force: bool) -> None:
        version, state = self.app.services.plan_sign(  # type: ignore[attr-defined]
            self.plan_id, role, name, force)
        self.app.call_from_thread(self._signed, role, version, state, force)

    def _signed(self, role: str, version: int, state: str, force: bool) -> None:
        forced = " (forced: recorded as signed although the SMART check failed)" if force \
            else ""
        if state == "signed":
            self.notify(f"Signed by the {role}{forced}. Version {version} is now signed and "
                        f"immutable; changes make version {version + 1}.", timeout=8)
        else:
            self.notify(f"Signed by the {role}{forced}. Version {version} is partly signed.",
                        timeout=8)
        self.load()

    def action_review(self) -> None:
        if self.revising or self.dirty:
            self.notify("Save the revision (Ctrl+R) or discard it (Ctrl+D) before a review.",
                        severity="warning")
            return

        def reviewed(changed: bool | None) -> None:
            if changed:
                self.load()  # the accepted changes made a new version

        self.app.review_plan(self.plan_id, reviewed)  # type: ignore[attr-defined]

    def action_history(self) -> None:
        from planwise.tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(self.plan_id))

    def action_export(self) -> None:
        if self.dirty:
            self.notify("Exporting the stored version; your unsaved revision is not in it.",
                        severity="warning")
        self.app.export_plan(self.plan_id)  # type: ignore[attr-defined]

    def action_why(self) -> None:
        """The Why screen of the item (the engine re-run on the plan's intake, in a worker);
        the rules' own words and sources when that is not possible."""
        sel = self.selected()
        if sel is None or self.doc is None or self.view is None:
            return
        because: list[str] = []
        title = sel[1]
        ctx: dict[str, str] = {}
        for p in self.doc.problems:
            if p.key == sel[1]:
                because, title = p.because, f"{p.condition} ({p.severity})"
                ctx = {"kind": "problem", "condition": p.condition}
            for g in p.goals:
                if g.key == sel[1]:
                    because, title = g.because, g.text
                    ctx = {"kind": "goal", "condition": p.condition, "goal": g.key or ""}
                for o in g.objectives:
                    if o.key == sel[1]:
                        because, title = o.because, o.text
                        ctx = {"kind": "objective", "condition": p.condition,
                               "goal": g.key or ""}
        if not because:
            self.notify("This item was added by hand: no rule proposed it.")
            return
        if self.view.intake_id is None:
            self.app.push_screen(RulesDialog(title, because))
            return
        self.explain(title, because, ctx, self.view.intake_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan-why")
    def explain(self, title: str, because: list[str], ctx: dict[str, str],
                intake_id: int) -> None:
        services = self.app.services  # type: ignore[attr-defined]
        evaluation: Any = None
        try:
            _proposal, evaluation, _scored = services.evaluate(
                services.stored_intake_data(intake_id))
        except Exception:  # the rules' own words are still worth showing
            evaluation = None
        self.app.call_from_thread(self._show_why, title, because, ctx, evaluation)

    def _show_why(self, title: str, because: list[str], ctx: dict[str, str],
                  evaluation: Any) -> None:
        if evaluation is not None:
            try:
                from planwise.tui.screens.why import WhyScreen

                kb = self.app.services.kb  # type: ignore[attr-defined]
                self.app.push_screen(WhyScreen(title, because, ctx, evaluation, kb))
                return
            except Exception:
                pass
        self.app.push_screen(RulesDialog(title, because))

    def action_back(self) -> None:
        if self.dirty:
            self.notify("Your revision edits are kept as a draft; they will be here next time.")
        self.app.pop_screen()


class RulesDialog(ModalScreen[None]):
    """Why an item is in the plan: the rules that proposed it, what they say, their source."""

    HELP_AREA = "dialog"
    BINDINGS = keymap.bindings("dialog")

    def __init__(self, title: str, because: list[str]) -> None:
        super().__init__()
        self.item_title = title
        self.because = because

    def compose(self) -> ComposeResult:
        kb = self.app.services.kb  # type: ignore[attr-defined]
        out = Text()
        for i, rid in enumerate(self.because):
            if i:
                out.append("\n\n")
            out.append(rid, style="bold")
            try:
                entry = kb.rule(rid).entry
                out.append(f"\n{entry.says}\nSource: {entry.source}")
            except Exception:
                out.append("\n(not in the loaded knowledge)")
        with Vertical(classes="plan-dialog", id="why-dialog"):
            yield Label("Why: " + self.item_title, classes="dialog-title", markup=False)
            with VerticalScroll(id="why-scroll"):
                yield Static(out)
            yield Static("Esc closes", classes="dialog-keys")

    DEFAULT_CSS = """
    RulesDialog .plan-dialog { height: auto; border: round $accent; background: $surface;
        padding: 0 1; }
    RulesDialog #why-dialog { width: 76; max-height: 22; }
    RulesDialog #why-scroll { height: auto; max-height: 16; }
    """

    def action_cancel(self) -> None:
        self.dismiss()


def _date(text: str) -> dt.date | None:
    text = text.strip()
    return dt.date.fromisoformat(text) if text else None


class ObjectiveDialog(ModalScreen[ObjectiveItem | None]):
    """Edit one objective; its SMART letters update as you type."""

    HELP_AREA = "objective"
    BINDINGS = keymap.bindings("objective")
    DEFAULT_CSS = """
    ObjectiveDialog .plan-dialog { height: auto; border: round $accent; background: $surface;
        padding: 0 1; }
    ObjectiveDialog #objective-dialog { width: 78; }
    ObjectiveDialog .field { height: auto; }
    ObjectiveDialog .field Label { width: 13; }
    ObjectiveDialog .field Input { width: 1fr; }
    ObjectiveDialog #obj-tasks { height: 3; width: 1fr; }
    ObjectiveDialog #obj-anticipated, ObjectiveDialog #obj-actual { width: 12; }
    ObjectiveDialog #obj-actual-label { width: 9; }
    ObjectiveDialog #obj-status { width: 24; }
    ObjectiveDialog #objective-smart { height: auto; max-height: 4; }
    """

    def __init__(self, doc: PlanDoc, problem: Any, goal: Any, objective: ObjectiveItem,
                 min_weeks: dict[str, int], instruments: list[str]) -> None:
        super().__init__()
        self.doc = doc
        self.problem = problem
        self.goal = goal
        self.objective = objective
        self.min_weeks = min_weeks
        self.instruments = instruments

    def compose(self) -> ComposeResult:
        o = self.objective
        with Vertical(classes="plan-dialog", id="objective-dialog"):
            yield Label(f"Objective {o.key}", classes="dialog-title", markup=False)
            yield Static("", id="objective-smart")
            with Horizontal(classes="field"):
                yield Label("Objective")
                yield Input(o.text, id="obj-text", compact=True)
            with Horizontal(classes="field"):
                yield Label("Client tasks")
                yield TextArea("\n".join(o.client_tasks), id="obj-tasks", compact=True,
                               placeholder="One task per line: what the client will do")
            with Horizontal(classes="field"):
                yield Label("Measure")
                yield Input(o.measure, id="obj-measure", compact=True)
            with Horizontal(classes="field"):
                yield Label("Anticipated")
                yield Input(str(o.anticipated or ""), id="obj-anticipated", compact=True,
                            placeholder="YYYY-MM-DD")
                yield Label("  Actual", id="obj-actual-label")
                yield Input(str(o.actual or ""), id="obj-actual", compact=True,
                            placeholder="YYYY-MM-DD")
            with Horizontal(classes="field"):
                yield Label("Status")
                yield Select([(pm.status_label(s), s) for s in pm.STATUSES], value=o.status,
                             allow_blank=False, id="obj-status", compact=True)
            yield Static("Tab next field | Ctrl+S keep | Esc cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.update_smart()
        self.query_one("#obj-text", Input).focus()

    def _fields(self) -> dict[str, Any]:
        tasks = [t.strip() for t in self.query_one("#obj-tasks", TextArea).text.splitlines()
                 if t.strip()]
        status = self.query_one("#obj-status", Select).value
        return {"text": self.query_one("#obj-text", Input).value.strip(),
                "client_tasks": tasks,
                "measure": self.query_one("#obj-measure", Input).value.strip(),
                "anticipated": self.query_one("#obj-anticipated", Input).value,
                "actual": self.query_one("#obj-actual", Input).value,
                "status": status if isinstance(status, str) else self.objective.status}

    def update_smart(self) -> None:
        f = self._fields()
        notes: list[str] = []
        dates: dict[str, dt.date | None] = {}
        for name in ("anticipated", "actual"):
            try:
                dates[name] = _date(f[name])
            except ValueError:
                dates[name] = None
                notes.append(f"the {name} date is not a date like 2026-12-31")
        candidate = self.objective.model_copy(update={**f, **dates})
        found = pm.lint_one(self.doc, self.problem, self.goal, candidate, self.min_weeks,
                            self.instruments)
        out = Text("SMART ")
        out.append_text(smart_text(failing(found)))
        if found:
            out.append("\n")
            out.append_text(findings_text(found))
        for n in notes:
            out.append("\n" + n, style="bold")
        self.query_one("#objective-smart", Static).update(out)

    @on(Input.Changed)
    @on(TextArea.Changed)
    def changed(self) -> None:
        self.update_smart()

    @on(Select.Changed, "#obj-status")
    def status_changed(self, event: Select.Changed) -> None:
        actual = self.query_one("#obj-actual", Input)
        if event.value == "met" and not actual.value.strip():
            actual.value = str(today())
        self.update_smart()

    @on(Input.Submitted)
    def next_field(self) -> None:
        self.focus_next()

    def action_save(self) -> None:
        f = self._fields()
        try:
            f["anticipated"] = _date(f["anticipated"])
            f["actual"] = _date(f["actual"])
        except ValueError:
            self.notify("A date must look like 2026-12-31.", severity="error")
            return
        if not f["text"] or not f["measure"] or not f["client_tasks"]:
            self.notify("An objective needs its text, at least one client task and a measure.",
                        severity="error")
            return
        try:
            new = ObjectiveItem.model_validate({**self.objective.model_dump(), **f})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            self.notify(f"{where}: {first['msg']}", severity="error")
            return
        self.dismiss(new)

    def action_cancel(self) -> None:
        self.dismiss(None)
