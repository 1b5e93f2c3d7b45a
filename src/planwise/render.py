"""A proposal as text (terminal), Markdown (documents) or JSON (the contract)."""

from __future__ import annotations

import json
import textwrap

from planwise.kb.loader import KnowledgeBase
from planwise.models.proposal import Problem, Proposal


def render_proposal(proposal: Proposal, kb: KnowledgeBase, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(proposal.model_dump(by_alias=True, mode="json"), indent=2)
    if fmt == "markdown":
        return _markdown(proposal, kb)
    return _text(proposal, kb)


# How a problem's basis reads; a problem the clinician set needs no mark.
BASIS_TEXT = {"screen_only": "screen only: confirm or reject",
              "screen_and_concern": "screen and concern"}


def ordered(p: Proposal) -> list[tuple[int, Problem]]:
    """(number, problem) in the order the plan addresses them: by priority when the
    proposal has one (older proposals: as listed)."""
    probs = sorted(enumerate(p.problems), key=lambda ip: (
        ip[1].priority if ip[1].priority is not None else len(p.problems) + ip[0], ip[0]))
    return [(prob.priority or n, prob) for n, (_i, prob) in enumerate(probs, 1)]


def _inst_name(kb: KnowledgeBase, inst: str) -> str:
    return kb.instruments[inst].name if inst in kb.instruments else inst


def _band(kb: KnowledgeBase, inst: str, band: str) -> str:
    if inst in kb.instruments:
        for b in kb.instruments[inst].bands:
            if b.name == band:
                return b.label
    return band.replace("_", " ")


def _wrap(text: str, indent: str, width: int = 78) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent,
                         subsequent_indent=indent + "  ")


def _text(p: Proposal, kb: KnowledgeBase) -> str:
    out: list[str] = []
    out.append("SCORES")
    if not p.scores:
        out.append("  (no instruments answered)")
    for s in p.scores:
        flags = f"  [{', '.join(s.flags)}]" if s.flags else ""
        out.append(f"  {_inst_name(kb, s.instrument):10} {s.total:>3}  "
                   f"{_band(kb, s.instrument, s.band)}{flags}")
    out.append("")
    out.append(f"SUICIDE RISK: {p.risk.level.upper()}   (because: {', '.join(p.risk.because)})")
    out.append("")
    out.append("PROBLEMS (in the order the plan addresses them)" if p.problems else "PROBLEMS")
    if not p.problems:
        out.append("  (none established: see assessments and warnings)")
    for n, prob in ordered(p):
        out.append(_wrap(f"{n}. {kb.label('conditions', prob.condition)} ({prob.severity})"
                         + (f"  [{BASIS_TEXT[prob.basis]}]" if prob.basis in BASIS_TEXT
                            else ""), ""))
        for goal in prob.goals:
            phase = f" ({goal.phase})" if goal.phase else ""
            out.append(_wrap(f"Goal{phase}: {goal.text}  [{goal.id}]", "   "))
            if goal.deferred is not None:
                out.append(_wrap(f"deferred until {goal.deferred.until} "
                                 f"(rules: {', '.join(goal.deferred.because)})", "     "))
            for o in goal.objectives:
                out.append(_wrap(f"- Objective: {o.text} (target {o.target_weeks} wk)", "     "))
                out.append(_wrap(f"client: {o.client_action}", "         "))
                out.append(_wrap(f"measure: {o.measure}", "         "))
            for i in goal.interventions:
                out.append(_wrap(f"- Intervention ({kb.label('modalities', i.modality)}): "
                                 f"{i.text}", "     "))
    out.append("")
    t = p.treatment
    if t:
        out.append("TREATMENT")
        out.append(f"  {t.sessions.min}-{t.sessions.max} sessions, {t.frequency_per_week} a week, "
                   f"{kb.label('levels_of_care', t.level_of_care).lower()}, "
                   f"review every {t.review_weeks} weeks")
        out.append(_wrap("modalities: " + ", ".join(kb.label("modalities", m)
                                                    for m in t.modalities), "  "))
        out.append("")
    if p.referrals:
        out.append("REFERRALS")
        for r in p.referrals:
            out.append(_wrap(f"- {kb.label('referral_kinds', r.kind)} [{r.urgency}]: {r.reason}",
                             "  "))
        out.append("")
    if p.assessments:
        out.append("ASSESSMENTS TO GIVE")
        for a in p.assessments:
            out.append(_wrap(f"- {_inst_name(kb, a.instrument)}: {a.reason}", "  "))
        out.append("")
    if p.warnings:
        out.append("WARNINGS")
        for w in p.warnings:
            out.append(_wrap(f"! {w.kind}: {w.message}", "  "))
        out.append("")
    out.append("Run `planwise explain` on the same intake to see why each item was proposed.")
    return "\n".join(out)


