"""Screening and assessment instruments: definitions read from TOML, and scoring.

Each instrument lives in its own file, `knowledge/instruments/<id>.toml`
(format: docs/instruments.md). A clinic can add instruments, or replace a
shipped one, by putting files with the same layout in
`<extra dir>/instruments/`; a later file with the same `id` wins.

Three scoring kinds exist:

- ``sum``: one whole-number answer per item, summed. Allowed answers come from
  the response options (per item where an item has its own options, as for
  AUDIT items 2, 9 and 10). Items listed in ``reverse_items`` score
  ``lowest + highest - answer`` (DAST-10 item 3; RSES items 2, 5, 6, 8, 9).
  Flags are declared in the file (``item`` + ``at_least`` on the raw answer,
  or ``total_at_least``), e.g. PHQ-9 ``item9_positive``.
- ``asq``: the NIMH Ask Suicide-Screening Questions, a table of yes/no answers
  keyed by item. The total counts the yes answers to the screening questions;
  the acuity question is not counted. Flags ``positive`` (any yes, including
  a yes to the acuity question alone) and ``acute`` (acuity question yes);
  the file may add item flags (``item`` + ``at_least = 1``: a yes to that
  question), e.g. ``attempt_ever``.
- ``mdq``: the Mood Disorder Questionnaire. The total counts yes answers
  among the 13 symptom questions; the screen is positive only when the count
  reaches the threshold AND the symptoms happened in the same period AND the
  impairment is at one of the listed levels (Hirschfeld et al. 2000).

Bands are ranges of the total. A band may also name a flag (``when_flag``):
it then applies instead of the plain band when that flag is raised (ASQ
``acute``, MDQ ``positive``). The plain bands must tile
``min_total..max_total`` exactly; this is checked at load time.

An optional ``[change]`` table holds the published figures for judging change
between two totals (reliable change, clinical cut-off, response, remission);
``planwise.clinical.progress`` applies them (docs/progress.md).

Sources for each instrument are cited in its TOML file. Reading and checking the files
is planwise.clinical.instrument_files's job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from planwise.errors import InputError

__all__ = [
    "Band",
    "ChangeRules",
    "Cutoff",
    "FlagRule",
    "Instrument",
    "Item",
    "Option",
    "ReliableChange",
    "Remission",
    "Response",
    "ScoreResult",
    "Scoring",
]

_ID = r"^[a-z][a-z0-9_]*$"
_KIND_FLAGS: dict[str, tuple[str, ...]] = {"asq": ("positive", "acute"), "mdq": ("positive",)}
MDQ_KEYS = ("symptoms", "same_period", "impairment")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


class Option(_Model):
    """One response option: the number recorded and what it means."""

    value: int
    label: str = Field(min_length=1)


class Item(_Model):
    """One question. `text` is None where the licence does not allow item text."""

    number: int = Field(ge=1)
    text: str | None = None
    key: str | None = Field(default=None, pattern=_ID)  # table-shaped instruments (ASQ)
    options: list[Option] | None = None  # this item's own options, if they differ

    @property
    def label(self) -> str:
        """What to show for this item: its text, or "Item N" without one."""
        return self.text if self.text else f"Item {self.number}"


class Band(_Model):
    """A named range of totals, e.g. PHQ-9 `moderate` 10-14."""

    name: str = Field(pattern=_ID)
    label: str = Field(min_length=1)
    min: int
    max: int
    when_flag: str | None = None  # applies instead of the plain band when this flag is raised


class FlagRule(_Model):
    """A flag the scoring raises. Sum instruments say when; ASQ and MDQ flags are built in."""

    name: str = Field(pattern=_ID)
    description: str = Field(min_length=1)
    item: int | None = Field(default=None, ge=1)
    at_least: int | None = None  # raw answer to `item` at least this
    total_at_least: int | None = None


class Scoring(_Model):
    kind: Literal["sum", "asq", "mdq"]
    items: int = Field(ge=1)
    min_total: int
    max_total: int
    reverse_items: list[int] = []
    acute_item: int | None = None  # asq: the acuity question (optional, not counted)
    min_symptoms: int | None = None  # mdq: yes answers needed
    impairment_levels: list[str] | None = None  # mdq: allowed answers, mildest first
    positive_impairment: list[str] | None = None  # mdq: levels that count


class ReliableChange(_Model):
    """How large a change must be to exceed measurement error (Jacobson & Truax 1991).

    Either `points` (a published threshold: a change of at least this many
    points is reliable) or the Jacobson-Truax inputs `sd` (standard deviation
    of the baseline population) and `reliability` (test-retest r), from which
    S_diff = sqrt(2) * sd * sqrt(1 - r) and a change is reliable when
    |change| / S_diff > 1.96. When both are given, `points` decides and the
    index is reported alongside.
    """

    points: float | None = Field(default=None, gt=0)
    sd: float | None = Field(default=None, gt=0)
    reliability: float | None = Field(default=None, gt=0, lt=1)
    source: str = Field(min_length=1)

    @property
    def s_diff(self) -> float | None:
        """The standard error of the difference, where the Jacobson-Truax inputs are given."""
        if self.sd is None or self.reliability is None:
            return None
        return float(math.sqrt(2.0) * self.sd * math.sqrt(1.0 - self.reliability))


class Cutoff(_Model):
    """The score separating the clinical (dysfunctional) from the functional range.

    Give the bound on the side that matches the direction of the instrument:
    `clinical_at_least` when lower is better (PHQ-9: 10 or more is clinical),
    `clinical_at_most` when higher is better (a self-esteem scale: 14 or less).
    """

    clinical_at_least: int | None = None
    clinical_at_most: int | None = None
    source: str = Field(min_length=1)


class Response(_Model):
    """Treatment response: an improvement of `percent` of the baseline's distance from the
    best possible score (PHQ-9: a drop of 50% or more), or of at least `points`."""

    percent: float | None = Field(default=None, gt=0, le=100)
    points: int | None = Field(default=None, gt=0)
    source: str = Field(min_length=1)


class Remission(_Model):
    """Remission: a current total `below` this (lower is better) or `above` it (higher better)."""

    below: int | None = None
    above: int | None = None
    source: str = Field(min_length=1)


class ChangeRules(_Model):
    """The optional `[change]` table: how to judge the change between two totals."""

    lower_is_better: bool
    reliable: ReliableChange
    cutoff: Cutoff | None = None
    response: Response | None = None
    remission: Remission | None = None
    notes: str = ""


class ScoreResult(_Model):
    """The scored answers of one instrument."""

    instrument: str
    total: int
    band: str
    band_label: str
    flags: list[str] = []
    item_scores: list[int] = []  # scored values of the counted items, in order; sum == total


class Instrument(_Model):
    """An instrument definition, as read from its TOML file."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    source: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    item_text_allowed: bool
    stem: str | None = None  # the question that leads into the items, where text is allowed
    notes: str = ""
    critical_items: list[int] = []
    options: list[Option] = Field(min_length=1)
    scoring: Scoring
    bands: list[Band] = Field(min_length=1)
    flags: list[FlagRule] = []
    items: list[Item] = []
    change: ChangeRules | None = None  # published figures for judging change (docs/progress.md)
    # The LOINC code of the total score, where LOINC has one that planwise has checked
    # (docs/instruments.md, "LOINC codes"); the FHIR export codes Observations with it.
    loinc: str | None = Field(default=None, pattern=r"^[0-9]{1,7}-[0-9]$")

    # --- convenience -------------------------------------------------------

    @property
    def kind(self) -> str:
        return self.scoring.kind

    @property
    def min_total(self) -> int:
        return self.scoring.min_total

    @property
    def max_total(self) -> int:
        return self.scoring.max_total

    @property
    def reverse_items(self) -> list[int]:
        return self.scoring.reverse_items

    def item(self, number: int) -> Item:
        return self.items[number - 1]

    def item_label(self, number: int) -> str:
        return self.item(number).label

    def options_for(self, number: int) -> list[Option]:
        own = self.item(number).options
        return own if own is not None else self.options

    def allowed_values(self, number: int) -> list[int]:
        return sorted(o.value for o in self.options_for(number))

    def band_for(self, total: int, flags: Sequence[str] = ()) -> Band:
        """The band of a total. A band tied to a flag wins when that flag is given."""
        if not self.min_total <= total <= self.max_total:
            raise ValueError(
                f"{self.name} total {total} is outside {self.min_total}-{self.max_total}"
            )
        for band in self.bands:
            if band.when_flag and band.when_flag in flags and band.min <= total <= band.max:
                return band
        for band in self.bands:
            if band.when_flag is None and band.min <= total <= band.max:
                return band
        raise AssertionError(f"{self.id}: no band for {total}")  # excluded at load time

    # --- scoring -----------------------------------------------------------

    def score(self, answers: Any, field_prefix: str | None = None) -> ScoreResult:
        """Score raw answers; InputError naming the instrument and the item if they are invalid."""
        prefix = field_prefix or f"instruments.{self.id}"
        if self.kind == "asq":
            total, item_scores, flags = self._score_asq(answers, prefix)
        elif self.kind == "mdq":
            total, item_scores, flags = self._score_mdq(answers, prefix)
        else:
            total, item_scores, flags = self._score_sum(answers, prefix)
        band = self.band_for(total, flags)
        return ScoreResult(
            instrument=self.id,
            total=total,
            band=band.name,
            band_label=band.label,
            flags=flags,
            item_scores=item_scores,
        )

    def _score_sum(self, answers: Any, prefix: str) -> tuple[int, list[int], list[str]]:
        n = self.scoring.items
        if isinstance(answers, str | bytes | Mapping) or not isinstance(answers, Sequence):
            raise InputError(
                f"{self.name} expects a list of {n} answers, got {_kind_of(answers)}",
                field=prefix,
            )
        if len(answers) != n:
            raise InputError(f"expected {n} answers, got {len(answers)}", field=prefix)
        raw: list[int] = []
        scores: list[int] = []
        for number, answer in enumerate(answers, start=1):
            field = f"{prefix}[{number}]"
            allowed = self.allowed_values(number)
            if isinstance(answer, bool) or not isinstance(answer, int):
                raise InputError(
                    f"{self.name} item {number} takes a whole number "
                    f"({_describe(allowed)}), got {_show(answer)}",
                    field=field,
                )
            if answer not in allowed:
                if _contiguous(allowed):
                    msg = (
                        f"answer {answer} is out of range {allowed[0]}-{allowed[-1]} "
                        f"for {self.name} item {number}"
                    )
                else:
                    msg = f"{self.name} item {number} takes {_describe(allowed)}, got {answer}"
                raise InputError(msg, field=field)
            raw.append(answer)
            if number in self.scoring.reverse_items:
                scores.append(allowed[0] + allowed[-1] - answer)
            else:
                scores.append(answer)
        total = sum(scores)
        flags = []
        for rule in self.flags:
            hit = False
            if rule.item is not None and rule.at_least is not None:
                hit = raw[rule.item - 1] >= rule.at_least
            if rule.total_at_least is not None:
                hit = hit or total >= rule.total_at_least
            if hit:
                flags.append(rule.name)
        return total, scores, flags

    def _score_asq(self, answers: Any, prefix: str) -> tuple[int, list[int], list[str]]:
        keyed = {item.key: item for item in self.items}
        acute = self.item(self.scoring.acute_item) if self.scoring.acute_item else None
        if not isinstance(answers, Mapping):
            raise InputError(
                f"{self.name} expects a table of yes/no answers "
                f"({', '.join(str(k) for k in keyed)}), got {_kind_of(answers)}",
                field=prefix,
            )
        for key in answers:
            if key not in keyed:
                raise InputError(
                    f"unknown {self.name} answer {_show(key)} "
                    f"(expected {', '.join(str(k) for k in keyed)})",
                    field=f"{prefix}.{_field_key(key)}",
                )
        scores: list[int] = []
        yes: set[int] = set()
        acute_yes = False
        for item in self.items:
            value = answers.get(item.key)
            field = f"{prefix}.{item.key}"
            is_acute = acute is not None and item.number == acute.number
            if value is None:
                if is_acute:
                    continue  # the acuity question is asked only after a yes
                raise InputError(
                    f"missing {self.name} item {item.number} ({item.key}): answer true or false",
                    field=field,
                )
            if not isinstance(value, bool):
                raise InputError(
                    f"{self.name} item {item.number} ({item.key}) takes true or false, "
                    f"got {_show(value)}",
                    field=field,
                )
            if value:
                yes.add(item.number)
            if is_acute:
                acute_yes = value
            else:
                scores.append(int(value))
        total = sum(scores)
        flags = []
        if total > 0 or acute_yes:
            flags.append("positive")
        if acute_yes:
            flags.append("acute")
        # Item flags the file adds (a yes to one question, e.g. a past attempt), so
        # that rules can tell which answer made the screen positive.
        flags += [rule.name for rule in self.flags
                  if rule.item is not None and rule.item in yes]
        return total, scores, flags

    def _score_mdq(self, answers: Any, prefix: str) -> tuple[int, list[int], list[str]]:
        n = self.scoring.items
        levels = self.scoring.impairment_levels or []
        if not isinstance(answers, Mapping):
            raise InputError(
                f"{self.name} expects a table with {', '.join(MDQ_KEYS)}, got {_kind_of(answers)}",
                field=prefix,
            )
        for key in answers:
            if key not in MDQ_KEYS:
                raise InputError(
                    f"unknown {self.name} answer {_show(key)} (expected {', '.join(MDQ_KEYS)})",
                    field=f"{prefix}.{_field_key(key)}",
                )
        for key in MDQ_KEYS:
            if key not in answers:
                raise InputError(f"missing {self.name} answer '{key}'", field=f"{prefix}.{key}")
        symptoms = answers["symptoms"]
        field = f"{prefix}.symptoms"
        if isinstance(symptoms, str | bytes | Mapping) or not isinstance(symptoms, Sequence):
            raise InputError(
                f"{self.name} symptoms must be a list of {n} true/false answers, "
                f"got {_kind_of(symptoms)}",
                field=field,
            )
        if len(symptoms) != n:
            raise InputError(
                f"expected {n} {self.name} symptom answers, got {len(symptoms)}", field=field
            )
        scores: list[int] = []
        for number, value in enumerate(symptoms, start=1):
            if not isinstance(value, bool):
                raise InputError(
                    f"{self.name} item {number} takes true or false, got {_show(value)}",
                    field=f"{field}[{number}]",
                )
            scores.append(int(value))
        same_period = answers["same_period"]
        if not isinstance(same_period, bool):
            raise InputError(
                f"{self.name} same_period takes true or false, got {_show(same_period)}",
                field=f"{prefix}.same_period",
            )
        impairment = answers["impairment"]
        if not isinstance(impairment, str) or impairment not in levels:
            raise InputError(
                f"{self.name} impairment must be one of {', '.join(levels)}, "
                f"got {_show(impairment)}",
                field=f"{prefix}.impairment",
            )
        total = sum(scores)
        positive = (
            total >= (self.scoring.min_symptoms or 0)
            and same_period
            and impairment in (self.scoring.positive_impairment or [])
        )
        return total, scores, ["positive"] if positive else []


# --- message helpers ---------------------------------------------------------


def _field_key(key: Any) -> str:
    from planwise.text import field_key

    return field_key(str(key))


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    from planwise.text import excerpt

    return excerpt(value)  # a short quotation: the value may be anything a file held


def _kind_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Sequence):
        return "a list"
    return _show(value)


def _contiguous(values: list[int]) -> bool:
    return values == list(range(values[0], values[-1] + 1))


def _describe(values: list[int]) -> str:
    if _contiguous(values):
        return f"{values[0]}-{values[-1]}"
    head = ", ".join(str(v) for v in values[:-1])
    return f"{head} or {values[-1]}"
