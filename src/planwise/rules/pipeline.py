"""One evaluation: base facts through the stages to a proposal.

    severity  -> (risk level resolved)
    problem   -> (one problem per condition, its severity resolved)
    plan      -> (goals expanded into objectives and interventions)
    integrate -> (new goals expanded; one treatment block combined)
    warn
    -> proposal assembled

Between stages the engine itself takes documented steps, each named in
`because` with an `engine.` id so that explanations can show it (see
planwise.rules.steps): the highest risk level, each problem's severity and basis,
one sequenced treatment block, and the course's capacity.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from planwise.errors import EngineError
from planwise.facts import STAGES, make_fact
from planwise.intake_io import ScoredIntake
from planwise.kb.loader import CompiledRule, KnowledgeBase
from planwise.models.profile import Profile
from planwise.models.proposal import Proposal
from planwise.rules.inputs import base_facts
from planwise.rules.memory import Fact, Memory, fire_rule, goal_facts, trace

RISK_ORDER = ("none", "low", "unassessed", "moderate", "high")
DEFAULT_SEVERITY = "moderate"
PHASES = ("stabilise", "treat", "maintain")
# Problems with no priority fact come after every ranked one.
UNRANKED = 100
# A session moves about two objectives on: one worked on in the session, one as
# homework between sessions.
OBJECTIVES_PER_SESSION = 2
# Base facts that only the clinician writes: a problem derived from one of them
# is the clinician's; one derived from a screening concern and a score is
# screen_and_concern; one derived from scores alone is screen_only.
CLINICIAN_FACTS = frozenset({"impression", "clinician_severity", "diagnosis", "risk_answers"})



# Each goal's place in the knowledge, per knowledge version: id() keys, the goals'
# dict kept in the value so that its id is not reused while the entry lives.
_goal_orders: dict[int, tuple[Any, dict[str, int]]] = {}


def _goal_order(kb: KnowledgeBase) -> dict[str, int]:
    hit = _goal_orders.get(id(kb.goals))
    if hit is None or hit[0] is not kb.goals or len(hit[1]) != len(kb.goals):
        if len(_goal_orders) > 100:
            _goal_orders.clear()
        hit = _goal_orders[id(kb.goals)] = (kb.goals, {g: i for i, g in enumerate(kb.goals)})
    return hit[1]


class Backend(Protocol):
    name: str

    def run_stage(self, stage: str, facts: list[Fact], derive: Any,
                  store: dict[int, Fact]) -> None: ...


class Evaluation:
    """Runs one intake through the stages and keeps everything for explanations."""

    def __init__(self, kb: KnowledgeBase, backend: Backend) -> None:
        self.kb = kb
        self.backend = backend
        self.memory = Memory()
        self.expanded: set[tuple[str, str]] = set()
        self.proposal: Proposal | None = None
        # Derived views of working memory, kept while it does not grow (or, when the
        # view reads only some fact types, while no fact of those is added: facts are
        # never withdrawn, so their count is a version).
        self._memo: dict[str, tuple[int, Any]] = {}

    def _cached(self, name: str, compute: Any, reads: tuple[str, ...] = ()) -> Any:
        if reads:
            by_type = self.memory.by_type
            size = len(by_type.get(reads[0], ())) if len(reads) == 1 else \
                sum(len(by_type.get(t, ())) for t in reads)
        else:
            size = len(self.memory.facts)
        hit = self._memo.get(name)
        if hit is None or hit[0] != size:
            hit = (size, compute())
            self._memo[name] = hit
        return hit[1]

    # -- the engine calls this for every firing ---------------------------------
    def _derive(self, rule: CompiledRule, bound: dict[str, Fact]) -> list[Fact]:
        return fire_rule(self.memory, rule, bound)

    def run(self, scored: ScoredIntake, profile: Profile | None) -> Proposal:
        mem = self.memory
        for fact in base_facts(scored, profile, self.kb):
            mem.add(fact)
        for stage in STAGES:
            mem.stage = stage
            self.backend.run_stage(stage, list(mem.facts.values()), self._derive, mem.facts)
            mem.stage = f"after-{stage}"
            getattr(self, f"_after_{stage}")()
        return self._assemble(scored)

    # -- resolution steps between stages ----------------------------------------
    def _after_severity(self) -> None:
        levels = self.memory.of_type("risk_level")
        if not levels:
            raise EngineError("no risk rule concluded a level: the knowledge is incomplete")
        top = max(levels, key=lambda f: RISK_ORDER.index(f["level"]))
        because = sorted({r for f in levels if f["level"] == top["level"]
                          for r in self.memory.because[f["n"]]})
        if len(levels) > 1:
            because.append("engine.risk.highest")
        self.memory.add(make_fact("risk", level=top["level"]), because)

    def _after_problem(self) -> None:
        mem = self.memory
        found: dict[str, list[str]] = {}
        facts_of: dict[str, list[Fact]] = {}
        for f in mem.of_type("problem_found"):
            found.setdefault(f["condition"], []).extend(mem.because[f["n"]])
            facts_of.setdefault(f["condition"], []).append(f)
        for condition, because in found.items():
            sev = [f for f in mem.of_type("severity") if f["condition"] == condition]
            clinician = [f for f in sev if f["by"] == "clinician"]
            pool = clinician or sev
            if pool:
                top = max(self.kb.rank("severities", f["severity"]) for f in pool)
                chosen = [f for f in pool if self.kb.rank("severities", f["severity"]) == top]
                severity = chosen[0]["severity"]
                for f in chosen:
                    because += mem.because[f["n"]]
                if len(sev) > 1:
                    because.append("engine.severity.resolve")
            else:
                severity = DEFAULT_SEVERITY
                because.append("engine.severity.resolve")
            basis = self._basis(condition, facts_of[condition])
            mem.add(make_fact("problem", condition=condition, severity=severity, basis=basis),
                    list(dict.fromkeys(because)))

    def _derived_by(self) -> dict[int, list[int]]:
        derived_by: dict[int, list[int]] = {}
        for firing in self.memory.firings:
            for n in firing.derived:
                derived_by.setdefault(n, []).extend(firing.matched)
        return derived_by

    def _ancestor_types(self, facts: list[Fact]) -> set[str]:
        """The types of the base facts a derivation rests on (through every firing)."""
        mem = self.memory
        derived_by: dict[int, list[int]] = self._cached("derived_by", self._derived_by)
        seen: set[int] = set()
        todo = [f["n"] for f in facts]
        types: set[str] = set()
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            fact = mem.facts[n]
            types.add(fact["fact"])
            if fact["fact"] == "risk":  # the engine's own step: rests on the levels it chose
                todo += [f["n"] for f in mem.of_type("risk_level")
                         if f["level"] == fact["level"]]
            todo += derived_by.get(n, [])
        return types

    def _basis(self, condition: str, found: list[Fact]) -> str:
        named = {f["condition"] for f in self.memory.of_type(
            "impression", "clinician_severity", "diagnosis")}
        types = self._ancestor_types(found)
        if condition in named or types & CLINICIAN_FACTS:
            return "clinician"
        if "concern" in types:
            return "screen_and_concern"
        return "screen_only"

    def _problem_order(self) -> list[Fact]:
        """Problems in the order the plan addresses them (priority facts, then severity)."""
        order: list[Fact] = self._cached("problem_order", self._order_problems,
                                          ("priority", "problem"))
        return order

    def _order_problems(self) -> list[Fact]:
        kb, mem = self.kb, self.memory
        conditions = list(kb.vocab["conditions"])
        ranks: dict[str, int] = {}
        for f in mem.of_type("priority"):
            ranks[f["condition"]] = min(ranks.get(f["condition"], UNRANKED), f["rank"])
        return sorted(mem.of_type("problem"), key=lambda p: (
            ranks.get(p["condition"], UNRANKED),
            p["condition"] != "suicide_risk",
            -kb.rank("severities", p["severity"]),
            conditions.index(p["condition"]) if p["condition"] in conditions else 999))

    def _expand_goals(self) -> None:
        mem = self.memory
        for f in mem.of_type("goal"):
            condition = f["condition"] or self.kb.goals[f["goal"]].condition
            key = (f["goal"], condition)
            if key in self.expanded:
                continue
            self.expanded.add(key)
            # Rules may read each (goal, problem) pair's objectives and interventions;
            # the proposal lists the goal once (see _assemble).
            because = mem.because[f["n"]]
            for key, fact in goal_facts(self.kb.goals[f["goal"]], condition):
                mem.add_keyed(key, fact, because)  # stored as a copy

    def _after_plan(self) -> None:
        self._expand_goals()

    def _after_integrate(self) -> None:
        self._expand_goals()
        mem = self.memory
        options = mem.of_type("treatment_option")
        if not options:
            return
        order = [p["condition"] for p in self._problem_order()]
        by_condition: dict[str, list[Fact]] = {}
        for f in options:
            by_condition.setdefault(f["condition"], []).append(f)

        def place(cond: str) -> int:
            return order.index(cond) if cond in order else len(order)

        # One option per problem: its most intensive (several rules may propose one).
        chosen: list[Fact] = []
        for cond in sorted(by_condition, key=place):
            chosen.append(max(by_condition[cond], key=lambda f: (
                f["sessions_max"], f["sessions_min"], f["frequency_per_week"])))
        lead, rest = chosen[0], chosen[1:]
        because = [r for f in [lead, *rest] for r in mem.because[f["n"]]]
        if rest:
            because.append("engine.treatment.sequence")
        level = max((f["level_of_care"] for f in options),
                    key=lambda lvl: self.kb.rank("levels_of_care", lvl))
        sessions_min, sessions_max = lead["sessions_min"], lead["sessions_max"]
        in_course = set(lead["modalities"])
        for f in rest:
            # Work on a further problem overlaps with the first: it adds half its own
            # course, or a quarter when a therapy of its is already in the course.
            share = 4 if set(f["modalities"]) & in_course else 2
            sessions_min += math.ceil(f["sessions_min"] / share)
            sessions_max += math.ceil(f["sessions_max"] / share)
            in_course |= set(f["modalities"])
        # Never shorter than the longest single course (a year of DBT stays a year).
        sessions_min = max(sessions_min, *(f["sessions_min"] for f in chosen))
        sessions_max = max(sessions_max, *(f["sessions_max"] for f in chosen))
        # The pace is that of the longest single course, so that course's length still
        # reads in weeks as its knowledge says (a year of DBT stays a year); a shorter
        # first block (a safety plan at high risk) shows in the level of care, the
        # short first review and its referrals.
        pace = max(chosen, key=lambda f: (f["sessions_max"], f["sessions_min"]))
        frequency = pace["frequency_per_week"]
        review = min(f["review_weeks"] for f in options)
        limit = self._case()["session_limit"]
        if limit > 0:
            within = max(1, limit // frequency - 1)
            if within < review:
                review = within
                because.append("engine.treatment.sequence")
        mem.add(make_fact(
            "treatment", sessions_min=sessions_min, sessions_max=max(sessions_max, sessions_min),
            frequency_per_week=frequency, level_of_care=level, review_weeks=review,
        ), list(dict.fromkeys(because)))
        self._capacity()

    def _case(self) -> Fact:
        return self.memory.of_type("case")[0]

    def _placed_goals(self) -> list[tuple[str, str, list[str]]]:
        """Each goal once: (goal id, the problem it serves first, every rule behind it),
        in the order the plan works on them."""
        placed: list[tuple[str, str, list[str]]] = self._cached(
            "placed", self._place_goals, ("goal", "priority", "problem"))
        return placed

    def _place_goals(self) -> list[tuple[str, str, list[str]]]:
        kb, mem = self.kb, self.memory
        order = [p["condition"] for p in self._problem_order()]
        goals: dict[str, tuple[list[str], list[str], bool]] = {}
        for f in mem.of_type("goal"):
            condition = f["condition"] or kb.goals[f["goal"]].condition
            conds, because, first = goals.setdefault(f["goal"], ([], [], False))
            if condition not in conds:
                conds.append(condition)
            because += [r for r in mem.because[f["n"]] if r not in because]
            goals[f["goal"]] = (conds, because, first or f["first"])
        goal_order = _goal_order(kb)
        placed = []
        for gid, (conds, because, first) in goals.items():
            known = [c for c in conds if c in order]
            home = min(known, key=order.index) if known else conds[0]
            placed.append((gid, home, because, first))
        placed.sort(key=lambda g: (
            order.index(g[1]) if g[1] in order else len(order),
            PHASES.index(kb.goals[g[0]].phase), not g[3], goal_order[g[0]]))
        return [(gid, home, because) for gid, home, because, _first in placed]

    def _deferrals(self) -> dict[str, list[Fact]]:
        def collect() -> dict[str, list[Fact]]:
            out: dict[str, list[Fact]] = {}
            for f in self.memory.of_type("defer"):
                out.setdefault(f["modality"], []).append(f)
            return out

        holds: dict[str, list[Fact]] = self._cached("deferrals", collect, ("defer",))
        return holds

    def _deferred(self, gid: str, home: str) -> dict[str, Any] | None:
        """The goal's `Deferred`, as a dict (see _assemble), or None."""
        holds = self._deferrals()
        if not holds:
            return None
        facts = [f for i in self.kb.goals[gid].interventions for f in holds.get(i.modality, [])
                 if f["condition"] in ("", home)]
        if not facts:
            return None
        return {"until": "; ".join(dict.fromkeys(f["until"] for f in facts)),
                "because": sorted({r for f in facts for r in self.memory.because[f["n"]]})}

    def _capacity(self) -> None:
        """course_overload when more objectives start now than the sessions (or the payer's
        limit) can reach, with what fits inside them in priority order."""
        mem, kb = self.memory, self.kb
        t = mem.of_type("treatment")[0]
        limit = self._case()["session_limit"]
        placed = [(gid, home) for gid, home, _ in self._placed_goals()
                  if self._deferred(gid, home) is None]
        count = sum(len(kb.goals[gid].objectives) for gid, _ in placed)
        # Under a payer's limit below the course's minimum, the limit buys that share of
        # the course's objectives; otherwise a session moves about two objectives on.
        limited = 0 < limit < t["sessions_min"]
        reach = (count * limit // t["sessions_min"] if limited
                 else t["sessions_max"] * OBJECTIVES_PER_SESSION)
        if count <= reach:
            return
        fits: list[str] = []
        used = 0
        for gid, _home in placed:
            n = len(kb.goals[gid].objectives)
            if used + n > reach:
                break
            used += n
            fits.append(gid)
        first = "; ".join(kb.goals[g].text.lower() for g in fits[:5]) or "the first goal"
        more = f"; and {len(fits) - 5} more goal(s)" if len(fits) > 5 else ""
        if limited:
            message = (f"{count} objectives start now, more than the {limit} authorised "
                       f"sessions can reach (the course needs {t['sessions_min']} or more): "
                       f"the first review is at week {t['review_weeks']}, within them, to ask "
                       f"for more or plan the step-down. What fits inside them, in priority "
                       f"order: {first}{more} ({used} objectives).")
        else:
            message = (f"{count} objectives start now for at most {t['sessions_max']} "
                       "sessions (about two a session): work on them in priority order. "
                       f"Within reach: {first}{more} ({used} objectives); take up the rest at "
                       "the first review.")
        mem.add(make_fact("warning", kind="course_overload", subject="treatment",
                          message=message), ["engine.course.capacity"])

    def _after_warn(self) -> None:
        pass

    # -- the proposal -------------------------------------------------------------
    def _assemble(self, scored: ScoredIntake) -> Proposal:
        mem = self.memory
        risk = mem.of_type("risk")[0]

        placed = self._placed_goals()
        problem_facts = mem.of_type("problem")
        known = {p["condition"] for p in problem_facts}
        for gid, home, because in placed:
            if home not in known:
                raise EngineError(f"rules {', '.join(sorted(because))} proposed goal {gid} for "
                                  f"{home}, which is not a problem in this case")
        priority_rules: dict[str, list[str]] = {}
        for f in mem.of_type("priority"):
            priority_rules.setdefault(f["condition"], []).extend(mem.because[f["n"]])
        problems = []
        for rank, p in enumerate(self._problem_order(), start=1):
            goals = [self._goal(gid, home, because) for gid, home, because in placed
                     if home == p["condition"]]
            because = list(dict.fromkeys(mem.because[p["n"]]
                                         + priority_rules.get(p["condition"], [])))
            if p["basis"] != "clinician":
                because = list(dict.fromkeys(because + ["engine.problem.basis"]))
            problems.append({"condition": p["condition"], "severity": p["severity"],
                             "because": because, "goals": goals, "basis": p["basis"],
                             "priority": rank})

        treatment = None
        tf = mem.of_type("treatment")
        if tf:
            t = tf[0]
            modalities: list[str] = []
            order = [p["condition"] for p in self._problem_order()]
            for f in sorted(mem.of_type("treatment_option"), key=lambda f: (
                    order.index(f["condition"]) if f["condition"] in order else len(order))):
                for m in f["modalities"]:
                    if m not in modalities:
                        modalities.append(m)
            treatment = {
                "modalities": modalities,
                "sessions": {"min": t["sessions_min"], "max": t["sessions_max"]},
                "frequency_per_week": t["frequency_per_week"],
                "level_of_care": t["level_of_care"], "review_weeks": t["review_weeks"],
                "because": mem.because[t["n"]]}

        # Every part as a dict, validated into its model in this one pass: a model built
        # per goal, problem and warning cost a pydantic call each (35 a proposal).
        return Proposal.model_validate({
            "schema": "planwise.proposal/1",
            "scores": [{"instrument": s.instrument, "total": s.total, "band": s.band,
                        "flags": s.flags} for s in scored.scores],
            "risk": {"level": risk["level"], "because": mem.because[risk["n"]]},
            "problems": problems,
            "treatment": treatment,
            "referrals": self._referrals(),
            "assessments": self._assessments(scored),
            "warnings": self._warnings(),
            "trace": trace(self.memory, STAGES),
        })

    def _goal(self, gid: str, home: str, because: list[str]) -> dict[str, Any]:
        goal = self.kb.goals[gid]
        # The goal, its objectives and interventions as dicts: validated into their
        # models with the proposal in one pass (see _assemble).
        objectives: list[Any] = [
            {"id": o.id, "text": o.text, "client_action": o.client_action,
             "measure": o.measure, "target_weeks": o.target_weeks, "because": because}
            for o in goal.objectives]
        interventions: list[Any] = [
            {"id": i.id, "text": i.text, "modality": i.modality, "because": because}
            for i in goal.interventions]
        return {"id": goal.id, "text": goal.text, "because": because, "objectives": objectives,
                "interventions": interventions, "phase": goal.phase,
                "deferred": self._deferred(gid, home)}

    def _referrals(self) -> list[dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {}
        for f in self.memory.of_type("referral"):
            m = merged.setdefault(f["kind"], {"urgency": f["urgency"], "reasons": [],
                                              "because": []})
            if self.kb.rank("urgencies", f["urgency"]) > self.kb.rank("urgencies", m["urgency"]):
                m["urgency"] = f["urgency"]
            if f["reason"] not in m["reasons"]:
                m["reasons"].append(f["reason"])
            m["because"] += [r for r in self.memory.because[f["n"]] if r not in m["because"]]
        kinds = list(self.kb.vocab["referral_kinds"])
        order = sorted(merged, key=lambda k: (-self.kb.rank("urgencies", merged[k]["urgency"]),
                                              kinds.index(k) if k in kinds else 999))
        return [{"kind": k, "urgency": merged[k]["urgency"],
                 "reason": "; ".join(sorted(merged[k]["reasons"])),
                 "because": sorted(merged[k]["because"])} for k in order]

    def _assessments(self, scored: ScoredIntake) -> list[dict[str, Any]]:
        given = {s.instrument for s in scored.scores}
        merged: dict[str, dict[str, Any]] = {}
        for f in self.memory.of_type("assessment"):
            if f["instrument"] in given:
                continue  # already answered in this intake
            m = merged.setdefault(f["instrument"], {"reasons": [], "because": []})
            if f["reason"] not in m["reasons"]:
                m["reasons"].append(f["reason"])
            m["because"] += [r for r in self.memory.because[f["n"]] if r not in m["because"]]
        order = list(self.kb.instruments)
        return [{"instrument": i, "reason": "; ".join(sorted(merged[i]["reasons"])),
                 "because": sorted(merged[i]["because"])}
                for i in sorted(merged, key=lambda i: order.index(i) if i in order else 999)]

    def _warnings(self) -> list[dict[str, Any]]:
        kinds = list(self.kb.vocab["warning_kinds"])
        facts = sorted(self.memory.of_type("warning"), key=lambda f: (
            kinds.index(f["kind"]) if f["kind"] in kinds else 999, f["subject"], f["message"]))
        out: dict[tuple[str, str], dict[str, Any]] = {}
        if self.kb.overrides:
            named = "; ".join(f"{key} ({what}: {reason})"
                              for key, what, reason, _file in self.kb.overrides)
            message = ("This proposal was made with clinic knowledge that changes "
                       f"safety-critical rules: {named}.")
            out[("knowledge_override", message)] = {
                "kind": "knowledge_override", "message": message,
                "because": ["engine.knowledge.override"]}
        for f in facts:
            key = (f["kind"], f["message"])
            because = sorted(self.memory.because[f["n"]])
            if key in out:
                out[key]["because"] = sorted(set(out[key]["because"]) | set(because))
            else:
                out[key] = {"kind": f["kind"], "message": f["message"], "because": because}
        return list(out.values())
