"""The private log an internal error is written to, instead of a traceback on screen.

A traceback on a therapist's terminal helps nobody there, and Textual's own
shows every local variable: answers, notes, names. Instead the error goes to a
file in the user's log folder (platformdirs' user_log_dir, or
PLANWISE_LOG_DIR): the folder 0700, the file 0600, one file per error so a
crash loop cannot overwrite the first one, the newest `KEEP` kept.

What the file holds is safe to send to a developer: the frames (file, line,
function and the source line, which is code) and never a local variable; the
error's message is scrubbed of any word that is not code. A word is code when
it is a name or a word of a string in the source files of the traceback's
frames, or one of the ids the caller allows (the knowledge's condition and
instrument ids); record ids (C12, P3) stay; any other word, a quoted string
with spaces in it, a date, an e-mail address or a long number becomes
`<text:N>` (N characters). Headless: the CLI writes one too, and a crash
handler that needs the interface to report a crash is a fresh place to crash.
"""

from __future__ import annotations

import builtins
import datetime as dt
import io
import linecache
import os
import platform
import re
import sys
import tokenize
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path

KEEP = 20  # log files kept; older ones are removed when a new one is written

RECORD_ID = re.compile(r"[CPIS]\d{1,9}")
_WORD = re.compile(r"[^\W\d_][\w]*")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:[T ][\d:.+Z-]*)?|\d{1,2}/\d{1,2}/\d{2,4}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LONG_NUMBER = re.compile(r"\+?\d[\d ()-]{6,}\d")
_FILES_READ = 40  # source files read for the vocabulary of code


def log_dir() -> Path:
    override = os.environ.get("PLANWISE_LOG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_log_path

    return user_log_path("planwise", appauthor=False)


# -- what counts as code -----------------------------------------------------------------
def code_words(error: BaseException) -> set[str]:
    """Every name, and every word of a string, in the source files of the frames of
    `error` and of the errors chained to it."""
    words: set[str] = set(dir(builtins))
    files: list[str] = []
    for exc in _chain(error):
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename not in files:
                files.append(frame.filename)
        words.add(type(exc).__name__)
        words.update(_WORD.findall(type(exc).__module__ or ""))
    for name in files[-_FILES_READ:]:
        words.update(_file_words(name))
    return words


def _file_words(filename: str) -> set[str]:
    lines = linecache.getlines(filename)
    if not lines:
        return set()
    words: set[str] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
            if tok.type == tokenize.NAME:
                words.add(tok.string)
            elif tok.type == tokenize.STRING or tok.type == getattr(
                    tokenize, "FSTRING_MIDDLE", -1):
                words.update(_WORD.findall(tok.string))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return words


def scrub(text: str, allowed: set[str] | frozenset[str]) -> str:
    """`text` with every word that is not code, and every quoted string with a space,
    replaced by `<text:N>`."""
    def quoted(m: re.Match[str]) -> str:
        inner = m.group()[1:-1]
        if any(ch.isspace() for ch in inner):
            return f"{m.group()[0]}<text:{len(inner)}>{m.group()[0]}"
        return m.group()

    def word(m: re.Match[str]) -> str:
        w = m.group()
        if w in allowed or w.lower() in allowed or RECORD_ID.fullmatch(w):
            return w
        return f"<text:{len(w)}>"

    text = _EMAIL.sub(lambda m: f"<text:{len(m.group())}>", text)
    text = _DATE.sub(lambda m: f"<text:{len(m.group())}>", text)
    text = _LONG_NUMBER.sub(lambda m: f"<text:{len(m.group())}>", text)
    text = _QUOTED.sub(quoted, text)
    # "<text:N>" itself holds the word "text": keep the markers, scrub the rest.
    parts = re.split(r"(<text:\d+>)", text)
    return "".join(p if p.startswith("<text:") else _WORD.sub(word, p) for p in parts)


# -- the traceback ---------------------------------------------------------------------
def root_cause(error: BaseException) -> BaseException:
    """The error itself, not Textual's WorkerFailed wrapper around it (by attribute, so
    this module stays headless)."""
    wrapped = getattr(error, "error", None)
    return wrapped if isinstance(wrapped, BaseException) else error


def _chain(error: BaseException) -> list[BaseException]:
    """The error and those it was raised from or during, oldest first."""
    out: list[BaseException] = []
    exc: BaseException | None = error
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return list(reversed(out))


def format_error(error: BaseException, allowed: Iterable[str] = ()) -> str:
    """The traceback, with no local variable and every message scrubbed."""
    words = code_words(error) | set(allowed)
    chain = _chain(error)
    out: list[str] = []
    for n, exc in enumerate(chain):
        if n:
            out.append("\nThe above error led to this one:\n\n")
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            out.append("Traceback (most recent call last):\n")
            out.extend(traceback.format_list(frames))
        out.append(f"{_qualified(exc)}: {scrub(_message(exc), words)}\n")
        for note in getattr(exc, "__notes__", None) or []:
            out.append(f"  note: {scrub(str(note), words)}\n")
    return "".join(out)


def describe(error: BaseException, allowed: Iterable[str] = ()) -> str:
    """One line: the error's class, its scrubbed first line, and where planwise was."""
    words = code_words(error) | set(allowed)
    first = (scrub(_message(error), words).splitlines() or [""])[0]
    if len(first) > 160:
        first = first[:160] + "..."
    where = ""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if f"{os.sep}planwise{os.sep}" in f.filename] or frames
    if ours:
        f = ours[-1]
        where = f" in {Path(f.filename).name} line {f.lineno} ({f.name})"
    return f"{type(error).__name__}{': ' + first if first else ''}{where}"


