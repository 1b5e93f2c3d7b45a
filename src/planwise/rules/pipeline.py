"""One evaluation: base facts through the stages to a proposal.

    severity  -> (risk level resolved)
    problem   -> (one problem per condition, its severity resolved)
    plan      -> (goals expanded into objectives and interventions)
    integrate -> (new goals expanded; one treatment block combined)
    warn
    -> proposal assembled

Between stages the engine itself takes three documented steps, each named
in `because` with an `engine.` id so that explanations can show it:
`engine.risk.highest`, `engine.severity.resolve` and
`engine.treatment.most_intensive` (see BUILTIN_STEPS).
"""

from __future__ import annotations

from typing import Any, Protocol

from planwise.errors import EngineError
from planwise.facts import STAGES, make_fact
from planwise.intake_io import ScoredIntake
from planwise.kb.loader import CompiledRule, KnowledgeBase
from planwise.models.profile import Profile
from planwise.models.proposal import (
    Assessment,
    Goal,
    Intervention,
    Objective,
    Problem,
    Proposal,
    Referral,
    RiskResult,
    Score,
    Sessions,
    Treatment,
    Warning,
)
from planwise.rules.inputs import base_facts
from planwise.rules.memory import Fact, Memory, fire_rule, trace

RISK_ORDER = ("none", "low", "unassessed", "moderate", "high")
DEFAULT_SEVERITY = "moderate"

