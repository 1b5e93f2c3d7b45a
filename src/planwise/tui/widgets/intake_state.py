"""The new intake in progress: plain data, no widgets.

The intake screen keeps everything the therapist has entered in one
`IntakeState`; the widgets only show it and report changes. The state turns
into a contract intake (`planwise.intake/1`, docs/contract.md) for the engine
and, with the position in the flow, into the draft that is saved on every
change. Partial instrument answers stay in contract shape: a list with `None`
for an unanswered item (an ASQ table without the unanswered keys), so that the
contract's own check names the first missing item (`instruments.phq9[4]`).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from planwise.clinical.instruments import MDQ_KEYS, Instrument
from planwise.kb.loader import KnowledgeBase
from planwise.models.profile import Profile

STEPS = ("Screening", "Assessments", "Instruments", "Suicide risk", "History & context")
SCREENING, ASSESSMENTS, INSTRUMENTS, RISK, CONTEXT = range(5)
SCHEMA = "planwise.intake/1"
SUICIDE_SCREENS = ("asq", "phq9")

# The conditions a broad screening concern may turn out to be, for the scope
# check at screening time (the engine decides later, from the scores).
BROAD_CONDITIONS: dict[str, tuple[str, ...]] = {
    "anxiety": ("generalized_anxiety", "panic", "agoraphobia", "social_anxiety",
                "specific_phobia"),
    "substance_use": ("alcohol_use", "drug_use"),
    "bipolar": ("bipolar_i", "bipolar_ii"),
    "psychosis": ("schizophrenia", "schizoaffective"),
    "trauma": ("ptsd",),
    "personality": ("borderline_pd", "narcissistic_pd"),
    "behavioural": ("anger", "child_behaviour"),
    "mood": ("depression", "bipolar_i", "bipolar_ii"),
}

RISK_DEFAULT: dict[str, Any] = {"ideation": "none", "method": False, "intent": False,
                                "plan": False, "behaviour": "none"}


def split_list(text: str, sep: str = ",") -> list[str]:
    return [part.strip() for part in text.split(sep) if part.strip()]


def has_answers(inst: Instrument, data: Any) -> bool:
    """True when at least one item of the (possibly partial) answers is given."""
    if data is None:
        return False
    if inst.kind == "asq":
        return isinstance(data, dict) and any(v is not None for v in data.values())
    if inst.kind == "mdq":
        if not isinstance(data, dict):
            return False
        symptoms = data.get("symptoms") or []
        return (any(v is not None for v in symptoms) or data.get("same_period") is not None
                or data.get("impairment") is not None)
    return isinstance(data, list) and any(v is not None for v in data)


@dataclass
class IntakeState:
    concerns: list[str] = field(default_factory=list)
    summary: str = ""
    # What the engine suggested for the screening: (instrument, reason); None until computed.
    suggested: list[tuple[str, str]] | None = None
    suggested_for: list[str] = field(default_factory=list)  # the concerns it was computed for
    choice: dict[str, bool] = field(default_factory=dict)  # the therapist's own ticks
    answers: dict[str, Any] = field(default_factory=dict)  # instrument -> partial answers
    positions: dict[str, int] = field(default_factory=dict)  # instrument -> current row
    form_index: int = 0
    risk: dict[str, Any] = field(default_factory=lambda: dict(RISK_DEFAULT))
    risk_recorded: bool = False
    risk_skipped: bool = False
    trauma: bool = False
    withdrawal_complications: bool = False
    prior_treatment: str = ""
    medications: str = ""
    session_limit: str = ""
    employment: str | None = None
    housing: str | None = None
    client_goals: str = ""
    impressions: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    step: int = SCREENING
    extra: dict[str, Any] = field(default_factory=dict)  # date, client, diagnoses kept as given

    # -- assessments --------------------------------------------------------------------
    def offered(self, kb: KnowledgeBase) -> list[tuple[str, str, bool]]:
        """(instrument, why, ticked by default), suggestions first, then the suicide
        screen (always offered), then every other instrument."""
        out: list[tuple[str, str, bool]] = []
        seen: set[str] = set()
        suggested = self.suggested or []
        for inst, reason in suggested:
            if inst in kb.instruments and inst not in seen:
                out.append((inst, reason, True))
                seen.add(inst)
        if "asq" not in seen and "asq" in kb.instruments:
            phq9 = any(i == "phq9" for i, _ in suggested)
            why = "suicide screen, always offered"
            if phq9:
                why += " (PHQ-9 item 9 also screens)"
            out.append(("asq", why, not phq9))
            seen.add("asq")
        for inst in kb.instruments:
            if inst not in seen:
                out.append((inst, kb.instruments[inst].title, False))
        return out

    def chosen(self, kb: KnowledgeBase) -> list[str]:
        return [inst for inst, _, default in self.offered(kb)
                if self.choice.get(inst, default or has_answers(kb.instruments[inst],
                                                                self.answers.get(inst)))]

    # -- the suicide screen and the risk level (the contract's rules) --------------------
    def screen(self, kb: KnowledgeBase) -> tuple[bool, bool, list[str]]:
        """(positive, acute, reasons) from the chosen suicide screens answered so far."""
        chosen = self.chosen(kb)
        reasons: list[str] = []
        acute = False
        phq9 = self.answers.get("phq9") if "phq9" in chosen else None
        if isinstance(phq9, list) and len(phq9) >= 9 and isinstance(phq9[8], int) and phq9[8] > 0:
            reasons.append(f"PHQ-9 item 9 answered {phq9[8]}")
        asq = self.answers.get("asq") if "asq" in chosen else None
        if isinstance(asq, dict):
            yes = [k for k, v in asq.items() if v is True]
            if yes:
                reasons.append("ASQ yes to " + ", ".join(k.replace("_", " ") for k in yes))
            acute = asq.get("thoughts_now") is True
        return bool(reasons), acute, reasons

    def risk_level(self, kb: KnowledgeBase) -> tuple[str, str]:
        """The contract's risk level for what is entered now, and why."""
        positive, acute, _ = self.screen(kb)
        r = self.risk if self.risk_recorded else None
        if acute:
            return "high", "ASQ: thoughts of killing themselves right now"
        if r is not None:
            if r["intent"]:
                return "high", "intent to act"
            if r["plan"]:
                return "high", "a plan"
            if r["behaviour"] == "recent":
                return "high", "suicidal behaviour within 3 months"
            if r["method"]:
                return "moderate", "a method"
            if r["behaviour"] == "past":
                return "moderate", "suicidal behaviour over 3 months ago"
            if r["ideation"] in ("passive", "active"):
                return "low", f"{r['ideation']} ideation alone"
            return "none", "assessed: no ideation, method, intent, plan or behaviour"
        if positive:
            return "unassessed", "positive screen with no structured assessment"
        return "none", "not assessed (negative or no screen; the proposal will warn)"

    def needs_risk_decision(self, kb: KnowledgeBase) -> bool:
        """A positive screen, no assessment recorded and no explicit skip."""
        return self.screen(kb)[0] and not self.risk_recorded and not self.risk_skipped

    # -- the contract intake ----------------------------------------------------------------
    def to_intake(self, kb: KnowledgeBase, today: dt.date) -> dict[str, Any]:
        data: dict[str, Any] = {"schema": SCHEMA,
                                "date": self.extra.get("date") or today.isoformat()}
        if self.extra.get("client"):
            data["client"] = copy.deepcopy(self.extra["client"])
        data["screening"] = {"concerns": list(self.concerns), "summary": self.summary.strip()}
        instruments: dict[str, Any] = {}
        for inst in self.chosen(kb):
            answers = self.answers.get(inst)
            if has_answers(kb.instruments[inst], answers):
                instruments[inst] = copy.deepcopy(answers)
        data["instruments"] = instruments
        if self.risk_recorded:
            data["risk"] = dict(self.risk)
        clinician: dict[str, Any] = {"impressions": list(self.impressions),
                                     # Kept for any condition: a rating may apply to a
                                     # problem found from a concern and a score.
                                     "severity": {c: s for c, s in self.severity.items() if s}}
        if self.extra.get("diagnoses"):
            clinician["diagnoses"] = list(self.extra["diagnoses"])
        data["clinician"] = clinician
        data["history"] = {"trauma": self.trauma,
                           "withdrawal_complications": self.withdrawal_complications,
                           # ";" separates entries: one may contain commas
                           # ("CBT, 2019, helpful").
                           "prior_treatment": split_list(self.prior_treatment, ";"),
                           "medications": split_list(self.medications, ";")}
        context: dict[str, Any] = {"client_goals": split_list(self.client_goals, ";")}
        limit = self.session_limit.strip()
        if limit:
            context["session_limit"] = int(limit) if limit.isdigit() else limit
        if self.employment:
            context["employment"] = self.employment
        if self.housing:
            context["housing"] = self.housing
        data["context"] = context
        return data

    @classmethod
    def from_intake(cls, data: dict[str, Any]) -> IntakeState:
        state = cls()
        screening = data.get("screening") or {}
        state.concerns = list(screening.get("concerns") or [])
        state.summary = str(screening.get("summary") or "")
        state.answers = copy.deepcopy(dict(data.get("instruments") or {}))
        state.choice = {inst: True for inst in state.answers}
        if data.get("risk") is not None:
            state.risk = {**RISK_DEFAULT, **data["risk"]}
            state.risk_recorded = True
        clinician = data.get("clinician") or {}
        state.impressions = list(clinician.get("impressions") or [])
        state.severity = dict(clinician.get("severity") or {})
        history = data.get("history") or {}
        state.trauma = bool(history.get("trauma", False))
        state.withdrawal_complications = bool(history.get("withdrawal_complications", False))
        state.prior_treatment = "; ".join(history.get("prior_treatment") or [])
        state.medications = "; ".join(history.get("medications") or [])
        context = data.get("context") or {}
        limit = context.get("session_limit")
        state.session_limit = "" if limit is None else str(limit)
        state.employment = context.get("employment")
        state.housing = context.get("housing")
        state.client_goals = "; ".join(context.get("client_goals") or [])
        if data.get("date"):
            state.extra["date"] = str(data["date"])
        if data.get("client"):
            state.extra["client"] = dict(data["client"])
        if clinician.get("diagnoses"):
            state.extra["diagnoses"] = list(clinician["diagnoses"])
        return state

    # -- the draft: the intake plus where the therapist is ---------------------------------
    def to_draft(self, kb: KnowledgeBase, today: dt.date) -> dict[str, Any]:
        intake = self.to_intake(kb, today)
        if not self.extra.get("date"):
            intake.pop("date")  # a draft resumed tomorrow is tomorrow's intake
        chosen = set(self.chosen(kb))
        return {
            "intake": intake,
            "step": self.step,
            "suggested": [list(s) for s in self.suggested] if self.suggested is not None
            else None,
            "suggested_for": list(self.suggested_for),
            "choice": dict(self.choice),
            "positions": dict(self.positions),
            "form_index": self.form_index,
            "risk_values": dict(self.risk),
            "risk_recorded": self.risk_recorded,
            "risk_skipped": self.risk_skipped,
            "severity": dict(self.severity),
            "set_aside": {i: copy.deepcopy(a) for i, a in self.answers.items()
                          if i not in chosen and a is not None},
        }

    @classmethod
    def from_draft(cls, draft: dict[str, Any]) -> IntakeState:
        state = cls.from_intake(draft.get("intake") or {})
        state.step = int(draft.get("step", SCREENING))
        suggested = draft.get("suggested")
        state.suggested = [(s[0], s[1]) for s in suggested] if suggested is not None else None
        state.suggested_for = list(draft.get("suggested_for") or [])
        state.choice = dict(draft.get("choice") or {})
        state.positions = {k: int(v) for k, v in (draft.get("positions") or {}).items()}
        state.form_index = int(draft.get("form_index", 0))
        state.risk = {**RISK_DEFAULT, **(draft.get("risk_values") or state.risk)}
        state.risk_recorded = bool(draft.get("risk_recorded", state.risk_recorded))
        state.risk_skipped = bool(draft.get("risk_skipped", False))
        state.severity = {**state.severity, **(draft.get("severity") or {})}
        for inst, answers in (draft.get("set_aside") or {}).items():
            state.answers.setdefault(inst, answers)
        return state


