"""What a rule may say, checked when the knowledge is loaded: facts that exist by
its stage, `not` only on facts complete before it, values from the vocabulary,
conclusions of its stage's output types only, and every stage within
durable-rules' limits (docs/engine.md, "From TOML to rulesets").

Both engines trust what passes here, so a clinic's mistake is refused at load
with the file, rule and line, not met as a wrong proposal or a hang at run time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from planwise.clinical.instruments import Instrument
from planwise.errors import KnowledgeError
from planwise.facts import (
    ALL_STAGES,
    FACT_TYPES,
    RESOLVED_AFTER,
    REVIEW_BASE_TYPES,
    REVIEW_STAGES,
    STAGES,
)
from planwise.kb.patterns import Conclusion, Pattern, PatternError, Ref
from planwise.kb.schema import RuleEntry


class Checked(Protocol):
    """A compiled rule as the structure check reads it (planwise.kb.loader.CompiledRule)."""

    @property
    def patterns(self) -> tuple[Pattern, ...]: ...
    @property
    def id(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int | None: ...


class Knowledge(Protocol):
    """What the checks read of the knowledge base being built (planwise.kb.loader):
    a protocol rather than the class, because the loader imports this module."""

    instruments: dict[str, Instrument]

    def allowed(self, kind: str) -> set[str]: ...
    def rules_in(self, stage: str) -> Sequence[Checked]: ...


# Which vocabulary list each attribute's values must come from.
VOCAB_ATTRS: dict[tuple[str, str], str] = {
    **{(t, "condition"): "conditions" for t in (
        "impression", "clinician_severity", "severity", "problem_found", "problem", "goal",
        "treatment_option", "competency", "intervention", "objective", "diagnosis",
        "priority", "defer")},
    ("defer", "modality"): "modalities",
    ("problem", "basis"): "bases",
    ("concern", "name"): "concerns+conditions",
    ("trained", "modality"): "modalities",
    ("intervention", "modality"): "modalities",
    ("treatment_option", "modalities"): "modalities",
    ("referral", "kind"): "referral_kinds",
    ("referral", "urgency"): "urgencies",
    ("treatment_option", "level_of_care"): "levels_of_care",
    ("treatment", "level_of_care"): "levels_of_care",
    ("warning", "kind"): "warning_kinds",
    ("severity", "severity"): "severities",
    ("clinician_severity", "severity"): "severities",
    ("problem", "severity"): "severities",
    ("score", "instrument"): "instruments",
    ("flag", "instrument"): "instruments",
    ("assessment", "instrument"): "instruments",
    ("goal", "goal"): "goals",
    ("risk_level", "level"): "risk_levels",
    ("risk", "level"): "risk_levels",
    # the review's progress facts
    **{(t, "condition"): "conditions" for t in ("measure", "objective_progress", "goal_progress")},
    ("measure", "instrument"): "instruments",
    ("measure", "change_class"): "change_classes",
    ("measure", "recovered"): "yes_no_unknown",
    ("measure", "response"): "yes_no_unknown",
    ("measure", "remission"): "yes_no_unknown",
    ("risk_signal", "source"): "instruments",
    ("modality", "name"): "modalities",
    ("referral_made", "kind"): "referral_kinds",
    ("course", "level_of_care"): "levels_of_care",
    ("course", "risk_level"): "risk_levels",
    ("change", "kind"): "change_kinds",
}
# What a change's `item` names, by kind (see planwise.models.review).
CHANGE_ITEMS: dict[str, str] = {
    "refer": "referral_kinds",
    "step_up_care": "levels_of_care",
    "change_intervention": "modalities",
    "add_intervention": "interventions",
    "step_up_frequency": "frequencies",
    "revise_objective": "objective_revisions",
}

# What rules may conclude in each stage.
STAGE_OUTPUTS: dict[str, frozenset[str]] = {
    "severity": frozenset({"risk_level", "severity"}),
    "problem": frozenset({"problem_found"}),
    "plan": frozenset({"goal", "treatment_option", "referral", "assessment", "warning",
                       "priority", "defer"}),
    "integrate": frozenset({"goal", "treatment_option", "referral", "assessment", "warning",
                            "priority", "defer"}),
    "warn": frozenset({"warning", "referral", "assessment"}),
    "review": frozenset({"change"}),
}

# durable-rules limits, measured (see docs/engine.md); checked here so that a
# large clinic knowledge base fails at load with the rule named, not by hanging.
MAX_RULES_PER_STAGE = 4000
MAX_PATTERNS_PER_RULE = 16
MAX_SHARED_PATTERN = 200
MAX_TESTS_PER_ATTRIBUTE = 500


def _produced_before(stage: str) -> set[str]:
    """Fact types complete before `stage` starts: base facts, earlier outputs, resolutions."""
    from planwise.facts import BASE_TYPES

    # A review starts from the progress facts alone; no proposal stage runs in it.
    stages, base = (REVIEW_STAGES, REVIEW_BASE_TYPES) if stage in REVIEW_STAGES else \
        (STAGES, BASE_TYPES)
    done: set[str] = set(base)
    for s in stages:
        if s == stage:
            break
        done |= STAGE_OUTPUTS[s] | RESOLVED_AFTER[s]
    return done


def check_rule(kb: Knowledge, rule: RuleEntry, patterns: tuple[Pattern, ...],
                conclusions: tuple[Conclusion, ...]) -> None:
    before = _produced_before(rule.stage)
    available = before | STAGE_OUTPUTS[rule.stage]
    for i, p in enumerate(patterns):
        if p.negated and p.fact not in before:
            raise PatternError(
                f"`not` on {p.fact} facts in stage {rule.stage}: they may still be added in this "
                f"stage, so the two engines could disagree; negate only facts complete before it",
                f"when[{i}]")
        if p.fact not in available:
            raise PatternError(
                f"{p.fact} facts do not exist yet in stage {rule.stage}", f"when[{i}].fact")
        instrument = next((t.value for t in p.tests if t.attr == "instrument" and t.op == "eq"
                           and isinstance(t.value, str)), None)
        for t in p.tests:
            if isinstance(t.value, Ref):
                continue
            values = t.value if isinstance(t.value, tuple) else (t.value,)
            if p.fact == "score" and t.attr == "band" and instrument in kb.instruments:
                bands = {b.name for b in kb.instruments[instrument].bands}
                for v in values:
                    if v not in bands:
                        known = ", ".join(sorted(bands))
                        raise PatternError(f"{instrument} has no band {v!r}; its bands: {known}",
                                           f"when[{i}].{t.attr}")
            _check_vocab(kb, p.fact, t.attr, values, f"when[{i}].{t.attr}")
    for i, c in enumerate(conclusions):
        if c.fact not in STAGE_OUTPUTS[rule.stage]:
            allowed = ", ".join(sorted(STAGE_OUTPUTS[rule.stage]))
            raise PatternError(f"stage {rule.stage} rules conclude only {allowed}",
                               f"then[{i}].fact")
        for attr in FACT_TYPES[c.fact]:
            if attr not in c.values and _required(c.fact, attr):
                raise PatternError(f"{c.fact} needs {attr}", f"then[{i}]")
        for attr, value in c.values.items():
            if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
                continue
            values = tuple(value) if isinstance(value, list) else (value,)
            _check_vocab(kb, c.fact, attr, values, f"then[{i}].{attr}")
        if c.fact == "change":
            _check_change(kb, c.values, f"then[{i}]")


def _check_change(kb: Knowledge, values: dict[str, Any], where: str) -> None:
    """A change's item must be what its kind names; its urgency, a known one."""
    kind = values.get("kind", "")
    item = values.get("item", "")
    items = CHANGE_ITEMS.get(kind)
    if items and not (isinstance(item, str) and "{" in item):
        if not item:
            raise PatternError(f"a {kind} change needs an item ({items.replace('_', ' ')})",
                               where)
        _check_vocab_kind(kb, items, item, f"{where}.item", kind)
    urgency = values.get("urgency", "")
    if urgency and "{" not in urgency:
        _check_vocab_kind(kb, "urgencies", urgency, f"{where}.urgency", kind)
    if kind == "refer" and not urgency:
        raise PatternError("a refer change needs an urgency", where)


