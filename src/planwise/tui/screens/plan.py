"""The plan editor: the client's current information (trauma overview first), the plan's
version and state, problems in priority order (a screen-only one to confirm or reject
with c), goals with their phase and deferral, and every objective with its SMART
letters, dates and status.

Saving is PlanSaving's job (screens/plan_saving.py): a draft version is saved as it is
edited; a signed version is revised into the next version with a reason (Ctrl+R).
Labels and details: widgets/plan_labels.py; dialogs: widgets/plan_dialogs.py.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static, Tree
from textual.widgets.tree import TreeNode

from planwise.store.lint import Finding
from planwise.store.models import ObjectiveItem, PlanDoc
from planwise.text import printable
from planwise.tui import keymap
from planwise.tui.screens.client import info_text
from planwise.tui.screens.plan_item_actions import PlanItemActions
from planwise.tui.services import today
from planwise.tui.widgets import plan_items as items
from planwise.tui.widgets import plan_labels as labels
from planwise.tui.widgets import plan_model as pm
from planwise.tui.widgets.plan_dialogs import ObjectiveEditing, RulesDialog
from planwise.tui.widgets.proposal_tree import instrument_name

NodeData = tuple[str, str]  # (kind, key)


class PlanScreen(ObjectiveEditing, PlanItemActions):
    HELP_AREA = "plan"
    BINDINGS = keymap.bindings("plan")
    HELP_TEXT = ("Problems are numbered in the order the plan addresses them; a problem "
                 "found on a screen alone reads 'screen only - confirm (c)' until c confirms "
                 "or rejects it, and the plan cannot be signed before. Goals show their "
                 "phase, and 'deferred' when they wait (the detail says until when). "
                 "Every objective shows its SMART letters (a failing letter reads !M, its "
                 "reason follows). Interventions (Int:), the treatment block, referrals and "
                 "assessments: e edits, - rejects with a reason, a accepts again, + adds. "
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
        self.sub_title = printable(f"Plan {self.key} - C{view.client_id} {view.info.name}")
        self.query_one("#plan-info", Static).update(info_text(view.info))
        self.relint()
        self.build_tree()
        self.show_head()
        self.reopen_objective_dialog()  # one left open by a crash or a hangup
        self.reopen_dialog()

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
        failing_n = sum(1 for fs in self.findings.values()
                        if any(not f.blocking for f in fs))
        screens = len(labels.to_confirm(doc))
        lines = [
            f"[b]{self.key} v{v.version}[/b] {state}"
            + (f" ({signed})" if signed else "")
            + f" | risk [b]{doc.risk_level}[/b] | start {doc.start_date} | "
              f"review {doc.review_date or '-'}",
            f"{sessions} | SMART: "
            + (f"{failing_n} objective(s) failing" if failing_n else "all pass")
            # Until the supervisor has co-signed (a trainee's plan); then the top line's
            # signatures say it.
            + (" | supervisor required" if v.requires_supervisor and "supervisor" not in
               {s["role"] for s in v.signatures} else ""),
        ]
        if screens:
            lines.append(f"[b]? {screens} screen-only problem{'s' if screens > 1 else ''} to "
                         "confirm or reject (c) before signing[/b]")
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
        if doc.warnings:  # first and folded: one line that names them; Enter unfolds
            label = labels.warnings_label(doc.warnings)
            wnode = tree.root.add(label, data=("warnings", labels.WARNINGS), expand=False)
            self._tree_nodes[labels.WARNINGS], self._labels[labels.WARNINGS] = wnode, label
            for w in doc.warnings:
                wlabel = labels.warning_label(w)
                self._tree_nodes[w.key or ""] = wnode.add_leaf(wlabel,
                                                               data=("warning", w.key or ""))
                self._labels[w.key or ""] = wlabel
        for p in doc.problems:
            label = labels.problem_label(p)
            pnode = tree.root.add(label, data=("problem", p.key or ""), expand=True)
            self._tree_nodes[p.key or ""], self._labels[p.key or ""] = pnode, label
            for g in p.goals:
                glabel = labels.goal_label(g)
                gnode = pnode.add(glabel, data=("goal", g.key or ""), expand=True)
                self._tree_nodes[g.key or ""], self._labels[g.key or ""] = gnode, glabel
                for o in g.objectives:
                    olabel = self._objective_label(p, g, o)
                    onode = gnode.add_leaf(olabel, data=("objective", o.key or ""))
                    self._tree_nodes[o.key or ""], self._labels[o.key or ""] = onode, olabel
                for i in g.interventions:
                    self._leaf(gnode, "intervention", i.key or "",
                               labels.intervention_label(i, pm.is_rejected(p, g)))
        self._side_nodes(tree, doc)
        target = self._tree_nodes.get(selected[1]) if selected else None
        if target is None:
            first = next((k for k, n in self._tree_nodes.items()
                          if n.data and n.data[0] == "objective"), None)
            target = self._tree_nodes.get(first) if first else None
        tree.focus()
        if target is not None:
            tree.call_after_refresh(self._move_to, target)
        self.show_detail()

    def _leaf(self, parent: TreeNode[NodeData], kind: str, key: str, label: Text) -> None:
        self._tree_nodes[key] = parent.add_leaf(label, data=(kind, key))
        self._labels[key] = label

    def _side_nodes(self, tree: Tree[NodeData], doc: PlanDoc) -> None:
        """After the problems: the treatment block, referrals, assessments."""
        kb = self.app.services.kb  # type: ignore[attr-defined]
        t = doc.treatment
        self._leaf(tree.root, "treatment" if t else "no_treatment",
                   (t.key or "") if t else items.NO_TREATMENT, labels.treatment_label(t, kb.label))
        label = labels.section_label("Referrals", doc.referrals)
        node = tree.root.add(label, data=("referrals", items.REFERRALS), expand=True)
        self._tree_nodes[items.REFERRALS], self._labels[items.REFERRALS] = node, label
        for r in doc.referrals:
            self._leaf(node, "referral", r.key or "", labels.referral_label(r, kb.label))
        label = labels.section_label("Assessments", doc.assessments)
        node = tree.root.add(label, data=("assessments", items.ASSESSMENTS), expand=True)
        self._tree_nodes[items.ASSESSMENTS], self._labels[items.ASSESSMENTS] = node, label
        for a in doc.assessments:
            self._leaf(node, "assessment", a.key or "",
                       labels.assessment_label(a, lambda i: instrument_name(kb, i)))

    def move_to_key(self, key: str) -> None:
        node = self._tree_nodes.get(key)
        if node is not None:
            self._move_to(node)

    def _move_to(self, node: TreeNode[NodeData]) -> None:
        self.query_one("#plan-tree", Tree).move_cursor(node)
        self.show_detail()

    def _objective_label(self, p: Any, g: Any, o: ObjectiveItem) -> Text:
        return labels.objective_label(o, self.findings.get(o.key or "", []),
                                      pm.is_rejected(p, g, o))

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
            out = labels.objective_detail(*found, self.findings.get(key, []))
        kb = self.app.services.kb  # type: ignore[attr-defined]
        if kind in ("warning", "warnings"):
            out = labels.warnings_detail(self.doc.warnings, key, kb.label)
        decided = items.find(self.doc, key) if kind in items.DECIDED else None
        if decided is not None:
            out = labels.item_detail(decided[0], decided[1], kb.label, decided[2])
        elif kind in labels.SECTION_HINTS:
            out = Text(labels.SECTION_HINTS[kind])
        for p in self.doc.problems:
            if kind == "problem" and p.key == key:
                out = labels.problem_detail(p)
            for g in p.goals:
                if kind == "goal" and g.key == key:
                    out = labels.goal_detail(g)
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
        sel = self.selected()
        if sel is not None and sel[0] in items.DECIDED:
            self.edit_item(*sel)
            return
        found = self._selected_objective()
        if found is None or not self._editable():
            return
        self.edit_objective(*found)  # what is typed there is kept as a draft

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
        assert self.doc is not None
        pm.replace_objective(self.doc, new)
        self._commit()
        self.refresh_labels()

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
        waiting = labels.to_confirm(self.doc)
        if waiting:
            self.notify(f"Cannot sign yet: {', '.join(map(labels.condition_name, waiting))} "
                        "rests on a screen alone. Select it and press c to confirm or reject "
                        "it.", severity="error", timeout=8)
            return
        findings = [f for fs in self.findings.values() for f in fs if not f.blocking]

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
        if sel[0] == "warnings":
            self.notify("Select one of the warnings (Enter unfolds them), then w.")
            return
        title, because, ctx = pm.why_target(self.doc, sel[1])
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

    def action_walkthrough(self) -> None:
        """W: `planwise explain` for the plan's intake, on its own screen."""
        from planwise.tui.screens.walkthrough import WalkthroughScreen

        v = self.view
        if v is None:
            return
        if v.intake_id is None:
            self.notify("This plan has no stored intake (it was imported): there is no "
                        "walk-through; w explains an item from the rules' own words.")
            return
        self.app.push_screen(WalkthroughScreen(self.plan_id, v.intake_id))

    def action_back(self) -> None:
        if self.dirty:
            self.notify("Your revision edits are kept as a draft; they will be here next time.")
        self.app.pop_screen()