def _markdown(p: Proposal, kb: KnowledgeBase) -> str:
    out = ["# Treatment plan proposal", ""]
    out += ["## Scores", "", "| Instrument | Total | Band | Flags |", "|---|---|---|---|"]
    for s in p.scores:
        out.append(f"| {_inst_name(kb, s.instrument)} | {s.total} | "
                   f"{_band(kb, s.instrument, s.band)} | {', '.join(s.flags)} |")
    out += ["", f"**Suicide risk:** {p.risk.level} (because: {', '.join(p.risk.because)})", ""]
    out += ["## Problems", ""]
    if p.problems:
        out += ["In the order the plan addresses them (1 first).", ""]
    for n, prob in ordered(p):
        out += [f"### {n}. {kb.label('conditions', prob.condition)} ({prob.severity})", ""]
        if prob.basis == "screen_only":
            out += ["**Screen only: confirm or reject.** A score over the cut-off that no "
                    "concern, impression or diagnosis names; the clinician confirms or "
                    "rejects it before the plan is signed.", ""]
        elif prob.basis in BASIS_TEXT:
            out += [f"*Basis:* {BASIS_TEXT[prob.basis]}", ""]
        for goal in prob.goals:
            phase = f" ({goal.phase})" if goal.phase else ""
            out += [f"#### Goal{phase}: {goal.text}", "", f"*because:* {', '.join(goal.because)}",
                    ""]
            if goal.deferred is not None:
                out += [f"**Deferred until** {goal.deferred.until} (rules: "
                        f"{', '.join(goal.deferred.because)})", ""]
            out += ["| Objective | Client will | Measure | Target |", "|---|---|---|---|"]
            for o in goal.objectives:
                out.append(f"| {o.text} | {o.client_action} | {o.measure} | "
                           f"{o.target_weeks} weeks |")
            out += ["", "Interventions (therapist will):", ""]
            for i in goal.interventions:
                out.append(f"- *{kb.label('modalities', i.modality)}*: {i.text}")
            out.append("")
    if p.treatment:
        t = p.treatment
        out += ["## Treatment", "",
                f"- Sessions: {t.sessions.min}-{t.sessions.max}, {t.frequency_per_week} a week",
                f"- Level of care: {kb.label('levels_of_care', t.level_of_care)}",
                f"- Review every {t.review_weeks} weeks",
                f"- Modalities: {', '.join(kb.label('modalities', m) for m in t.modalities)}",
                f"- Because: {', '.join(t.because)}", ""]
    if p.referrals:
        out += ["## Referrals", ""]
        out += [f"- **{kb.label('referral_kinds', r.kind)}** ({r.urgency}): {r.reason}"
                for r in p.referrals]
        out.append("")
    if p.assessments:
        out += ["## Assessments to give", ""]
        out += [f"- **{_inst_name(kb, a.instrument)}**: {a.reason}" for a in p.assessments]
        out.append("")
    if p.warnings:
        out += ["## Warnings", ""]
        out += [f"- **{w.kind}**: {w.message}" for w in p.warnings]
        out.append("")
    return "\n".join(out)