BUILTIN_STEPS = {
    "engine.risk.highest": (
        "When several risk rules fire, the highest level stands: high over moderate over "
        "unassessed over low over none. A positive screen that has not been followed by a "
        "structured assessment counts above low risk, because its level is unknown."),
    "engine.severity.resolve": (
        "A problem's severity is the clinician's rating when there is one; otherwise the most "
        "severe level any instrument rule found; otherwise moderate, until it is rated."),
    "engine.treatment.most_intensive": (
        "With several problems, one treatment block follows the most intensive need: the "
        "largest minimum and maximum number of sessions, the highest frequency and level of "
        "care, and the shortest review interval of any problem's own recommendation."),
}


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

    # -- the engine calls this for every firing ---------------------------------
    def _derive(self, rule: CompiledRule, bound: dict[str, Fact]) -> list[Fact]:
        return fire_rule(self.memory, rule, bound)

    def run(self, scored: ScoredIntake, profile: Profile | None) -> Proposal:
        mem = self.memory
        for fact in base_facts(scored, profile):
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
        for f in mem.of_type("problem_found"):
            found.setdefault(f["condition"], []).extend(mem.because[f["n"]])
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
            mem.add(make_fact("problem", condition=condition, severity=severity),
                    list(dict.fromkeys(because)))

    def _expand_goals(self) -> None:
        mem = self.memory
        for f in mem.of_type("goal"):
            condition = f["condition"] or self.kb.goals[f["goal"]].condition
            key = (f["goal"], condition)
            if key in self.expanded:
                continue
            self.expanded.add(key)
            goal = self.kb.goals[f["goal"]]
            because = mem.because[f["n"]]
            for obj in goal.objectives:
                mem.add(make_fact("objective", item=obj.id, goal=goal.id, condition=condition),
                        because)
            for itv in goal.interventions:
                mem.add(make_fact("intervention", item=itv.id, modality=itv.modality,
                                  goal=goal.id, condition=condition), because)

    def _after_plan(self) -> None:
        self._expand_goals()

    def _after_integrate(self) -> None:
        self._expand_goals()
        mem = self.memory
        options = mem.of_type("treatment_option")
        if not options:
            return
        because = [r for f in options for r in mem.because[f["n"]]]
        if len({f["condition"] for f in options}) > 1:
            because.append("engine.treatment.most_intensive")
        level = max((f["level_of_care"] for f in options),
                    key=lambda lvl: self.kb.rank("levels_of_care", lvl))
        mem.add(make_fact(
            "treatment",
            sessions_min=max(f["sessions_min"] for f in options),
            sessions_max=max(f["sessions_max"] for f in options),
            frequency_per_week=max(f["frequency_per_week"] for f in options),
            level_of_care=level,
            review_weeks=min(f["review_weeks"] for f in options),
        ), list(dict.fromkeys(because)))

    def _after_warn(self) -> None:
        pass

    # -- the proposal -------------------------------------------------------------
    def _assemble(self, scored: ScoredIntake) -> Proposal:
        kb, mem = self.kb, self.memory
        risk = mem.of_type("risk")[0]
        conditions = list(kb.vocab["conditions"])

        goals_by_condition: dict[str, list[tuple[bool, int, str, list[str]]]] = {}
        goal_order = {gid: i for i, gid in enumerate(kb.goals)}
        for f in mem.of_type("goal"):
            condition = f["condition"] or kb.goals[f["goal"]].condition
            bucket = goals_by_condition.setdefault(condition, [])
            existing = next((g for g in bucket if g[2] == f["goal"]), None)
            because = mem.because[f["n"]]
            if existing:
                bucket.remove(existing)
                because = list(dict.fromkeys(existing[3] + because))
                first = existing[0] or f["first"]
            else:
                first = f["first"]
            bucket.append((first, goal_order[f["goal"]], f["goal"], because))

        problems = []
        problem_facts = mem.of_type("problem")
        known = {p["condition"] for p in problem_facts}
        for condition, goals in goals_by_condition.items():
            if condition not in known:
                rules = sorted({r for g in goals for r in g[3]})
                raise EngineError(f"rules {', '.join(rules)} proposed a goal for {condition}, "
                                  "which is not a problem in this case")
        for p in sorted(problem_facts, key=lambda p: (
                p["condition"] != "suicide_risk",
                -kb.rank("severities", p["severity"]),
                conditions.index(p["condition"]) if p["condition"] in conditions else 999)):
            goals = sorted(goals_by_condition.get(p["condition"], []),
                           key=lambda g: (not g[0], g[1]))
            problems.append(Problem(
                condition=p["condition"], severity=p["severity"], because=mem.because[p["n"]],
                goals=[self._goal(gid, because) for _first, _i, gid, because in goals],
            ))

        treatment = None
        tf = mem.of_type("treatment")
        if tf:
            t = tf[0]
            modalities: list[str] = []
            for f in mem.of_type("treatment_option"):
                for m in f["modalities"]:
                    if m not in modalities:
                        modalities.append(m)
            treatment = Treatment(
                modalities=modalities,
                sessions=Sessions(min=t["sessions_min"], max=t["sessions_max"]),
                frequency_per_week=t["frequency_per_week"], level_of_care=t["level_of_care"],
                review_weeks=t["review_weeks"], because=mem.because[t["n"]])

        return Proposal(
            schema="planwise.proposal/1",
            scores=[Score(instrument=s.instrument, total=s.total, band=s.band, flags=s.flags)
                    for s in scored.scores],
            risk=RiskResult(level=risk["level"], because=mem.because[risk["n"]]),
            problems=problems,
            treatment=treatment,
            referrals=self._referrals(),
            assessments=self._assessments(scored),
            warnings=self._warnings(),
            trace=trace(self.memory, STAGES),
        )

    def _goal(self, gid: str, because: list[str]) -> Goal:
        goal = self.kb.goals[gid]
        return Goal(
            id=goal.id, text=goal.text, because=because,
            objectives=[Objective(id=o.id, text=o.text, client_action=o.client_action,
                                  measure=o.measure, target_weeks=o.target_weeks, because=because)
                        for o in goal.objectives],
            interventions=[Intervention(id=i.id, text=i.text, modality=i.modality,
                                        because=because) for i in goal.interventions],
        )

    def _referrals(self) -> list[Referral]:
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
        return [Referral(kind=k, urgency=merged[k]["urgency"],
                         reason="; ".join(sorted(merged[k]["reasons"])),
                         because=sorted(merged[k]["because"])) for k in order]

    def _assessments(self, scored: ScoredIntake) -> list[Assessment]:
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
        return [Assessment(instrument=i, reason="; ".join(sorted(merged[i]["reasons"])),
                           because=sorted(merged[i]["because"]))
                for i in sorted(merged, key=lambda i: order.index(i) if i in order else 999)]

    def _warnings(self) -> list[Warning]:
        kinds = list(self.kb.vocab["warning_kinds"])
        facts = sorted(self.memory.of_type("warning"), key=lambda f: (
            kinds.index(f["kind"]) if f["kind"] in kinds else 999, f["subject"], f["message"]))
        out: dict[tuple[str, str], Warning] = {}
        for f in facts:
            key = (f["kind"], f["message"])
            because = sorted(self.memory.because[f["n"]])
            if key in out:
                out[key].because = sorted(set(out[key].because) | set(because))
            else:
                out[key] = Warning(kind=f["kind"], message=f["message"], because=because)
        return list(out.values())
