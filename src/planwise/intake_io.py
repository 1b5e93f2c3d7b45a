"""Reading an intake or a profile from a file or stdin, and checking it whole.

Everything the user can get wrong becomes an InputError naming the file, the
field path (`instruments.phq9[3]`, `screening.concerns[1]`) and, for TOML, the
line. Scoring happens here too, because an answer out of range is an input
error of the intake, not of the engine.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from planwise.clinical.instruments import ScoreResult
from planwise.dates import check_record_date
from planwise.errors import InputError
from planwise.kb.loader import KnowledgeBase
from planwise.models.intake import Intake
from planwise.models.profile import Profile
from planwise.text import excerpt, field_key, refuse_controls
from planwise.tomlfile import (
    MAX_DIGITS,
    MAX_DOCUMENT_BYTES,
    check_document,
    decode,
    find_field_line,
    parse_toml,
    read_text,
    too_deep,
    too_large,
)


@dataclass(frozen=True)
class ScoredIntake:
    intake: Intake
    scores: list[ScoreResult]


def _read_data(source: str, kind: str) -> tuple[dict[str, Any], str, str]:
    """Return (data, text, display name). `-` reads JSON from standard input.

    Bounded like every planwise document (planwise.tomlfile): at most
    MAX_DOCUMENT_BYTES, MAX_DEPTH levels deep, integers of a sane length, and in
    JSON no key given twice in one object (JSON parsers keep the last silently: a
    second `risk` would replace the clinician's risk assessment).
    """
    if source == "-":
        name = "<stdin>"
        suffix = ".json"
        stream = getattr(sys.stdin, "buffer", None)
        if stream is not None:
            text = decode(stream.read(MAX_DOCUMENT_BYTES + 1), name, MAX_DOCUMENT_BYTES)
        else:  # a text stream without bytes underneath (an embedding program's)
            text = sys.stdin.read(MAX_DOCUMENT_BYTES + 1)
            if len(text) > MAX_DOCUMENT_BYTES:
                raise too_large(name, MAX_DOCUMENT_BYTES)
    else:
        path = Path(source)
        name = str(path)
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise InputError(f"{kind} must be a .toml or .json file (or - for JSON on stdin)",
                             file=name)
        text = read_text(path, MAX_DOCUMENT_BYTES)
    data = parse_toml(text, name) if suffix == ".toml" else parse_json(text, name)
    if not isinstance(data, dict):
        raise InputError(f"a {kind} is a table (JSON object) at the top level", file=name)
    return data, text, name


class _Refused(Exception):
    """A JSON value planwise does not read (raised from inside the parser)."""


class _Object(dict[str, Any]):
    """A JSON object that remembers the first key it was given twice."""

    duplicate: str | None = None


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    for key, value in pairs:
        if key in obj and obj.duplicate is None:
            obj.duplicate = key
        obj[key] = value
    return obj


def _int(digits: str) -> int:
    if len(digits) > MAX_DIGITS:
        raise _Refused(f"a number of {len(digits):,} digits")
    return int(digits)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"a number too large ({excerpt(text, 20)})")
    return value


def _constant(word: str) -> Any:
    raise _Refused(f"{word} is not a number JSON allows")


def parse_json(text: str, name: str) -> Any:
    """JSON with the limits above; InputError naming the file (and the key given twice)."""
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_int=_int, parse_float=_float,
                          parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", file=name, line=exc.lineno) from None
    except RecursionError:
        raise too_deep(name) from None
    except _Refused as exc:
        raise InputError(f"invalid JSON: {exc}", file=name) from None
    check_document(data, name)
    where = _first_duplicate(data, "")
    if where is not None:
        raise InputError("given twice in the same object (JSON would silently keep the "
                         "last; remove one)", file=name, field=where)
    # JSON's \uXXXX escapes can spell a lone surrogate, which is no text at all (exit 1
    # when the intake was written out again), or a control character.
    refuse_controls(data, file=name)
    return data


def _first_duplicate(value: Any, path: str) -> str | None:
    """The field path of the first key given twice, in document order."""
    if isinstance(value, _Object):
        if value.duplicate is not None:
            return _join(path, value.duplicate)
        for key, child in value.items():
            found = _first_duplicate(child, _join(path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found = _first_duplicate(child, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{field_key(key)}" if path else field_key(key)


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + field_key(str(part))
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
        # A short excerpt only: the value may be a 2 MB summary or hold a name.
        msg = f"{msg} (got {excerpt(err['input'])})"
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
    """The date, the text, ids against the knowledge's vocabulary, answers through each
    instrument's scoring."""
    check_record_date(intake.date, field="date",
                      why="an intake is dated the day the assessment was made")
    refuse_controls(intake.model_dump(mode="json", by_alias=True))
    concerns = kb.allowed("concerns+conditions")
    conditions = {c for c, e in kb.vocab["conditions"].items() if e.intake}
    for i, concern in enumerate(intake.screening.concerns):
        if concern not in concerns:
            raise InputError(f"unknown concern {excerpt(concern)}; known: "
                             f"{', '.join(sorted(concerns))}",
                             field=f"screening.concerns[{i}]")
    for i, cond in enumerate(intake.clinician.impressions):
        if cond not in conditions:
            raise InputError(f"unknown condition {excerpt(cond)}; known: "
                             f"{', '.join(sorted(conditions))}",
                             field=f"clinician.impressions[{i}]")
    for cond in intake.clinician.severity:
        if cond not in conditions:
            raise InputError(f"unknown condition {excerpt(cond)}",
                             field=f"clinician.severity.{field_key(cond)}")
    if intake.clinician.diagnoses:  # the code table loads only for an intake with codes
        from planwise import icd

        for i, code in enumerate(intake.clinician.diagnoses):
            icd.check(code, field=f"clinician.diagnoses[{i}]")
    scores = []
    for inst_id, answers in intake.instruments.items():
        if inst_id not in kb.instruments:
            known = ", ".join(sorted(kb.instruments))
            raise InputError(f"unknown instrument {excerpt(inst_id)}; known: {known}",
                             field=f"instruments.{field_key(inst_id)}")
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
            raise InputError(f"unknown condition {excerpt(cond)}", file=name,
                             field=f"therapist.competencies[{i}]",
                             line=find_field_line(text, "therapist.competencies"))
    modalities = set(kb.vocab["modalities"])
    for i, mod in enumerate(profile.therapist.modalities):
        if mod not in modalities:
            raise InputError(f"unknown modality {excerpt(mod)}", file=name,
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
