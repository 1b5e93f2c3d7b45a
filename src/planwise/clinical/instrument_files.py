"""Instrument files: read `knowledge/instruments/<id>.toml` (and a clinic's
`<extra dir>/instruments/`), check each against the rules of docs/instruments.md, and say
what is wrong with file, id, field and line. The models and the scoring are in
planwise.clinical.instruments."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from planwise.clinical.instruments import (
    _KIND_FLAGS,
    ChangeRules,
    Instrument,
)
from planwise.errors import InputError, KnowledgeError
from planwise.paths import shipped_knowledge_dir
from planwise.tomlfile import find_line, read_toml

__all__ = ["load_instrument_file", "load_instruments", "loinc_check_digit_ok"]


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
