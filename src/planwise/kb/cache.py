"""A cache of the checked knowledge base, so a cold `planwise recommend` skips
parsing and validating a few hundred TOML entries (the pure-Python TOML parser
alone took about 0.2 s of a 0.7 s cold start).

The cache is a pickle in the user's cache folder (0600, in a 0700 folder),
keyed by every knowledge file's path, size and modification time, by the
source of the modules that shape the result, and by the Python version. Any
problem reading it means a normal load; it is never an error.
`PLANWISE_NO_CACHE=1` switches it off.

A pickle can run code when loaded, so the file is trusted only as far as it
can be shown to be planwise's own:

- the folder and the file must belong to the user running planwise and be
  writable by no one else (a folder others can write to, or a file that is
  not 0600, is ignored: not read, not written); the file is opened with
  O_NOFOLLOW, so a symbolic link planted in its place is not followed;
- the unpickler resolves only planwise's own knowledge classes (and
  pathlib's paths): no function, no other module. A file that names
  anything else (`os.system`, `builtins.eval`) fails to load and the
  knowledge is read from its files as if there were no cache.

A format that cannot express code at all (JSON with the objects rebuilt in
Python) was measured and set aside: loading took about 0.12 s against 0.01 s
for the pickle (1.2 MB), a quarter of the cold `recommend`'s 0.5 s budget.
The restricted unpickler costs nothing measurable (cold `recommend` with the
cache warm: median 0.318 s before, 0.319 s after, 20 runs each).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

_CODE = ("facts.py", "clinical/instruments.py", "clinical/instrument_files.py", "kb/loader.py",
         "kb/located.py", "kb/overrides.py",
         "kb/checks.py", "kb/patterns.py", "kb/schema.py")
# Modules whose classes make up a KnowledgeBase. Only classes defined in them (checked
# with `__module__`) are resolved; a function of theirs is refused like any other.
_MODULES = frozenset({"planwise.kb.loader", "planwise.kb.patterns", "planwise.kb.schema",
                      "planwise.clinical.instruments", "planwise.facts"})
_PATHS = frozenset({("pathlib", "PosixPath"), ("pathlib", "WindowsPath"),
                    ("pathlib", "PurePosixPath"), ("pathlib", "PureWindowsPath")})


def cache_dir() -> Path:
    override = os.environ.get("PLANWISE_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("planwise"))


def _key(stamps: tuple[tuple[str, float, int], ...]) -> str:
    here = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(repr((sys.version_info[:3], stamps)).encode())
    for name in _CODE:
        st = (here / name).stat()
        digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def enabled() -> bool:
    return not os.environ.get("PLANWISE_NO_CACHE")


class _KnowledgeUnpickler(pickle.Unpickler):
    """Resolves planwise's knowledge classes and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PATHS:
            return super().find_class(module, name)
        if module in _MODULES and "." not in name:
            found = getattr(sys.modules.get(module) or __import__(module, fromlist=[name]),
                            name, None)
            if isinstance(found, type) and found.__module__ == module:
                return found
        raise pickle.UnpicklingError(f"the knowledge cache names {module}.{name}")


def _private(st: os.stat_result, *, folder: bool) -> bool:
    """Owned by this user and writable by no one else (a file: exactly 0600)."""
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return False
    if folder:
        return stat.S_ISDIR(st.st_mode) and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600


def _folder_ok(folder: Path) -> bool:
    try:
        return _private(os.stat(folder, follow_symlinks=False), folder=True)
    except OSError:
        return False


def read(stamps: tuple[tuple[str, float, int], ...]) -> Any | None:
    if not enabled():
        return None
    folder = cache_dir()
    if not _folder_ok(folder):
        return None
    path = folder / f"knowledge-{_key(stamps)}.pickle"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None  # missing: load normally
    try:
        with os.fdopen(fd, "rb") as fh:
            if not _private(os.fstat(fh.fileno()), folder=False):
                return None
            return _KnowledgeUnpickler(fh).load()
    except Exception:  # stale, damaged or foreign: load normally
        return None


def write(stamps: tuple[tuple[str, float, int], ...], value: Any) -> None:
    if not enabled():
        return
    from planwise.paths import make_private_dir

    folder = cache_dir()
    try:
        make_private_dir(folder)
        if not _folder_ok(folder):
            return  # someone else's folder, or one others can write to: no cache
        for old in folder.glob("knowledge-*.pickle"):
            old.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".knowledge-")
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, folder / f"knowledge-{_key(stamps)}.pickle")
    except OSError:
        pass  # a read-only home is no reason to fail