def _check_vocab_kind(kb: Knowledge, kind: str, value: Any, where: str, change: str
                      ) -> None:
    allowed = kb.allowed(kind)
    if value not in allowed:
        shown = ", ".join(sorted(allowed)) if len(allowed) <= 30 else f"{len(allowed)} ids"
        raise PatternError(f"{change}: unknown {kind.replace('_', ' ')} {value!r} "
                           f"(known: {shown})", where)


_REQUIRED = {
    "risk_level": {"level"},
    "severity": {"condition", "severity"},
    "problem_found": {"condition"},
    "goal": {"goal"},
    "treatment_option": {"condition", "sessions_min", "sessions_max"},
    "referral": {"kind", "urgency", "reason"},
    "assessment": {"instrument", "reason"},
    "warning": {"kind", "message"},
    "priority": {"condition", "reason"},
    "defer": {"modality", "until"},
    "change": {"kind", "reason"},
}


def _required(fact: str, attr: str) -> bool:
    return attr in _REQUIRED.get(fact, set())


def _check_vocab(kb: Knowledge, fact: str, attr: str, values: tuple[Any, ...],
                 where: str) -> None:
    kind = VOCAB_ATTRS.get((fact, attr))
    if not kind:
        return
    allowed = kb.allowed(kind)
    for v in values:
        if isinstance(v, str) and "{" in v:
            continue
        if v not in allowed:
            shown = ", ".join(sorted(allowed)) if len(allowed) <= 30 else f"{len(allowed)} ids"
            raise PatternError(f"unknown {kind.split('+')[0].rstrip('s')} {v!r} (known: {shown})",
                               where)


