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

Sources for each instrument are cited in its TOML file.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planwise.errors import InputError, KnowledgeError
from planwise.paths import shipped_knowledge_dir
from planwise.tomlfile import find_line, read_toml

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
    "load_instruments",
    "load_instrument_file",
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


# --- loading -----------------------------------------------------------------


def _key_in_table(lines: list[str], header: int, key: str | None) -> int:
    """The line setting `key` in the table whose header is at index `header`, else the header."""
    if key is not None:
        key_pat = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for i in range(header + 1, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if key_pat.match(lines[i]):
                return i + 1
    return header + 1


def _locate(text: str, loc: Sequence[Any], entry_id: str | None) -> int | None:
    """The line of a field path such as ('bands', 2, 'min') in an instrument file."""
    lines = text.splitlines()
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        # An array of tables: the loc[1]-th [[name]] header, then the key inside it.
        header = re.compile(r"^\s*\[\[\s*" + re.escape(loc[0]) + r"\s*\]\]")
        starts = [i for i, line in enumerate(lines) if header.match(line)]
        if loc[1] < len(starts):
            key = next((p for p in reversed(loc[2:]) if isinstance(p, str)), None)
            return _key_in_table(lines, starts[loc[1]], key)
    if len(loc) == 1 and isinstance(loc[0], str):
        # A whole array of tables: its first [[name]] header.
        header = re.compile(r"^\s*\[\[\s*" + re.escape(loc[0]) + r"\s*\]\]")
        first = next((i for i, line in enumerate(lines) if header.match(line)), None)
        if first is not None:
            return first + 1
    if loc and loc[0] == "change":
        # [change] and its sub-tables [change.reliable], [change.cutoff], ...
        names = [p for p in loc if isinstance(p, str)]
        for depth in range(min(len(names), 2), 0, -1):
            table = "[" + ".".join(names[:depth]) + "]"
            found = next((i for i, ln in enumerate(lines) if ln.strip() == table), None)
            if found is not None:
                return _key_in_table(lines, found, names[depth] if depth < len(names) else None)
    if len(loc) >= 2 and loc[0] == "scoring" and isinstance(loc[1], str):
        found = next((i for i, ln in enumerate(lines) if ln.strip() == "[scoring]"), None)
        if found is not None:
            return _key_in_table(lines, found, loc[1])
    key = next((p for p in reversed(loc) if isinstance(p, str)), None)
    return find_line(text, entry_id=entry_id, key=key)


def _fail(message: str, path: Path, text: str, entry: str | None, loc: Sequence[Any]) -> NoReturn:
    field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    raise KnowledgeError(
        message, file=str(path), entry=entry, field=field or None, line=_locate(text, loc, entry)
    )


def loinc_check_digit_ok(code: str) -> bool:
    """LOINC's mod-10 check digit (the digit after the hyphen; the LOINC Users' Guide):
    from the right, every other digit is doubled and the digits of the results summed."""
    body, _, check = code.partition("-")
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return (10 - total % 10) % 10 == int(check)


def _check(inst: Instrument, path: Path, text: str) -> None:
    """Cross-field checks pydantic cannot express field by field."""

    def fail(message: str, *loc: Any) -> NoReturn:
        _fail(message, path, text, inst.id, loc)

    sc = inst.scoring
    n = sc.items
    if inst.loinc is not None and not loinc_check_digit_ok(inst.loinc):
        fail(f"{inst.loinc} is not a LOINC code: its check digit is wrong (a typo?)", "loinc")
    if path.stem != inst.id:
        fail(f"the file name must be the instrument id ({inst.id}.toml)", "id")
    if [o.value for o in inst.options] != sorted({o.value for o in inst.options}):
        fail("option values must be distinct and in ascending order", "options")
    if len(inst.items) != n or [it.number for it in inst.items] != list(range(1, n + 1)):
        fail(f"items must be numbered 1 to {n} in order (scoring.items = {n})", "items")
    for idx, it in enumerate(inst.items):
        if it.text is not None and not inst.item_text_allowed:
            fail("item text given although item_text_allowed is false", "items", idx, "text")
        if it.options is not None:
            values = [o.value for o in it.options]
            if not values or values != sorted(set(values)):
                fail("option values must be distinct and ascending", "items", idx, "options")
    if inst.stem is not None and not inst.item_text_allowed:
        fail("stem given although item_text_allowed is false", "stem")
    for number in sc.reverse_items:
        if not 1 <= number <= n:
            fail(f"reverse item {number} is not between 1 and {n}", "scoring", "reverse_items")
    for number in inst.critical_items:
        if not 1 <= number <= n:
            fail(f"critical item {number} is not between 1 and {n}", "critical_items")

    # Kind-specific settings and the totals they imply.
    if sc.kind == "sum":
        for key in ("acute_item", "min_symptoms", "impairment_levels", "positive_impairment"):
            if getattr(sc, key) is not None:
                fail(f"{key} applies only to kind 'asq' or 'mdq'", "scoring", key)
        low = sum(inst.allowed_values(k)[0] for k in range(1, n + 1))
        high = sum(inst.allowed_values(k)[-1] for k in range(1, n + 1))
    elif sc.kind == "asq":
        if sc.reverse_items:
            fail("reverse_items applies only to kind 'sum'", "scoring", "reverse_items")
        keys = [it.key for it in inst.items]
        if None in keys or len(set(keys)) != len(keys):
            fail("every ASQ item needs a distinct key", "items")
        if sc.acute_item is not None and not 1 <= sc.acute_item <= n:
            fail(f"acute_item must be between 1 and {n}", "scoring", "acute_item")
        low, high = 0, n - (1 if sc.acute_item is not None else 0)
    else:
        if sc.reverse_items:
            fail("reverse_items applies only to kind 'sum'", "scoring", "reverse_items")
        levels = sc.impairment_levels or []
        if sc.min_symptoms is None or not 0 < sc.min_symptoms <= n:
            fail(f"min_symptoms must be between 1 and {n}", "scoring", "min_symptoms")
        if not levels or len(set(levels)) != len(levels):
            fail("impairment_levels must list distinct levels", "scoring", "impairment_levels")
        if not sc.positive_impairment or not set(sc.positive_impairment) <= set(levels):
            fail(
                "positive_impairment must be a non-empty subset of impairment_levels",
                "scoring",
                "positive_impairment",
            )
        low, high = 0, n
    if (sc.min_total, sc.max_total) != (low, high):
        fail(
            f"min_total-max_total is {sc.min_total}-{sc.max_total} but the items give {low}-{high}",
            "scoring",
            "min_total",
        )

    # Flags.
    names = [f.name for f in inst.flags]
    if len(set(names)) != len(names):
        fail("flag names must be distinct", "flags")
    if sc.kind in _KIND_FLAGS:
        builtin = _KIND_FLAGS[sc.kind]
        # An ASQ file may add item flags (a yes to one question); MDQ flags are fixed.
        added = [f for f in inst.flags if f.name not in builtin] if sc.kind == "asq" else []
        if sorted(f.name for f in inst.flags if f not in added) != sorted(builtin):
            fail(
                f"kind '{sc.kind}' raises the flags {', '.join(builtin)}; "
                + ("declare those (and, if needed, item flags)" if sc.kind == "asq"
                   else "declare exactly those"),
                "flags",
            )
        for idx, rule in enumerate(inst.flags):
            if rule in added:
                if rule.item is None or rule.at_least != 1 or rule.total_at_least is not None:
                    fail("an added ASQ flag names one item with at_least = 1 (a yes)",
                         "flags", idx, "item")
                if not 1 <= rule.item <= n:
                    fail(f"flag item {rule.item} is not between 1 and {n}", "flags", idx, "item")
                continue
            if (rule.item, rule.at_least, rule.total_at_least) != (None, None, None):
                fail(
                    f"'{sc.kind}' flags are built in: give only name and description",
                    "flags",
                    idx,
                    "name",
                )
    else:
        for idx, rule in enumerate(inst.flags):
            by_item = rule.item is not None and rule.at_least is not None
            if (rule.item is None) != (rule.at_least is None) or not (
                by_item or rule.total_at_least is not None
            ):
                fail("a flag needs item with at_least, or total_at_least", "flags", idx, "name")
            if rule.item is not None and rule.item > n:
                fail(f"flag item {rule.item} is not between 1 and {n}", "flags", idx, "item")

    # Bands: the plain ones tile min_total..max_total; flag bands sit inside it.
    band_names = [b.name for b in inst.bands]
    if len(set(band_names)) != len(band_names):
        fail("band names must be distinct", "bands")
    expected = sc.min_total
    for idx, band in enumerate(inst.bands):
        if band.min > band.max:
            fail(f"band '{band.name}' has min {band.min} above max {band.max}", "bands", idx, "min")
        if band.when_flag is not None:
            if band.when_flag not in names:
                fail(
                    f"band '{band.name}' names an undeclared flag '{band.when_flag}'",
                    "bands",
                    idx,
                    "when_flag",
                )
            if band.min < sc.min_total or band.max > sc.max_total:
                fail(
                    f"band '{band.name}' lies outside {sc.min_total}-{sc.max_total}",
                    "bands",
                    idx,
                    "min",
                )
            continue
        if band.min != expected:
            what = "overlaps the band before it" if band.min < expected else "leaves a gap"
            fail(
                f"band '{band.name}' starts at {band.min} but should start at {expected}: "
                f"it {what} (bands must be in order, contiguous and non-overlapping)",
                "bands",
                idx,
                "min",
            )
        expected = band.max + 1
    if expected != sc.max_total + 1:
        fail(f"the bands end at {expected - 1} but the total reaches {sc.max_total}", "bands")
    flagged = [b for b in inst.bands if b.when_flag]
    for i, a in enumerate(flagged):
        for b in flagged[i + 1 :]:
            if a.when_flag == b.when_flag and a.min <= b.max and b.min <= a.max:
                fail(f"bands '{a.name}' and '{b.name}' overlap for the same flag", "bands")

    if inst.change is not None:
        _check_change(inst, inst.change, fail)


def _check_change(inst: Instrument, ch: ChangeRules, fail: Callable[..., NoReturn]) -> None:
    """The [change] table: complete, consistent with the direction, inside the range."""
    lo, hi = inst.min_total, inst.max_total
    span = hi - lo
    rel = ch.reliable
    if (rel.sd is None) != (rel.reliability is None):
        missing = "reliability" if rel.reliability is None else "sd"
        fail("Jacobson-Truax inputs need both sd and reliability", "change", "reliable", missing)
    if rel.points is None and rel.s_diff is None:
        fail("give points, or sd and reliability (Jacobson-Truax)", "change", "reliable")
    threshold = rel.points if rel.points is not None else 1.96 * (rel.s_diff or 0.0)
    if threshold >= span:
        fail(
            f"a reliable change of {threshold:.2f} points can never happen on a {lo}-{hi} scale",
            "change",
            "reliable",
            "points" if rel.points is not None else "sd",
        )
    better = "lower" if ch.lower_is_better else "higher"
    if ch.cutoff is not None:
        cut = ch.cutoff
        if (cut.clinical_at_least is None) == (cut.clinical_at_most is None):
            fail("give exactly one of clinical_at_least and clinical_at_most", "change", "cutoff")
        if ch.lower_is_better:
            if cut.clinical_at_least is None:
                fail(
                    "lower scores are better, so the clinical range is given by clinical_at_least",
                    "change",
                    "cutoff",
                    "clinical_at_most",
                )
            if not lo < cut.clinical_at_least <= hi:
                fail(
                    f"clinical_at_least must be above {lo} and at most {hi}",
                    "change",
                    "cutoff",
                    "clinical_at_least",
                )
        else:
            if cut.clinical_at_most is None:
                fail(
                    "higher scores are better, so the clinical range is given by clinical_at_most",
                    "change",
                    "cutoff",
                    "clinical_at_least",
                )
            if not lo <= cut.clinical_at_most < hi:
                fail(
                    f"clinical_at_most must be at least {lo} and below {hi}",
                    "change",
                    "cutoff",
                    "clinical_at_most",
                )
    if ch.response is not None:
        resp = ch.response
        if (resp.percent is None) == (resp.points is None):
            fail("give exactly one of percent and points", "change", "response")
        if resp.points is not None and resp.points > span:
            fail(
                f"a response of {resp.points} points can never happen on a {lo}-{hi} scale",
                "change",
                "response",
                "points",
            )
    if ch.remission is not None:
        rem = ch.remission
        if (rem.below is None) == (rem.above is None):
            fail("give exactly one of below and above", "change", "remission")
        if ch.lower_is_better:
            if rem.below is None:
                fail(
                    f"{better} scores are better, so remission is a total below a score",
                    "change",
                    "remission",
                    "above",
                )
            if not lo < rem.below <= hi:
                fail(f"below must be above {lo} and at most {hi}", "change", "remission", "below")
        else:
            if rem.above is None:
                fail(
                    f"{better} scores are better, so remission is a total above a score",
                    "change",
                    "remission",
                    "below",
                )
            if not lo <= rem.above < hi:
                fail(f"above must be at least {lo} and below {hi}", "change", "remission", "above")


def load_instrument_file(path: Path) -> Instrument:
    """Read and check one instrument file; KnowledgeError names file, id, field and line."""
    try:
        data, text = read_toml(path)
    except KnowledgeError:
        raise
    except InputError as exc:
        raise KnowledgeError(exc.message, file=str(path), entry=path.stem, line=exc.line) from None
    entry = data.get("id") if isinstance(data.get("id"), str) else path.stem
    if "items" not in data and isinstance(data.get("scoring"), dict):
        count = data["scoring"].get("items")
        if isinstance(count, int) and not isinstance(count, bool) and 0 < count <= 1000:
            # Scoring-only instruments may leave out [[items]]: they are "Item 1".."Item N".
            data = {**data, "items": [{"number": k} for k in range(1, count + 1)]}
    try:
        inst = Instrument.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key '{loc[-1]}'"
        elif err["type"] == "missing":
            msg = f"missing required key '{loc[-1]}'"
        _fail(msg, path, text, entry, loc)
    _check(inst, path, text)
    return inst


def _load_dir(folder: Path) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    for path in sorted(folder.glob("*.toml")):
        inst = load_instrument_file(path)  # the file name equals the id, so ids are unique
        found[inst.id] = inst
    return found


@functools.lru_cache(maxsize=8)
def _load_shipped(folder: Path) -> dict[str, Instrument]:
    return _load_dir(folder)


def load_instruments(extra_dirs: Sequence[Path] = ()) -> dict[str, Instrument]:
    """All instruments: the shipped ones, then each extra dir's `instruments/`; later ids win.

    The shipped set is read once per process; extra dirs are read on every call
    so that a clinic's edits show up.
    """
    catalog = dict(_load_shipped((shipped_knowledge_dir() / "instruments").resolve()))
    for extra in extra_dirs:
        if not Path(extra).is_dir():  # as load_knowledge: a mistyped folder is not skipped
            raise InputError("knowledge folder not found", file=str(extra))
        folder = Path(extra) / "instruments"
        if folder.is_dir():
            catalog.update(_load_dir(folder))
    return catalog
