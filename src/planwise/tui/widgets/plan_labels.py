"""How the plan editor's tree and detail strip read: problems numbered by priority with a
"screen only - confirm (c)" mark until the clinician decides, goals with their phase and
"deferred", objectives with their SMART letters and a failing letter's reason, each goal's
interventions, then the treatment block, referrals and assessments with their decisions.
Marks read without colour."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text

from planwise.store.lint import Finding, unconfirmed
from planwise.store.models import (
    AssessmentItem,
    GoalItem,
    InterventionItem,
    ObjectiveItem,
    PlanDoc,
    PlanItem,
    ProblemItem,
    ReferralItem,
    TreatmentItem,
    WarningItem,
)
from planwise.tui.widgets import plan_model as pm
from planwise.tui.widgets.plan_smart import (
    FAIL_STYLE,
    failing,
    findings_text,
    short_reason,
    smart_text,
)

BASIS_SHOWN = {"clinician": "the clinician's assessment",
               "screen_and_concern": "a screening concern and a score over the cut-off",
               "screen_only": "a score alone (no concern, impression or diagnosis names it)"}
TO_CONFIRM = "screen only \u2014 confirm (c):"
WARNINGS = "@warnings"    # the tree key of the warnings' node (no item key starts with @)


def condition_name(p: ProblemItem) -> str:
    return p.condition.replace("_", " ")


def objective_label(o: ObjectiveItem, findings: list[Finding], rejected: bool) -> Text:
    """'S M A R T  open  due 2026-12-06  Write a personal safety plan...'; a failing
    letter's reason follows the letters, so it shows on the line however narrow the
    terminal: 'S !M A R T  !M measure has no number  open  due ...'."""
    out = Text()
    if rejected:
        out.append("(rejected) ")
    else:
        out.append_text(smart_text(failing(findings)))
        out.append("  ")
        reasons = [short_reason(f) for f in findings if not f.blocking]
        if reasons:
            out.append("; ".join(reasons), style=FAIL_STYLE)
            out.append("  ")
    out.append(f"{pm.status_label(o.status)}")
    out.append(f"  due {o.anticipated or '-'}")
    if o.actual:
        out.append(f" done {o.actual}")
    out.append("  " + o.text)
    return out


def problem_label(p: ProblemItem) -> Text:
    """'2. depression (moderate)'; an undecided screen-only problem says so before its
    name, so the mark shows however narrow the terminal."""
    out = Text(f"{p.priority}. " if p.priority else "")
    if unconfirmed(p):
        out.append("? ", style="bold")
        out.append(TO_CONFIRM, style="bold reverse")
        out.append(" ")
    out.append(f"{condition_name(p)} ({p.severity})")
    if pm.is_rejected(p):
        out.append(" (rejected)")
    elif p.basis == "screen_only" and p.confirmed:
        out.append("  screen only, confirmed", style="italic")
    return out


def goal_label(g: GoalItem) -> Text:
    """'Goal (treat, deferred): Process the trauma memory'."""
    tags = [x for x in (g.phase, "deferred" if g.deferred else None) if x]
    out = Text(f"Goal ({', '.join(tags)}): " if tags else "Goal: ")
    out.append(g.text)
    if pm.is_rejected(g):
        out.append(" (rejected)")
    return out


def problem_detail(p: ProblemItem) -> Text:
    out = Text(f"Problem: {condition_name(p)}, {p.severity}", style="bold")
    if p.priority:
        out.append(f"; priority {p.priority} (1 first)")
    out.append("\n")
    if p.basis:
        out.append(f"Basis: {BASIS_SHOWN.get(p.basis, p.basis)}.\n")
    if pm.is_rejected(p):
        out.append(f"Rejected: {p.rejection_reason or ''}\n")
    elif unconfirmed(p):
        out.append("NOT CONFIRMED: c confirms it or rejects it; the plan cannot be signed "
                   "until then.\n", style="bold")
    elif p.basis == "screen_only":
        out.append("Confirmed by the clinician (c to change).\n")
    out.append(f"{len(p.goals)} goal(s). w shows why it was proposed.")
    return out


def goal_detail(g: GoalItem) -> Text:
    out = Text(f"Goal: {g.text}\n", style="bold")
    if g.deferred is not None:
        rules = f" (rules: {', '.join(g.deferred.because)})" if g.deferred.because else ""
        out.append(f"DEFERRED until {g.deferred.until}{rules}\n", style="bold")
    if g.phase:
        out.append(f"Phase: {g.phase}. ")
    out.append("Therapist interventions: " + "; ".join(i.text for i in g.interventions))
    return out


def objective_detail(p: ProblemItem, g: GoalItem, o: ObjectiveItem,
                     findings: list[Finding]) -> Text:
    out = Text()
    out.append(o.text, style="bold")
    out.append(f"  [{o.key}]\n")
    rejected = pm.is_rejected(p, g, o)
    if findings and not rejected:   # first, so the reasons show without scrolling
        out.append_text(findings_text(findings))
        out.append("\n")
    if g.deferred is not None:
        out.append(f"Its goal is deferred until {g.deferred.until}.\n", style="bold")
    for t in o.client_tasks:
        out.append(f"Client task: {t}\n")
    out.append(f"Measure: {o.measure}\n")
    out.append(f"Anticipated {o.anticipated or '-'}; actual {o.actual or '-'}; "
               f"status {pm.status_label(o.status)}\n")
    if rejected:
        out.append("Rejected: not checked and not worked on.")
    elif not findings:
        out.append_text(findings_text(findings))
    return out


def to_confirm(doc: PlanDoc) -> list[ProblemItem]:
    return [p for p in doc.problems if unconfirmed(p)]


def warnings_label(warnings: list[WarningItem]) -> Text:
    """'Warnings (3): unconfirmed screen, risk conflict, course overload'."""
    kinds = ", ".join(dict.fromkeys(w.kind.replace("_", " ") for w in warnings))
    out = Text(f"Warnings ({len(warnings)}): ", style="bold")
    out.append(kinds)
    return out


def warning_label(w: WarningItem) -> Text:
    out = Text(f"! {w.kind.replace('_', ' ')}: {w.message}")
    if pm.is_rejected(w):
        out.append(" (rejected)")
    return out


def warnings_detail(warnings: list[WarningItem], key: str,
                    label: Callable[[str, str], str]) -> Text:
    """The selected warning in full (its kind's name, message, decision); on the
    warnings' node, how many there are and how to read them."""
    w = next((w for w in warnings if w.key == key), None)
    if w is None:
        return Text(f"{len(warnings)} warning(s) on this plan: Enter unfolds them, the "
                    "line under the tree shows the one selected in full.")
    out = Text(f"{label('warning_kinds', w.kind)}\n", style="bold")
    out.append(w.message)
    if pm.is_rejected(w):
        out.append(f"\nRejected: {w.rejection_reason or ''}")
    return out


# --- interventions, the treatment block, referrals, assessments ------------------------

Label = Callable[[str, str], str]
HINT = "e edits, - rejects (with a reason), a accepts again, + adds"
SECTION_HINTS = {"referrals": "+ adds a referral; select one to edit (e) or reject (-) it.",
                 "assessments": "+ adds an assessment to give.",
                 "no_treatment": "+ adds a treatment block (sessions, frequency, level of "
                                 "care, review, modalities)."}


def _decision(item: PlanItem) -> str:
    if item.origin == "proposed_rejected":
        return f" (rejected: {item.rejection_reason or ''})"
    return {"added": " (added)", "proposed_edited": " (edited)"}.get(item.origin or "", "")


def sessions_text(t: TreatmentItem) -> str:
    return str(t.sessions_min) if t.sessions_min == t.sessions_max else \
        f"{t.sessions_min}-{t.sessions_max}"


def intervention_label(i: InterventionItem, rejected_above: bool) -> Text:
    """'Int: Schedule rewarding activities (behavioural_activation)'."""
    out = Text(f"Int: {i.text} ({i.modality})")
    out.append(_decision(i) if not rejected_above or pm.is_rejected(i) else " (rejected)")
    return out


def treatment_label(t: TreatmentItem | None, label: Label) -> Text:
    if t is None:
        return Text("Treatment: none (+ adds a treatment block)", style="bold")
    out = Text("Treatment: ", style="bold")
    out.append(f"{sessions_text(t)} sessions, {t.frequency_per_week}/week, "
               f"{label('levels_of_care', t.level_of_care).lower()}, review at "
               f"{t.review_weeks} wk")
    out.append(_decision(t))
    return out


def referral_label(r: ReferralItem, label: Label) -> Text:
    out = Text(f"{label('referral_kinds', r.kind)}: {r.urgency.upper()}")
    out.append(_decision(r))
    return out


def assessment_label(a: AssessmentItem, name: Callable[[str], str]) -> Text:
    out = Text(f"Give the {name(a.instrument)}")
    out.append(_decision(a))
    return out


def section_label(title: str, items: list[Any]) -> Text:
    live = sum(1 for x in items if not pm.is_rejected(x))
    return Text(f"{title} ({live} of {len(items)} in force)" if live != len(items)
                else f"{title} ({len(items)})", style="bold")


def item_detail(kind: str, item: PlanItem, label: Label, goal: GoalItem | None = None
                ) -> Text:
    """An intervention, the treatment block, a referral or an assessment in full, with
    its decision and the keys that change it."""
    out = Text()
    if isinstance(item, InterventionItem):
        out.append(f"Intervention: {item.text}\n", style="bold")
        out.append(f"Modality: {label('modalities', item.modality)} ({item.modality})\n")
        served = [o.text for o in (goal.objectives if goal else [])
                  if item.key in o.interventions]
        if served:
            out.append("For: " + "; ".join(served) + "\n")
    elif isinstance(item, TreatmentItem):
        out.append(f"Treatment: {sessions_text(item)} sessions, {item.frequency_per_week} a "
                   f"week, {label('levels_of_care', item.level_of_care)}, review every "
                   f"{item.review_weeks} weeks\n", style="bold")
        out.append("Modalities: " + ", ".join(label("modalities", m)
                                              for m in item.modalities) + "\n")
    elif isinstance(item, ReferralItem):
        out.append(f"Referral to {label('referral_kinds', item.kind)}, "
                   f"{item.urgency.upper()}\n", style="bold")
        out.append(f"{item.reason}\n")
    elif isinstance(item, AssessmentItem):
        out.append(f"Assessment: give the {item.instrument}\n", style="bold")
        out.append(f"{item.reason}\n")
    if item.origin == "proposed_rejected":
        out.append(f"REJECTED: {item.rejection_reason or ''} (a accepts it again)\n",
                   style="bold")
    elif item.origin == "added":
        out.append("Added by you.\n")
    out.append(HINT + ("; w: why it was proposed" if item.because else ""))
    return out
