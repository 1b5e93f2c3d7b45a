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

from planwise.store.models import PlanDoc
from planwise.tui.widgets.item_fields import FIELD_LABELS, SEVERITIES, check_values

__all__ = ["FIELD_LABELS", "SEVERITIES", "check_values"]

KINDS = ("problem", "goal", "objective", "intervention")           # the tree's
PANEL_KINDS = ("treatment", "referral", "assessment", "warning")   # the side panel's
TREATMENT_FIELDS = ("sessions_min", "sessions_max", "frequency_per_week", "level_of_care",
                    "review_weeks", "modalities")
# Which fields the edit dialog offers, per kind, in order (a warning is not edited).
EDIT_FIELDS: dict[str, tuple[str, ...]] = {
    "problem": ("severity",),
    "goal": ("text",),
    "objective": ("text", "client_action", "measure", "target_weeks"),
    "intervention": ("text", "modality"),
    "treatment": TREATMENT_FIELDS,
    "referral": ("urgency", "reason"),
    "assessment": ("reason",),
}
# Adding a referral or an assessment also asks what it is.
ADD_FIELDS: dict[str, tuple[str, ...]] = {**EDIT_FIELDS, "referral": ("kind", "urgency", "reason"),
                                          "assessment": ("instrument", "reason")}
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
                out.append(Item(idoc.key, "intervention", gd.key,
                                {"text": i.text, "modality": i.modality},
                                list(i.because), condition=p.condition, goal=g.id,
                                modality=i.modality))
    return out + panel_items(doc)


def panel_items(doc: PlanDoc) -> list[Item]:
    """The side panel's items (warnings, the treatment block, referrals, assessments),
    keyed as the plan keys them; their fields are the plan item's."""
    out: list[Item] = []
    for w in doc.warnings:
        out.append(Item(w.key or "", "warning", None, {"kind": w.kind, "message": w.message},
                        list(w.because)))
    t = doc.treatment
    if t is not None:
        out.append(Item(t.key or "", "treatment", None,
                        {name: getattr(t, name) for name in TREATMENT_FIELDS},
                        list(t.because)))
    for r in doc.referrals:
        out.append(Item(r.key or "", "referral", None,
                        {"kind": r.kind, "urgency": r.urgency, "reason": r.reason},
                        list(r.because)))
    for a in doc.assessments:
        out.append(Item(a.key or "", "assessment", None,
                        {"instrument": a.instrument, "reason": a.reason}, list(a.because)))
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

    def add(self, kind: str, parent: str | None, values: dict[str, Any]) -> Item:
        parent_item = self.get(parent) if parent else None
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
    def replace_items(self, items: list[Item], marks: bool = True) -> None:
        """A new evaluation: mark what appeared and what disappeared since the last one
        (`marks=False`: back to the real answers after a what-if, nothing to mark).
        Decisions stay by key (an item that comes back finds its decision again)."""
        if self.evaluated and marks:
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