def check_structure(kb: Knowledge) -> None:
    """durable-rules' limits, checked before a ruleset is ever built."""
    for stage in ALL_STAGES:
        rules = kb.rules_in(stage)
        if len(rules) > MAX_RULES_PER_STAGE:
            r = rules[MAX_RULES_PER_STAGE]
            raise KnowledgeError(f"more than {MAX_RULES_PER_STAGE} rules in stage {stage}",
                                 file=r.file, entry=r.id, line=r.line)
        shared: Counter[Any] = Counter()
        per_attr: dict[tuple[str, str], set[Any]] = {}
        for r in rules:
            if len(r.patterns) > MAX_PATTERNS_PER_RULE:
                raise KnowledgeError(
                    f"a rule may join at most {MAX_PATTERNS_PER_RULE} facts", file=r.file,
                    entry=r.id, field="when", line=r.line)
            for p in r.patterns:
                shared[(p.fact, p.negated, p.tests)] += 1
                if shared[(p.fact, p.negated, p.tests)] > MAX_SHARED_PATTERN:
                    raise KnowledgeError(
                        f"more than {MAX_SHARED_PATTERN} rules share one identical condition; "
                        "split them across stages or make the conditions differ",
                        file=r.file, entry=r.id, field="when", line=r.line)
                for t in p.tests:
                    key = (p.fact, t.attr)
                    per_attr.setdefault(key, set()).add((t.op, t.value))
                    if len(per_attr[key]) > MAX_TESTS_PER_ATTRIBUTE:
                        raise KnowledgeError(
                            f"more than {MAX_TESTS_PER_ATTRIBUTE} distinct tests on "
                            f"{p.fact}.{t.attr} in stage {stage}", file=r.file, entry=r.id,
                            field="when", line=r.line)
