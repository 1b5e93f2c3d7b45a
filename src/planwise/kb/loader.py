"""Load knowledge/ (and a clinic's own folders) into one checked KnowledgeBase.

Order: the shipped folder first, then each `--knowledge DIR` in turn. An entry
(rule, goal, vocabulary item, instrument) whose id was already loaded from an
earlier folder replaces it; the same id twice within one folder is an error.
A rule can be switched off by overriding it with `enabled = false`.

Every error is a KnowledgeError naming the file, the entry id and the line.
What a rule may say is checked in planwise.kb.checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from planwise.clinical.instrument_files import load_instruments
from planwise.clinical.instruments import Instrument
from planwise.errors import InputError, KnowledgeError
from planwise.kb.checks import check_rule, check_structure
from planwise.kb.located import knowledge_error as _kerr
from planwise.kb.overrides import clinic_changes
from planwise.kb.patterns import Conclusion, Pattern, PatternError, parse_then, parse_when
from planwise.kb.schema import (
    GoalEntry,
    InterventionEntry,
    KnowledgeFile,
    ObjectiveEntry,
    RuleEntry,
    VocabEntry,
    Vocabulary,
)
from planwise.models.review import ChangeKind
from planwise.paths import shipped_knowledge_dir
from planwise.tomlfile import find_line, read_toml

# Built-in value lists that `allowed` offers beside the vocabulary files' own.
RISK_LEVELS = ("none", "low", "moderate", "high", "unassessed")
BASES = ("clinician", "screen_and_concern", "screen_only")
CHANGE_CLASSES = ("reliably_improved", "no_reliable_change", "reliably_deteriorated",
                  "not_classified", "baseline_only")
CHANGE_KINDS: tuple[str, ...] = get_args(ChangeKind)


class Located:
    """Where an entry is written. The line is looked up only when asked for:
    searching the text for every entry made loading several times slower."""

    __slots__ = ("file", "_text", "_entry", "_line")

    def __init__(self, file: str, text: str, entry: str) -> None:
        self.file = file
        self._text = text
        self._entry = entry
        self._line: int | None | bool = False

    @property
    def line(self) -> int | None:
        if self._line is False:
            self._line = find_line(self._text, entry_id=self._entry)
        return self._line  # type: ignore[return-value]


@dataclass(frozen=True)
class CompiledRule:
    entry: RuleEntry
    patterns: tuple[Pattern, ...]
    conclusions: tuple[Conclusion, ...]
    index: int
    located: Located

    @property
    def file(self) -> str:
        return self.located.file

    @property
    def line(self) -> int | None:
        return self.located.line

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def stage(self) -> str:
        return self.entry.stage


@dataclass
class KnowledgeBase:
    rules: list[CompiledRule]
    goals: dict[str, GoalEntry]
    objectives: dict[str, tuple[ObjectiveEntry, str]]
    interventions: dict[str, tuple[InterventionEntry, str]]
    vocab: dict[str, dict[str, VocabEntry]]
    instruments: dict[str, Instrument]
    dirs: list[Path]
    fingerprint: str
    where: dict[str, Located] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)
    # The review: condition -> its primary measure; instrument -> risk flags.
    primary_measures: dict[str, str] = field(default_factory=dict)
    risk_flags: dict[str, frozenset[str]] = field(default_factory=dict)
    # Shipped rules and goals a clinic folder redefined: (id, the clinic's file).
    replaced: list[tuple[str, str]] = field(default_factory=list)
    # Safety-critical entries a clinic changed with an explicit override:
    # (id, what the clinic did, its reason, its file).
    overrides: list[tuple[str, str, str, str]] = field(default_factory=list)

    def rules_in(self, stage: str) -> list[CompiledRule]:
        return [r for r in self.rules if r.stage == stage]

    def rule(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def label(self, kind: str, item: str) -> str:
        entry = self.vocab.get(kind, {}).get(item)
        return entry.label if entry else item.replace("_", " ")

    def rank(self, kind: str, item: str) -> int:
        entry = self.vocab.get(kind, {}).get(item)
        return entry.rank if entry else 0

    def allowed(self, kind: str) -> set[str]:
        if kind == "concerns+conditions":
            return set(self.vocab["concerns"]) | {
                c for c, e in self.vocab["conditions"].items() if e.intake
            }
        if kind == "instruments":
            return set(self.instruments)
        if kind == "goals":
            return set(self.goals)
        if kind == "risk_levels":
            return set(RISK_LEVELS)
        if kind == "bases":
            return set(BASES)
        if kind == "change_classes":
            return set(CHANGE_CLASSES)
        if kind == "yes_no_unknown":
            return {"yes", "no", "unknown"}
        if kind == "change_kinds":
            return set(CHANGE_KINDS)
        if kind == "interventions":
            return set(self.interventions)
        if kind == "frequencies":
            return {str(n) for n in range(1, 8)}
        if kind == "objective_revisions":
            return {"met", "revise"}
        return set(self.vocab.get(kind, {}))


def _pydantic_error(exc: ValidationError, data: dict[str, Any], file: Path, text: str,
                    section: str | None = None) -> KnowledgeError:
    err = exc.errors()[0]
    loc = list(err["loc"])
    entry = None
    # loc is like ("rules", 3, "when") or ("conditions", 2, "id")
    if len(loc) >= 2 and isinstance(loc[1], int):
        items = data.get(str(loc[0]), [])
        if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
            entry = items[loc[1]].get("id")
    rest = [str(p) if not isinstance(p, int) else f"[{p}]" for p in loc[2:]] if entry else [
        str(p) if not isinstance(p, int) else f"[{p}]" for p in loc]
    fld = ".".join(rest).replace(".[", "[") or None
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling)"
    return _kerr(msg, file, text, entry, fld)


@dataclass
class _Raw:
    """Entries of one folder layer before overriding."""

    vocab: dict[str, dict[str, tuple[VocabEntry, Path, str]]] = field(default_factory=dict)
    rules: dict[str, tuple[RuleEntry, Path, str]] = field(default_factory=dict)
    goals: dict[str, tuple[GoalEntry, Path, str]] = field(default_factory=dict)
    primary_measures: dict[str, tuple[str, Path, str]] = field(default_factory=dict)
    risk_flags: dict[str, tuple[list[str], Path, str]] = field(default_factory=dict)
    safety: list[tuple[str, str]] = field(default_factory=list)  # (kind, pattern)
    overrides: dict[str, tuple[str, Path, str]] = field(default_factory=dict)


def _read_layer(folder: Path, digest: Any) -> _Raw:
    layer = _Raw()
    # Instruments and the feedback form have loaders of their own.
    files = sorted(p for p in folder.rglob("*.toml")
                   if "instruments" not in p.relative_to(folder).parts
                   and p.relative_to(folder) != Path("feedback.toml"))
    for path in files:
        try:
            data, text = read_toml(path)
        except KnowledgeError:
            raise
        except InputError as exc:
            raise KnowledgeError(exc.message, file=exc.file, line=exc.line) from None
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(text.encode())
        if path.name == "vocabulary.toml":
            try:
                vocab = Vocabulary.model_validate(data)
            except ValidationError as exc:
                raise _pydantic_error(exc, data, path, text) from None
            for kind in Vocabulary.model_fields:
                for entry in getattr(vocab, kind):
                    bucket = layer.vocab.setdefault(kind, {})
                    if entry.id in bucket:
                        raise _kerr(f"{kind} id defined twice", path, text, entry.id, "id")
                    bucket[entry.id] = (entry, path, text)
            continue
        try:
            kfile = KnowledgeFile.model_validate(data)
        except ValidationError as exc:
            raise _pydantic_error(exc, data, path, text) from None
        if kfile.safety_critical is not None:
            sc = kfile.safety_critical
            layer.safety += [("rule", p) for p in sc.rules] + [("goal", p) for p in sc.goals]
            layer.safety += [("instrument", p) for p in sc.instruments]
        for ov in kfile.overrides:
            if ov.id in layer.overrides:
                raise _kerr("override given twice", path, text, None, "overrides")
            layer.overrides[ov.id] = (ov.reason, path, text)
        for rule in kfile.rules:
            if rule.id in layer.rules:
                other = layer.rules[rule.id][1]
                raise _kerr(f"rule id already used in {other}", path, text, rule.id, "id")
            layer.rules[rule.id] = (rule, path, text)
        for goal in kfile.goals:
            if goal.id in layer.goals:
                other = layer.goals[goal.id][1]
                raise _kerr(f"goal id already used in {other}", path, text, goal.id, "id")
            layer.goals[goal.id] = (goal, path, text)
        for condition, instrument in kfile.primary_measures.items():
            if condition in layer.primary_measures:
                other = layer.primary_measures[condition][1]
                raise _kerr(f"primary measure of {condition} already given in {other}", path,
                            text, None, f"primary_measures.{condition}")
            layer.primary_measures[condition] = (instrument, path, text)
        for instrument, flags in kfile.risk_flags.items():
            if instrument in layer.risk_flags:
                other = layer.risk_flags[instrument][1]
                raise _kerr(f"risk flags of {instrument} already given in {other}", path, text,
                            None, f"risk_flags.{instrument}")
            layer.risk_flags[instrument] = (flags, path, text)
    return layer


def load_knowledge(extra_dirs: Sequence[Path | str] = ()) -> KnowledgeBase:
    """The shipped knowledge plus each extra folder, checked; cached per set of folders."""
    dirs = tuple(Path(d).resolve() for d in extra_dirs)
    for d in dirs:
        if not d.is_dir():
            raise InputError("knowledge folder not found", file=str(d))
    return _load(dirs, _stamp(dirs))


def _stamp(dirs: tuple[Path, ...]) -> tuple[tuple[str, float, int], ...]:
    # Cache keys include sizes and modification times, so an edited file is re-read.
    stamps = []
    for d in (shipped_knowledge_dir(), *dirs):
        for p in sorted(d.rglob("*.toml")):
            st = p.stat()
            stamps.append((str(p), st.st_mtime, st.st_size))
    return tuple(stamps)


@lru_cache(maxsize=8)
def _load(dirs: tuple[Path, ...], stamps: tuple[tuple[str, float, int], ...]) -> KnowledgeBase:
    from planwise.kb import cache

    cached = cache.read(stamps)
    if isinstance(cached, KnowledgeBase):
        return cached
    kb = _build(dirs)
    cache.write(stamps, kb)
    return kb


def _build(dirs: tuple[Path, ...]) -> KnowledgeBase:
    folders = [shipped_knowledge_dir(), *dirs]
    digest = hashlib.sha256()
    vocab: dict[str, dict[str, tuple[VocabEntry, Path, str]]] = {}
    rules: dict[str, tuple[RuleEntry, Path, str]] = {}
    goals: dict[str, tuple[GoalEntry, Path, str]] = {}
    primary: dict[str, tuple[str, Path, str]] = {}
    risk_flags: dict[str, tuple[list[str], Path, str]] = {}
    for folder in dirs:
        if (folder / "feedback.toml").is_file():
            # The form is read from the shipped knowledge only (planwise.clinical.feedback):
            # refuse a clinic's copy rather than ignore it in silence.
            raise KnowledgeError("a clinic folder cannot replace the end-of-session feedback "
                                 "form yet; remove feedback.toml (see docs/measures.md)",
                                 file=str(folder / "feedback.toml"))
    layers = []
    for folder in folders:
        layer = _read_layer(folder, digest)
        layers.append(layer)
        for kind, entries in layer.vocab.items():
            vocab.setdefault(kind, {}).update(entries)
        rules.update(layer.rules)
        goals.update(layer.goals)
        primary.update(layer.primary_measures)
        risk_flags.update(layer.risk_flags)
    instruments = load_instruments(dirs)
    replaced, overrides = clinic_changes(layers, instruments, load_instruments(()) if dirs
                                          else instruments)
    for name, inst in sorted(instruments.items()):
        digest.update(name.encode())
        digest.update(repr(inst).encode())

    kb = KnowledgeBase(
        rules=[],
        goals={gid: g for gid, (g, _, _) in goals.items() if g.enabled},
        objectives={},
        interventions={},
        vocab={k: {i: e for i, (e, _, _) in v.items()} for k, v in vocab.items()},
        instruments=instruments,
        dirs=list(folders),
        fingerprint=digest.hexdigest()[:16],
        replaced=replaced,
        overrides=overrides,
    )
    for kind in Vocabulary.model_fields:
        kb.vocab.setdefault(kind, {})
    _review_measures(kb, primary, risk_flags)

    for gid, (goal, path, text) in goals.items():
        kb.where[gid] = Located(str(path), text, gid)
        if not goal.enabled:
            continue
        if goal.condition not in kb.vocab["conditions"]:
            raise _kerr(f"unknown condition {goal.condition!r}", path, text, gid, "condition")
        for obj in goal.objectives:
            if obj.id in kb.objectives or obj.id in kb.goals or obj.id in kb.interventions:
                raise _kerr("objective id already used", path, text, obj.id, "id")
            kb.objectives[obj.id] = (obj, gid)
            kb.where[obj.id] = Located(str(path), text, obj.id)
        for itv in goal.interventions:
            if itv.id in kb.interventions or itv.id in kb.goals or itv.id in kb.objectives:
                raise _kerr("intervention id already used", path, text, itv.id, "id")
            if itv.modality not in kb.vocab["modalities"]:
                raise _kerr(f"unknown modality {itv.modality!r}", path, text, itv.id, "modality")
            kb.interventions[itv.id] = (itv, gid)
            kb.where[itv.id] = Located(str(path), text, itv.id)

    index = 0
    for rid, (rule, path, text) in rules.items():
        kb.where[rid] = Located(str(path), text, rid)
        if not rule.enabled:
            kb.disabled.append(rid)
            continue
        try:
            patterns = parse_when(rule.when)
            conclusions = parse_then(rule.then, patterns)
            check_rule(kb, rule, patterns, conclusions)
        except PatternError as exc:
            raise _kerr(str(exc), path, text, rid, exc.field) from None
        kb.rules.append(CompiledRule(rule, patterns, conclusions, index, kb.where[rid]))
        index += 1
    check_structure(kb)
    return kb


def _review_measures(kb: KnowledgeBase, primary: dict[str, tuple[str, Path, str]],
                     risk_flags: dict[str, tuple[list[str], Path, str]]) -> None:
    for condition, (instrument, path, text) in primary.items():
        fld = f"primary_measures.{condition}"
        if condition not in kb.vocab["conditions"]:
            raise _kerr(f"unknown condition {condition!r}", path, text, None, fld)
        if instrument not in kb.instruments:
            raise _kerr(f"unknown instrument {instrument!r}", path, text, None, fld)
        kb.primary_measures[condition] = instrument
    for instrument, (flags, path, text) in risk_flags.items():
        fld = f"risk_flags.{instrument}"
        inst = kb.instruments.get(instrument)
        if inst is None:
            raise _kerr(f"unknown instrument {instrument!r}", path, text, None, fld)
        known = {f.name for f in inst.flags}
        for flag in flags:
            if flag not in known:
                raise _kerr(f"{instrument} has no flag {flag!r} (its flags: "
                            f"{', '.join(sorted(known)) or 'none'})", path, text, None, fld)
        kb.risk_flags[instrument] = frozenset(flags)
