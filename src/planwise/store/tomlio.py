"""TOML documents in and out: None dropped on the way out, errors with field and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from planwise.errors import InputError

M = TypeVar("M", bound=BaseModel)


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def dump_toml(data: dict[str, Any]) -> str:
    import tomli_w

    return tomli_w.dumps(_strip_none(data))


def load_doc(model: type[M], file: str, *, redact: bool = False) -> M:
    """Read and validate a TOML document; InputError naming file, field and line."""

    from pydantic import ValidationError

    from planwise.intake_io import _validation_error
    from planwise.tomlfile import MAX_DOCUMENT_BYTES, read_toml

    if not file.lower().endswith(".toml"):
        raise InputError("expected a .toml file", file=file)
    data, text = read_toml(Path(file), MAX_DOCUMENT_BYTES)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = _validation_error(exc, text, file, True)
        if redact:  # never echo a value: it may be a client's name or contact details
            err = InputError(err.message.split(" (got ")[0], file=err.file, field=err.field,
                             line=err.line)
        raise err from None
