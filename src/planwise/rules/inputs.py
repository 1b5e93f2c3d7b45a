"""The base facts of one evaluation: the intake and the profile as flat facts."""

from __future__ import annotations

from planwise.facts import make_fact
from planwise.intake_io import ScoredIntake
from planwise.models.profile import Profile
from planwise.rules.memory import Fact


def base_facts(scored: ScoredIntake, profile: Profile | None) -> list[Fact]:
    intake = scored.intake
    ctx = intake.context
    facts: list[Fact] = [
        make_fact(
            "case",
            age=intake.client.age if intake.client.age is not None else -1,
            risk_assessed=intake.risk is not None,
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
    facts += [make_fact("clinician_severity", condition=c, severity=s)
              for c, s in intake.clinician.severity.items()]
    for score in scored.scores:
        facts.append(make_fact("score", instrument=score.instrument, total=score.total,
                               band=score.band))
        facts += [make_fact("flag", instrument=score.instrument, name=f) for f in score.flags]
    if intake.risk is not None:
        r = intake.risk
        facts.append(make_fact("risk_answers", ideation=r.ideation, method=r.method,
                               intent=r.intent, plan=r.plan, behaviour=r.behaviour))
    if profile is not None:
        facts += [make_fact("competency", condition=c)
                  for c in dict.fromkeys(profile.therapist.competencies)]
        facts += [make_fact("trained", modality=m)
                  for m in dict.fromkeys(profile.therapist.modalities)]
    return facts
