"""The proposal under review, as data: items keyed as the stored plan keys them,
the therapist's decisions on them (reject with a reason, edit, confirm a
screen-only problem), what-if marks, and how the decisions become a plan
document. Pure Python (no Textual, no SQLite), so it is easy to test and
safe to use from workers.

Keys: every proposed item is keyed exactly as `planwise.store.plans.draft`
keys it (the item's id, `problem.<condition>` for a problem; `#2` for a
repeat), because the keys come from `doc_from_proposal` itself. Decisions are
kept by key, so a re-evaluation (what-if) keeps the decision on every item that
is still proposed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from planwise.store.models import (
    GoalItem,
    InterventionItem,
    ObjectiveItem,
    PlanDoc,
    ProblemItem,
)

KINDS = ("problem", "goal", "objective", "intervention")
SEVERITIES = ("mild", "moderate", "severe")
# Which fields the edit dialog offers, per kind, in order.
EDIT_FIELDS: dict[str, tuple[str, ...]] = {
    "problem": ("severity",),
    "goal": ("text",),
    "objective": ("text", "client_action", "measure", "target_weeks"),
    "intervention": ("text",),
}
# Adding an intervention also asks for its modality.
ADD_FIELDS: dict[str, tuple[str, ...]] = {**EDIT_FIELDS, "intervention": ("text", "modality")}
FIELD_LABELS = {"text": "Text", "client_action": "Client action (observable)",
                "measure": "Measure (a number or an instrument)",
                "target_weeks": "Target (weeks from the start)",
                "severity": "Severity (mild, moderate or severe)",
                "modality": "Modality (an id, e.g. cbt)"}
# What `+` adds under a selected item of each kind.
ADD_UNDER = {"problem": "goal", "goal": "objective"}


@dataclass
class Item:
    key: str
    kind: str                      # problem, goal, objective, intervention
    parent: str | None
    fields: dict[str, Any]         # the editable fields, as proposed (or as added)
    because: list[str] = field(default_factory=list)
    condition: str = ""            # the problem's condition (for explanations)
    goal: str = ""                 # the goal's knowledge id (for explanations)
    modality: str = ""             # an intervention's modality
    added: bool = False
    # Whole-plan reasoning (empty in proposals and drafts made before it).
    basis: str = ""                # a problem's: clinician | screen_and_concern | screen_only
    priority: int | None = None    # a problem's rank, 1 first
    phase: str = ""                # a goal's: stabilise | treat | maintain
    deferred: dict[str, Any] | None = None   # a goal's {until, because} when it waits

    @property
    def screen_only(self) -> bool:
        return self.kind == "problem" and self.basis == "screen_only"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "parent": self.parent,
                "fields": self.fields, "because": self.because, "condition": self.condition,
                "goal": self.goal, "modality": self.modality, "added": self.added,
                "basis": self.basis, "priority": self.priority, "phase": self.phase,
                "deferred": self.deferred}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Item:
        return cls(**d)


def items_from_proposal(proposal: Any, start: dt.date) -> list[Item]:
    """Problems, goals, objectives and interventions in plan order, keyed as the plan."""
    from planwise.store.plans import doc_from_proposal

    doc = doc_from_proposal(proposal, 0, 0, start)
    out: list[Item] = []
    for p, pd in zip(proposal.problems, doc.problems, strict=True):
        assert pd.key
        out.append(Item(pd.key, "problem", None, {"severity": p.severity}, list(p.because),
                        condition=p.condition, basis=p.basis or "", priority=p.priority))
        for g, gd in zip(p.goals, pd.goals, strict=True):
            assert gd.key
            out.append(Item(gd.key, "goal", pd.key, {"text": g.text}, list(g.because),
                            condition=p.condition, goal=g.id, phase=g.phase or "",
                            deferred=None if g.deferred is None
                            else g.deferred.model_dump(mode="json")))
            for o, od in zip(g.objectives, gd.objectives, strict=True):
                assert od.key
                out.append(Item(od.key, "objective", gd.key, {
                    "text": o.text, "client_action": o.client_action, "measure": o.measure,
                    "target_weeks": o.target_weeks}, list(o.because), condition=p.condition,
                    goal=g.id))
            for i, idoc in zip(g.interventions, gd.interventions, strict=True):
                assert idoc.key
                out.append(Item(idoc.key, "intervention", gd.key, {"text": i.text},
                                list(i.because), condition=p.condition, goal=g.id,
                                modality=i.modality))
    return out


@dataclass
class Review:
    """Everything the therapist decided, plus the what-if marks. JSON round trip."""

    items: list[Item] = field(default_factory=list)          # the current proposal
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> reject/edit
    added: list[Item] = field(default_factory=list)
    appeared: set[str] = field(default_factory=set)          # new since the last evaluation
    gone: list[Item] = field(default_factory=list)           # no longer proposed
    was: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> fields before
    evaluated: bool = False
    _n: int = 0

    # -- lookups ---------------------------------------------------------------------
    def all_items(self) -> list[Item]:
        return [*self.items, *self.added]

    def get(self, key: str) -> Item | None:
        for it in (*self.items, *self.added, *self.gone):
            if it.key == key:
                return it
        return None

    def children(self, key: str | None) -> list[Item]:
        return [it for it in self.all_items() if it.parent == key]

    def is_gone(self, key: str) -> bool:
        return any(it.key == key for it in self.gone)

    def current(self, key: str) -> dict[str, Any]:
        """The item's fields with the therapist's edit applied."""
        it = self.get(key)
        if it is None:
            return {}
        return {**it.fields, **self.decisions.get(key, {}).get("edit", {})}

    def reason(self, key: str) -> str | None:
        r = self.decisions.get(key, {}).get("reject")
        return r if isinstance(r, str) else None

    def rejected_ancestor(self, key: str) -> Item | None:
        it = self.get(key)
        while it is not None and it.parent is not None:
            parent = self.get(it.parent)
            if parent is None:
                return None
            if self.reason(parent.key):
                return parent
            it = parent
        return None

    def confirmed(self, key: str) -> bool:
        return bool(self.decisions.get(key, {}).get("confirm"))

    def to_confirm(self, key: str) -> bool:
        """A screen-only problem the therapist has neither confirmed nor rejected."""
        it = self.get(key)
        return (it is not None and it.screen_only and not self.confirmed(key)
                and not self.reason(key))

    def unconfirmed(self) -> list[Item]:
        return [it for it in self.items if self.to_confirm(it.key)]

    def status(self, key: str) -> str:
        """accepted, rejected, unconfirmed (a screen-only problem not yet confirmed),
        edited, added (gone items keep their last status)."""
        it = self.get(key)
        if it is not None and it.added:
            return "added"
        if self.reason(key):
            return "rejected"
        if self.to_confirm(key):
            return "unconfirmed"
        if self.decisions.get(key, {}).get("edit"):
            return "edited"
        return "accepted"

    # -- decisions -------------------------------------------------------------------
    def _tidy(self, key: str) -> None:
        d = self.decisions.get(key)
        if d is not None and not d.get("reject") and not d.get("edit") \
                and not d.get("confirm"):
            del self.decisions[key]

    def accept(self, key: str) -> None:
        """Take back a rejection (an edit stays: accepting means 'in the plan'). Accepting
        a screen-only problem is the therapist's confirmation of it: it starts accepted
        only provisionally, and a plan is not signed until it is confirmed or rejected."""
        d = self.decisions.setdefault(key, {})
        d.pop("reject", None)
        it = self.get(key)
        if it is not None and it.screen_only:
            d["confirm"] = True
        self._tidy(key)

    def reject(self, key: str, reason: str) -> None:
        d = self.decisions.setdefault(key, {})
        d["reject"] = reason.strip()
        d.pop("confirm", None)

    def edit(self, key: str, values: dict[str, Any]) -> None:
        it = self.get(key)
        if it is None:
            return
        if it.added:
            it.fields.update(values)
            return
        edit = {k: v for k, v in values.items() if it.fields.get(k) != v}
        d = self.decisions.setdefault(key, {})
        if edit:
            d["edit"] = edit
        else:
            d.pop("edit", None)
        self._tidy(key)

    def add(self, kind: str, parent: str, values: dict[str, Any]) -> Item:
        parent_item = self.get(parent)
        self._n += 1
        while self.get(f"added.{kind}.{self._n}") is not None:
            self._n += 1
        item = Item(f"added.{kind}.{self._n}", kind, parent, dict(values), [],
                    condition=parent_item.condition if parent_item else "",
                    added=True)
        self.added.append(item)
        return item

    def remove_added(self, key: str) -> None:
        drop = {key}
        changed = True
        while changed:
            changed = False
            for it in self.added:
                if it.parent in drop and it.key not in drop:
                    drop.add(it.key)
                    changed = True
        self.added = [it for it in self.added if it.key not in drop]

    # -- what-if -----------------------------------------------------------------------
    def replace_items(self, items: list[Item]) -> None:
        """A new evaluation: mark what appeared and what disappeared since the last one.
        Decisions stay by key (an item that comes back finds its decision again)."""
        if self.evaluated:
            old = {it.key: it for it in self.items}
            new = {it.key for it in items}
            self.appeared = {k for k in new if k not in old}
            self.gone = [it for it in self.items if it.key not in new]
            self.was = {it.key: old[it.key].fields for it in items
                        if it.key in old and old[it.key].fields != it.fields}
        else:
            self.appeared, self.gone, self.was = set(), [], {}
        self.items = items
        self.evaluated = True

    # -- persistence -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"items": [i.to_json() for i in self.items], "decisions": self.decisions,
                "added": [i.to_json() for i in self.added], "appeared": sorted(self.appeared),
                "gone": [i.to_json() for i in self.gone], "was": self.was,
                "evaluated": self.evaluated,
                "n": self._n}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Review:
        return cls(items=[Item.from_json(i) for i in d.get("items", [])],
                   decisions=dict(d.get("decisions", {})),
                   added=[Item.from_json(i) for i in d.get("added", [])],
                   appeared=set(d.get("appeared", [])),
                   gone=[Item.from_json(i) for i in d.get("gone", [])],
                   was=dict(d.get("was", {})),
                   evaluated=bool(d.get("evaluated", False)), _n=int(d.get("n", 0)))


# --- from the decisions to a plan document --------------------------------------------

def check_values(fields: tuple[str, ...], values: dict[str, Any],
                 modalities: set[str] | None = None) -> tuple[dict[str, Any], str | None]:
    """Clean an edit dialog's values; (values, problem or None)."""
    out: dict[str, Any] = {}
    for name in fields:
        raw = str(values.get(name, "")).strip()
        if not raw:
            return out, f"{FIELD_LABELS[name]} cannot be empty."
        if name == "target_weeks":
            if not raw.isdigit() or not 1 <= int(raw) <= 104:
                return out, "Target weeks: a whole number from 1 to 104."
            out[name] = int(raw)
        elif name == "severity":
            if raw.lower() not in SEVERITIES:
                return out, "Severity: mild, moderate or severe."
            out[name] = raw.lower()
        elif name == "modality":
            if modalities is not None and raw not in modalities:
                return out, f"Unknown modality {raw!r}; e.g. {', '.join(sorted(modalities)[:6])}."
            out[name] = raw
        else:
            out[name] = raw
    return out, None


