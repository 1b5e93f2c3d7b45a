"""Change between two totals of one instrument, judged by the published numbers.

`classify(instrument, baseline_total, current_total)` compares a new total with
the baseline using the instrument's `[change]` table (knowledge/instruments/,
docs/progress.md):

- **Reliable change** (Jacobson & Truax 1991): a change large enough not to be
  measurement error. With a published threshold, a change of at least that many
  points; with the Jacobson-Truax inputs, RC = (x2 - x1) / S_diff where
  S_diff = sqrt(2) * SD * sqrt(1 - r), reliable when |RC| > 1.96. The class is
  direction-aware: for the PHQ-9 a fall is an improvement, for a self-esteem
  scale a rise is.
- **Recovered** (Jacobson & Truax): reliably improved AND moved from the
  clinical range at baseline into the functional range now.
- **Response** and **remission**: as the instrument defines them (PHQ-9: a drop
  of 50% or more; a total under 5).

An instrument without a `[change]` table gives a "not_classified" result, not an
error. Pure domain code: no storage, no interface.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from planwise.clinical.instruments import ChangeRules, Instrument
from planwise.errors import InputError

__all__ = ["Z_RELIABLE", "ChangeClass", "ChangeResult", "classify", "in_remission",
           "reliable_threshold"]

Z_RELIABLE = 1.96  # |RC| above this: change beyond measurement error (95%, two-sided)

ChangeClass = Literal[
    "reliably_improved", "no_reliable_change", "reliably_deteriorated", "not_classified"
]


class ChangeResult(BaseModel):
    """How one total compares with the baseline."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    instrument: str
    baseline: int
    current: int
    change: int  # current - baseline, in points (negative: the total fell)
    improvement: int | None = None  # points better (negative: worse); None if not classified
    change_class: ChangeClass
    threshold: float | None = None  # points a change must reach to be reliable
    rc_index: float | None = None  # Jacobson-Truax RC = change / S_diff, where the inputs exist
    recovered: bool | None = None  # None: no cut-off recorded
    response: bool | None = None  # None: no response definition recorded
    remission: bool | None = None  # None: no remission definition recorded
    explain: str

    @property
    def classified(self) -> bool:
        return self.change_class != "not_classified"

    @property
    def reliable(self) -> bool:
        return self.change_class in ("reliably_improved", "reliably_deteriorated")


def reliable_threshold(rules: ChangeRules) -> tuple[float, bool]:
    """The threshold in points, and whether a change equal to it already counts.

    A published threshold counts at equality ("5 points or more"); the
    Jacobson-Truax index must exceed 1.96, so the derived threshold does not.
    Either way a change strictly inside the threshold is never reliable.
    """
    rel = rules.reliable
    if rel.points is not None:
        return rel.points, True
    s_diff = rel.s_diff
    if s_diff is None:  # excluded when the file is loaded
        raise ValueError("reliable change needs points or sd and reliability")
    return Z_RELIABLE * s_diff, False


def _is_reliable(size: int, rules: ChangeRules) -> bool:
    threshold, inclusive = reliable_threshold(rules)
    return size >= threshold if inclusive else size > threshold


def change_class_of(inst: Instrument, baseline: int, current: int) -> ChangeClass:
    """The change class alone (no checks, no explanation): what `classify` says, cheaply
    enough for a whole caseload."""
    rules = inst.change
    if rules is None:
        return "not_classified"
    if not _is_reliable(abs(current - baseline), rules):
        return "no_reliable_change"
    improvement = baseline - current if rules.lower_is_better else current - baseline
    return "reliably_improved" if improvement > 0 else "reliably_deteriorated"


def in_remission(inst: Instrument, total: int) -> bool | None:
    """Whether one total is in remission as the instrument defines it (PHQ-9: under 5);
    None when it records no remission definition. One definition for `classify` and the
    review's remission streak."""
    rem = inst.change.remission if inst.change is not None else None
    if rem is None:
        return None
    return total < rem.below if rem.below is not None else total > (rem.above or 0)


def _clinical(total: int, rules: ChangeRules) -> bool | None:
    cut = rules.cutoff
    if cut is None:
        return None
    if cut.clinical_at_least is not None:
        return total >= cut.clinical_at_least
    if cut.clinical_at_most is not None:
        return total <= cut.clinical_at_most
    return None