def _qualified(exc: BaseException) -> str:
    module = type(exc).__module__
    name = type(exc).__qualname__
    return name if module in ("builtins", "__main__") else f"{module}.{name}"


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not break the report of it
        return "(the error's message could not be read)"


# -- the file --------------------------------------------------------------------------
def write_log(error: BaseException, context: Mapping[str, str] | None = None,
              allowed: Iterable[str] = ()) -> Path | None:
    """Write the log of `error` (with `context`: lines of ids only, no client data) and
    remove the oldest beyond `KEEP`. The path, or None when it could not be written.
    Raises nothing: it runs while something else has already gone wrong."""
    try:
        text = _report(error, context or {}, allowed)
        folder = log_dir()
        from planwise.paths import make_private_dir

        make_private_dir(folder)
        os.chmod(folder, 0o700)  # one made earlier, by hand or another tool
        now = dt.datetime.now(dt.UTC)
        path = folder / f"crash-{now:%Y%m%dT%H%M%S}-{now.microsecond:06d}-{os.getpid()}.log"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text.encode("utf-8", "replace"))
        finally:
            os.close(fd)
        _prune(folder)
        return path
    except Exception:
        return None


def _report(error: BaseException, context: Mapping[str, str], allowed: Iterable[str]) -> str:
    from planwise import __version__

    versions = [f"planwise {__version__}", f"Python {platform.python_version()}"]
    textual = sys.modules.get("textual")
    if textual is not None:
        versions.append(f"Textual {getattr(textual, '__version__', '?')}")
    versions.append(platform.system())
    lines = [
        f"planwise internal error, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC",
        "",
        "No client information beyond record ids: no local variables, and the error's",
        "message is scrubbed of every word that is not planwise's code (<text:N>).",
        "",
        ", ".join(versions),
    ]
    lines += [f"{key}: {value}" for key, value in context.items()]
    lines += ["", format_error(root_cause(error), allowed)]
    cause = root_cause(error)
    if cause is not error:
        lines += [f"(raised in the interface as {_qualified(error)})"]
    return "\n".join(lines) + "\n"


def _prune(folder: Path) -> None:
    try:
        logs = sorted(folder.glob("crash-*.log"), key=lambda p: p.name, reverse=True)
        for old in logs[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