def apply_to_doc(doc: PlanDoc, review: Review) -> list[str]:
    """Apply rejections (with reasons), edits and additions to a freshly drafted plan
    document, in place. Rejecting a problem or a goal rejects what hangs under it
    (unless already rejected). Returns notes on anything that could not be applied."""
    notes: list[str] = []
    start = doc.start_date

    def reject_tree(item: Any, reason: str, what: str) -> None:
        children = item.goals if isinstance(item, ProblemItem) else \
            [*item.objectives, *item.interventions] if isinstance(item, GoalItem) else []
        for child in children:
            if child.origin != "proposed_rejected" and child.origin != "added":
                child.origin = "proposed_rejected"
                child.rejection_reason = f"rejected with its {what}: {reason}"
            reject_tree(child, reason, what)

    def apply(item: Any, kind: str) -> None:
        key = item.key or ""
        d = review.decisions.get(key, {})
        edit = d.get("edit") or {}
        for name, value in edit.items():
            if name == "client_action":
                item.client_tasks = [value]
            elif name == "target_weeks":
                item.anticipated = start + dt.timedelta(weeks=int(value))
            else:
                setattr(item, name, value)
        if d.get("reject"):
            item.origin = "proposed_rejected"
            item.rejection_reason = d["reject"]
        else:
            item.origin = None          # computed by save_doc: accepted or edited
            item.rejection_reason = None
        if isinstance(item, ProblemItem):
            # Only a screen-only problem is confirmed: a confirmation kept from before a
            # what-if that gave the problem another basis has nothing left to confirm.
            item.confirmed = True if (d.get("confirm") and not d.get("reject")
                                      and item.basis == "screen_only") else None

    goals: dict[str, GoalItem] = {}
    problems = {p.key: p for p in doc.problems}
    for p in doc.problems:
        apply(p, "problem")
        for g in p.goals:
            goals[g.key or ""] = g
            apply(g, "goal")
            for o in g.objectives:
                apply(o, "objective")
            for i in g.interventions:
                apply(i, "intervention")
    for p in doc.problems:
        if p.origin == "proposed_rejected":
            reject_tree(p, p.rejection_reason or "", "problem")
        for g in p.goals:
            if g.origin == "proposed_rejected" and p.origin != "proposed_rejected":
                reject_tree(g, g.rejection_reason or "", "goal")

    def live(x: Any) -> bool:
        return x is not None and x.origin != "proposed_rejected"

    # Added goals first, so objectives and interventions can hang under them.
    ordered = sorted(review.added, key=lambda it: KINDS.index(it.kind))
    for it in ordered:
        f = it.fields
        if it.kind == "goal":
            prob = problems.get(it.parent)
            if not live(prob):
                notes.append(f"{it.key}: its problem is rejected or no longer proposed")
                continue
            g = GoalItem(key=it.key, text=f["text"], objectives=[], interventions=[])
            prob.goals.append(g)  # type: ignore[union-attr]
            goals[it.key] = g
    for it in ordered:
        if it.kind not in ("objective", "intervention"):
            continue
        goal = goals.get(it.parent or "")
        if not live(goal):
            notes.append(f"{it.key}: its goal is rejected or no longer proposed")
            continue
        assert goal is not None
        f = it.fields
        if it.kind == "intervention":
            goal.interventions.append(InterventionItem(key=it.key, text=f["text"],
                                                       modality=f.get("modality") or "other"))
    for it in ordered:
        goal = goals.get(it.parent or "")
        if it.kind != "objective" or not live(goal):
            continue
        assert goal is not None
        f = it.fields
        goal.objectives.append(ObjectiveItem(
            key=it.key, text=f["text"], client_tasks=[f["client_action"]], measure=f["measure"],
            anticipated=start + dt.timedelta(weeks=int(f["target_weeks"])),
            interventions=[i.key for i in goal.interventions if i.key and live(i)]))
    return notes