def _check_total(inst: Instrument, value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(
            f"the {what} {inst.name} total must be a whole number, got {value!r}",
            field=f"progress.{inst.id}.{what}",
        )
    if not inst.min_total <= value <= inst.max_total:
        raise InputError(
            f"the {what} {inst.name} total {value} is outside {inst.min_total}-{inst.max_total}",
            field=f"progress.{inst.id}.{what}",
        )
    return value


def _num(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def _pts(n: float) -> str:
    return f"{_num(n)} point" + ("" if n == 1 else "s")


def classify(instrument: Instrument, baseline_total: int, current_total: int) -> ChangeResult:
    """Compare `current_total` with `baseline_total` on `instrument` (see the module doc)."""
    inst = instrument
    x1 = _check_total(inst, baseline_total, "baseline")
    x2 = _check_total(inst, current_total, "current")
    change = x2 - x1
    rules = inst.change
    moved = f"{inst.name} went from {x1} to {x2}"
    if rules is None:
        return ChangeResult(
            instrument=inst.id,
            baseline=x1,
            current=x2,
            change=change,
            change_class="not_classified",
            explain=(
                f"{moved} ({change:+d} points). Change is not classified: the knowledge base "
                f"records no reliable-change figure for the {inst.name}."
            ),
        )

    lower = rules.lower_is_better
    improvement = -change if lower else change
    best = inst.min_total if lower else inst.max_total
    threshold, _ = reliable_threshold(rules)
    change_class = change_class_of(inst, x1, x2)
    s_diff = rules.reliable.s_diff
    rc_index = change / s_diff if s_diff else None

    if improvement == 0:
        size = "no change"
    else:
        size = f"{_pts(abs(improvement))} {'better' if improvement > 0 else 'worse'}"
    parts = [f"{moved}: {size} ({'lower' if lower else 'higher'} scores are better)."]
    if rules.reliable.points is not None:
        rule_text = f"a change of at least {_pts(threshold)}"
    else:
        rule_text = (
            f"a Jacobson-Truax index above {Z_RELIABLE} (S_diff {_num(s_diff or 0.0)}, so more "
            f"than {_num(threshold)} points; SD {_num(rules.reliable.sd or 0.0)}, "
            f"r {_num(rules.reliable.reliability or 0.0)})"
        )
    verdict = change_class.replace("_", " ")
    parts.append(f"Reliable change needs {rule_text} ({rules.reliable.source}): {verdict}.")
    if rc_index is not None:
        parts.append(f"Reliable change index {rc_index:+.2f}.")

    recovered: bool | None = None
    was, now = _clinical(x1, rules), _clinical(x2, rules)
    if rules.cutoff is None or was is None or now is None:
        parts.append("No clinical cut-off is recorded, so recovery is not classified.")
    else:
        cut = rules.cutoff
        if cut.clinical_at_least is not None:
            rng = f"{cut.clinical_at_least} or more"
        else:
            rng = f"{cut.clinical_at_most} or less"
        recovered = change_class == "reliably_improved" and was and not now
        if recovered:
            why = "reliably improved and moved from the clinical range into the functional range"
        elif change_class != "reliably_improved":
            why = "not reliably improved"
        elif not was:
            why = "the baseline was already outside the clinical range"
        else:
            why = "still in the clinical range"
        parts.append(
            f"Recovered: {'yes' if recovered else 'no'}, {why} "
            f"(clinical range {rng}; {cut.source})."
        )

    response: bool | None = None
    if rules.response is not None:
        resp = rules.response
        if resp.percent is not None:
            room = abs(x1 - best)
            response = room > 0 and improvement * 100 >= resp.percent * room
            if room and improvement <= 0:
                share = "no improvement on the baseline"
            elif room:
                share = (
                    f"improved by {improvement * 100 / room:.0f}% of the {room} points between "
                    f"the baseline and the best possible score ({best})"
                )
            else:
                share = "the baseline was already the best possible score"
            rule = f"an improvement of at least {_num(resp.percent)}% from baseline"
            parts.append(
                f"Response: {'yes' if response else 'no'}, {share}; "
                f"response is {rule} ({resp.source})."
            )
        elif resp.points is not None:
            response = improvement >= resp.points
            parts.append(
                f"Response: {'yes' if response else 'no'}; response is an improvement of at "
                f"least {_pts(resp.points)} ({resp.source})."
            )

    remission = in_remission(inst, x2)
    if rules.remission is not None:
        rem = rules.remission
        rule = f"a total below {rem.below}" if rem.below is not None else \
            f"a total above {rem.above}"
        yes_no = "yes" if remission else "no"
        parts.append(f"Remission: {yes_no}; remission is {rule} ({rem.source}).")

    missing = [n for n, v in (("response", response), ("remission", remission)) if v is None]
    if missing:
        parts.append(f"No {' or '.join(missing)} definition is recorded for the {inst.name}.")

    return ChangeResult(
        instrument=inst.id,
        baseline=x1,
        current=x2,
        change=change,
        improvement=improvement,
        change_class=change_class,
        threshold=threshold,
        rc_index=rc_index,
        recovered=recovered,
        response=response,
        remission=remission,
        explain=" ".join(parts),
    )
