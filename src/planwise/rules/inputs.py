"""The base facts of one evaluation: the intake and the profile as flat facts."""

from __future__ import annotations

from planwise.facts import make_fact
from planwise.intake_io import ScoredIntake
from planwise.kb.loader import KnowledgeBase
from planwise.models.profile import Profile
from planwise.rules.memory import Fact


def _condition_of_code(code: str, icd10: dict[str, str]) -> str:
    """The condition whose ICD-10 prefix is the longest match for `code`, or ''."""
    best = ""
    for prefix in icd10:
        if code.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return icd10.get(best, "")


def icd10_prefixes(kb: KnowledgeBase) -> dict[str, str]:
    """ICD-10 prefix -> condition, from the vocabulary's `icd10` lists."""
    return {p: cid for cid, e in kb.vocab["conditions"].items() for p in e.icd10}


def base_facts(scored: ScoredIntake, profile: Profile | None,
               kb: KnowledgeBase | None = None) -> list[Fact]:
    kb_icd10 = icd10_prefixes(kb) if kb is not None else {}
    intake = scored.intake
    ctx = intake.context
    age = intake.client.age
    risk = intake.risk
    facts: list[Fact] = [
        make_fact(
            "case",
            age=age if age is not None else -1,
            minor=age is not None and age < 18,
            older_adult=age is not None and age >= 65,
            risk_assessed=risk is not None and risk.ideation is not None,
            risk_section=risk is not None,
            profile=profile is not None,
            supervised=bool(profile and profile.therapist.supervisor),
            session_limit=ctx.session_limit if ctx.session_limit is not None else -1,
            employment=ctx.employment or "unknown",
            housing=ctx.housing or "unknown",
            trauma=intake.history.trauma,
            withdrawal_complications=intake.history.withdrawal_complications,
        )
    ]
    facts += [make_fact("concern", name=c) for c in dict.fromkeys(intake.screening.concerns)]
    facts += [make_fact("impression", condition=c)
              for c in dict.fromkeys(intake.clinician.impressions)]
    facts += [make_fact("diagnosis", code=code, condition=_condition_of_code(code, kb_icd10))
              for code in dict.fromkeys(intake.clinician.diagnoses)]
    facts += [make_fact("clinician_severity", condition=c, severity=s)
              for c, s in intake.clinician.severity.items()]
    for score in scored.scores:
        facts.append(make_fact("score", instrument=score.instrument, total=score.total,
                               band=score.band))
        facts += [make_fact("flag", instrument=score.instrument, name=f) for f in score.flags]
    if risk is not None:
        # An incomplete section still counts for what it says (intent, a plan,
        # behaviour raise the level); only its missing ideation is unknown.
        r = risk
        facts.append(make_fact("risk_answers", ideation=r.ideation or "unknown", method=r.method,
                               intent=r.intent, plan=r.plan, behaviour=r.behaviour))
    if profile is not None:
        facts += [make_fact("competency", condition=c)
                  for c in dict.fromkeys(profile.therapist.competencies)]
        facts += [make_fact("trained", modality=m)
                  for m in dict.fromkeys(profile.therapist.modalities)]
    return facts
