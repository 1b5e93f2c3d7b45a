"""The proposal review's side panel: warnings first (a positive screen to confirm, a risk
conflict, a course that cannot reach every objective...), the treatment block, referrals,
assessments to give and the risk level.

The treatment block, referrals and assessments are decided here as the tree's items are
(a accepts, r rejects with a reason, e edits, + adds a referral or an assessment), with
the same marks; after a what-if, NEW, struck "- ... (no longer proposed)" and CHANGED
mark what moved, warnings included. w explains the highlighted entry."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from planwise.tui.widgets.proposal_model import Item, Review
from planwise.tui.widgets.proposal_tree import detail_lines, instrument_name, label

__all__ = ["ProposalPanel", "instrument_name"]

SECTIONS = (("warning", "Warnings"), ("treatment", "Treatment"), ("referral", "Referrals"),
            ("assessment", "Assessments to give"))


class ProposalPanel(OptionList):
    HELP_AREA = "proposal"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proposal: Any = None
        self.review: Review | None = None

    def show(self, proposal: Any, kb: Any, review: Review) -> None:
        self.proposal, self.review = proposal, review
        highlighted = self.highlighted
        self.clear_options()
        options: list[Option] = []
        for kind, title in SECTIONS:
            live = [it for it in review.all_items() if it.kind == kind]
            gone = [it for it in review.gone if it.kind == kind]
            if kind == "assessment" and not live and not gone:
                continue
            head = f"{title} ({len(live)})" if kind in ("warning", "referral") else title
            if kind == "treatment" and not live and not gone:
                head = "Treatment: none (no problem established)"
            options.append(Option(Text(head, style="bold"), disabled=True))
            options += [Option(label(review, it, kb), id=f"item:{it.key}") for it in live]
            options += [Option(label(review, it, kb, gone=True), id=f"item:{it.key}")
                        for it in gone]
        options.append(Option(Text(f"Risk: {proposal.risk.level}"), id="risk"))
        self.add_options(options)
        if highlighted is not None and highlighted < self.option_count:
            self.highlighted = highlighted
        elif self.highlighted is None:
            self.highlighted = next((i for i, o in enumerate(options) if not o.disabled), None)

    def _entry(self) -> str:
        if self.highlighted is None or self.proposal is None:
            return ""
        return self.get_option_at_index(self.highlighted).id or ""

    def selected_item(self) -> Item | None:
        """The highlighted treatment block, referral, assessment or warning."""
        entry = self._entry()
        if not entry.startswith("item:") or self.review is None:
            return None
        return self.review.get(entry.removeprefix("item:"))

    def detail(self, kb: Any) -> str:
        """The highlighted entry in full (the strip under the tree)."""
        it = self.selected_item()
        if it is not None and self.review is not None:
            return "\n".join(detail_lines(self.review, it.key, kb))
        if self._entry() == "risk":
            return f"Suicide risk level: {self.proposal.risk.level} (w: why)"
        return ""

    def why(self, kb: Any) -> tuple[str, list[str], dict[str, Any]] | None:
        """(title, because, context) of the highlighted entry for the Why screen."""
        p = self.proposal
        if self._entry() == "risk":
            return f"suicide risk {p.risk.level}", p.risk.because, {"kind": "risk"}
        it = self.selected_item()
        if it is None:
            return None
        f = it.fields
        if it.kind == "treatment":
            return "the treatment block", it.because, {"kind": "treatment"}
        if it.kind == "referral":
            return (f"referral to {kb.label('referral_kinds', f['kind'])}", it.because,
                    {"kind": "referral", "id": f["kind"]})
        if it.kind == "assessment":
            return (f"give the {f['instrument']}", it.because,
                    {"kind": "assessment", "id": f["instrument"]})
        return (f"warning {f['kind']}", it.because, {"kind": "warning", "id": f["kind"]})
