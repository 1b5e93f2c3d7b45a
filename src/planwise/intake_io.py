"""Reading an intake or a profile from a file or stdin, and checking it whole.

Everything the user can get wrong becomes an InputError naming the file, the
field path (`instruments.phq9[3]`, `screening.concerns[1]`) and, for TOML, the
line. Scoring happens here too, because an answer out of range is an input
error of the intake, not of the engine.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from planwise.errors import InputError
from planwise.instruments import ScoreResult
from planwise.kb.loader import KnowledgeBase
from planwise.models.intake import Intake
from planwise.models.profile import Profile
from planwise.tomlfile import find_field_line, parse_toml


@dataclass(frozen=True)
class ScoredIntake:
    intake: Intake
    scores: list[ScoreResult]


def _read_data(source: str, kind: str) -> tuple[dict[str, Any], str, str]:
    """Return (data, text, display name). `-` reads JSON from standard input."""
    if source == "-":
        text = sys.stdin.read()
        name = "<stdin>"
        suffix = ".json"
    else:
        path = Path(source)
        name = str(path)
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise InputError(f"{kind} must be a .toml or .json file (or - for JSON on stdin)",
                             file=name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError("file not found", file=name) from None
        except IsADirectoryError:
            raise InputError("is a folder, not a file", file=name) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read: {exc.__class__.__name__}", file=name) from None
    if suffix == ".toml":
        data = parse_toml(text, name)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", file=name, line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError(f"a {kind} is a table (JSON object) at the top level", file=name)
    return data, text, name


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _validation_error(exc: ValidationError, text: str, name: str, toml: bool) -> InputError:
    errors = exc.errors()
    # A misspelt key also makes the right key "missing": report the misspelling.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(p for p in err["loc"] if p not in ("function-after", "tagged-union"))
    # pydantic puts the member type of a union in the path (e.g. "str"); drop it.
    loc = tuple(p for p in loc if not (isinstance(p, str) and p[:1].isupper()))
    path = _field_path(loc) or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key (a typo would silently drop clinical data, so it is refused)"
    elif err["type"] == "missing":
        msg = "required"
    elif "input" in err and err["type"] not in ("missing",):
        msg = f"{msg} (got {err['input']!r})"
    line = find_field_line(text, path) if toml and loc else None
    return InputError(msg, file=name, field=path, line=line)


def _validate(model: type[BaseModel], data: dict[str, Any], text: str, name: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, text, name, name.endswith(".toml")) from None


def load_intake(source: str, kb: KnowledgeBase) -> ScoredIntake:
    data, text, name = _read_data(source, "intake")
    if "schema" not in data:
        raise InputError('required: schema = "planwise.intake/1"', file=name, field="schema")
    intake: Intake = _validate(Intake, data, text, name)
    try:
        return check_and_score(intake, kb)
    except InputError as exc:
        line = find_field_line(text, exc.field) if name.endswith(".toml") and exc.field else None
        raise exc.located(file=name, line=line) from None


def check_and_score(intake: Intake, kb: KnowledgeBase) -> ScoredIntake:
    """Ids against the knowledge's vocabulary; answers through each instrument's scoring."""
    concerns = kb.allowed("concerns+conditions")
    conditions = {c for c, e in kb.vocab["conditions"].items() if e.intake}
    for i, concern in enumerate(intake.screening.concerns):
        if concern not in concerns:
            raise InputError(f"unknown concern {concern!r}; known: {', '.join(sorted(concerns))}",
                             field=f"screening.concerns[{i}]")
    for i, cond in enumerate(intake.clinician.impressions):
        if cond not in conditions:
            raise InputError(f"unknown condition {cond!r}; known: {', '.join(sorted(conditions))}",
                             field=f"clinician.impressions[{i}]")
    for cond in intake.clinician.severity:
        if cond not in conditions:
            raise InputError(f"unknown condition {cond!r}", field=f"clinician.severity.{cond}")
    scores = []
    for inst_id, answers in intake.instruments.items():
        if inst_id not in kb.instruments:
            known = ", ".join(sorted(kb.instruments))
            raise InputError(f"unknown instrument {inst_id!r}; known: {known}",
                             field=f"instruments.{inst_id}")
        scores.append(kb.instruments[inst_id].score(answers, field_prefix=f"instruments.{inst_id}"))
    return ScoredIntake(intake, scores)


def intake_from_data(data: dict[str, Any], kb: KnowledgeBase, name: str = "<intake>"
                     ) -> ScoredIntake:
    """For callers that already hold the intake as a dict (tests, the TUI)."""
    intake: Intake = _validate(Intake, data, json.dumps(data, default=str), name)
    return check_and_score(intake, kb)


def load_profile(source: str, kb: KnowledgeBase) -> Profile:
    data, text, name = _read_data(source, "profile")
    profile: Profile = _validate(Profile, data, text, name)
    conditions = set(kb.vocab["conditions"])
    for i, cond in enumerate(profile.therapist.competencies):
        if cond not in conditions:
            raise InputError(f"unknown condition {cond!r}", file=name,
                             field=f"therapist.competencies[{i}]",
                             line=find_field_line(text, "therapist.competencies"))
    modalities = set(kb.vocab["modalities"])
    for i, mod in enumerate(profile.therapist.modalities):
        if mod not in modalities:
            raise InputError(f"unknown modality {mod!r}", file=name,
                             field=f"therapist.modalities[{i}]",
                             line=find_field_line(text, "therapist.modalities"))
    return profile


def resolve_profile(profile_path: str | None, kb: KnowledgeBase) -> Profile | None:
    """The profile given, else the configured one (PLANWISE_PROFILE or the user's
    profile.toml), else None: without a profile every condition is in scope."""
    from planwise.paths import default_profile_path

    if profile_path:
        return load_profile(profile_path, kb)
    default = default_profile_path()
    if default.is_file():
        return load_profile(str(default), kb)
    return None
