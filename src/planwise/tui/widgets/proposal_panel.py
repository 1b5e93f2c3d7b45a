"""The proposal review's side panel: warnings first (a positive screen to confirm, a risk
conflict, a course that cannot reach every objective...), the treatment block, referrals,
assessments to give and the risk level. Read-only; w explains the highlighted entry."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option


def instrument_name(kb: Any, inst: str) -> str:
    return str(kb.instruments[inst].name) if inst in kb.instruments else inst


class ProposalPanel(OptionList):
    HELP_AREA = "proposal"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proposal: Any = None

    def show(self, proposal: Any, kb: Any) -> None:
        self.proposal = p = proposal
        highlighted = self.highlighted
        self.clear_options()
        options: list[Option] = [Option(Text(f"Warnings ({len(p.warnings)})", style="bold"),
                                        disabled=True)]
        for i, w in enumerate(p.warnings):
            options.append(Option(Text(f"! {w.kind.replace('_', ' ')}"), id=f"warning:{i}"))
        t = p.treatment
        if t is not None:
            sessions = str(t.sessions.min) if t.sessions.min == t.sessions.max else \
                f"{t.sessions.min}-{t.sessions.max}"
            options.append(Option(Text("Treatment", style="bold"), disabled=True))
            options.append(Option(Text(
                f"{sessions} sessions, {t.frequency_per_week}/week, "
                f"{kb.label('levels_of_care', t.level_of_care).lower()}, review at "
                f"{t.review_weeks} wk"), id="treatment"))
        else:
            options.append(Option(Text("Treatment: none (no problem established)"),
                                  disabled=True))
        options.append(Option(Text(f"Referrals ({len(p.referrals)})", style="bold"),
                              disabled=True))
        for i, ref in enumerate(p.referrals):
            options.append(Option(Text(
                f"{kb.label('referral_kinds', ref.kind)}: {ref.urgency.upper()}"),
                id=f"referral:{i}"))
        if p.assessments:
            options.append(Option(Text("Assessments to give", style="bold"), disabled=True))
        for i, a in enumerate(p.assessments):
            options.append(Option(Text(instrument_name(kb, a.instrument)),
                                  id=f"assessment:{i}"))
        options.append(Option(Text(f"Risk: {p.risk.level}"), id="risk"))
        self.add_options(options)
        if highlighted is not None and highlighted < self.option_count:
            self.highlighted = highlighted

    def _entry(self) -> tuple[str, int]:
        if self.highlighted is None or self.proposal is None:
            return "", -1
        kind, _, idx = (self.get_option_at_index(self.highlighted).id or "").partition(":")
        return kind, int(idx) if idx else -1

    def detail(self, kb: Any) -> str:
        """The highlighted entry in full (the strip under the tree)."""
        kind, i = self._entry()
        p = self.proposal
        if kind == "treatment" and p.treatment is not None:
            return "Modalities: " + ", ".join(kb.label("modalities", m)
                                              for m in p.treatment.modalities)
        if kind == "referral":
            return str(p.referrals[i].reason)
        if kind == "warning":
            w = p.warnings[i]
            return f"{kb.label('warning_kinds', w.kind)}: {w.message}"
        if kind == "assessment":
            return str(p.assessments[i].reason)
        if kind == "risk":
            return f"Suicide risk level: {p.risk.level} (w: why)"
        return ""

    def why(self, kb: Any) -> tuple[str, list[str], dict[str, Any]] | None:
        """(title, because, context) of the highlighted entry for the Why screen."""
        kind, i = self._entry()
        p = self.proposal
        if kind == "treatment" and p.treatment is not None:
            return "the treatment block", p.treatment.because, {"kind": "treatment"}
        if kind == "referral":
            r = p.referrals[i]
            return (f"referral to {kb.label('referral_kinds', r.kind)}", r.because,
                    {"kind": "referral", "id": r.kind})
        if kind == "assessment":
            a = p.assessments[i]
            return (f"give the {a.instrument}", a.because,
                    {"kind": "assessment", "id": a.instrument})
        if kind == "warning":
            w = p.warnings[i]
            return f"warning {w.kind}", w.because, {"kind": "warning", "id": w.kind}
        if kind == "risk":
            return f"suicide risk {p.risk.level}", p.risk.because, {"kind": "risk"}
        return None
