"""Errors that the CLI turns into clear messages and exit codes.

`InputError` is anything the user can fix (a bad intake, profile or knowledge
file): exit 2, a message naming the file, the field path and, where known, the
line. Nothing else is an input error.
"""

from __future__ import annotations


class PlanwiseError(Exception):
    """Base class for errors planwise reports without a traceback."""

    exit_code = 1


class InputError(PlanwiseError):
    """Invalid input: names where the problem is so the user can fix it."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.field = field
        self.line = line

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.field:
            where.append(self.field)
        prefix = ": ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def located(self, *, file: str | None = None, line: int | None = None) -> InputError:
        """A copy with the file (and line) filled in where they were unknown."""
        return InputError(
            self.message,
            file=self.file or file,
            field=self.field,
            line=self.line if self.line is not None else line,
        )


class KnowledgeError(InputError):
    """A knowledge file is broken: names the file, the entry id and the line."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        entry: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.entry = entry
        full_field = ".".join(p for p in (entry, field) if p) or None
        super().__init__(message, file=file, field=full_field, line=line)


class BusyError(PlanwiseError):
    """Another process is writing to the database: nothing was done, try again.

    Exit 75 (EX_TEMPFAIL in sysexits.h): a script can tell "try again" from bad input."""

    exit_code = 75


class EngineError(PlanwiseError):
    """The rule engine failed in a way that is not the user's input."""

    exit_code = 1