# -- the scope check at screening ---------------------------------------------------------
def scope_check(concerns: list[str], profile: Profile | None, kb: KnowledgeBase) -> str:
    """One or two lines: which ticked concerns lie outside the therapist's competencies."""
    if profile is None:
        return "No therapist profile: every condition counts as in scope."
    competencies = set(profile.therapist.competencies)
    outside: list[str] = []
    partly: list[str] = []
    for concern in concerns:
        if concern in kb.vocab["conditions"]:
            if concern not in competencies:
                outside.append(kb.label("conditions", concern))
            continue
        possible = BROAD_CONDITIONS.get(concern, ())
        label = kb.label("concerns", concern)
        if not possible:
            continue
        missing = [c for c in possible if c not in competencies]
        if len(missing) == len(possible):
            outside.append(label)
        elif missing:
            partly.append(f"{label}, if it is "
                          + " or ".join(kb.label("conditions", c) for c in missing))
    if not concerns:
        return "Scope: tick concerns to check them against your competencies."
    lines = []
    if outside:
        lines.append("Outside your competencies: " + ", ".join(outside) + " — consider referring")
    if partly:
        lines.append("Possibly outside: " + "; ".join(partly))
    if not lines:
        lines.append("Within your competencies.")
    return "\n".join(lines)


__all__ = ["ASSESSMENTS", "BROAD_CONDITIONS", "CONTEXT", "INSTRUMENTS", "MDQ_KEYS", "RISK",
           "SCREENING", "STEPS", "IntakeState", "has_answers", "scope_check", "split_list"]
