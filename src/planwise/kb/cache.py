"""A cache of the checked knowledge base, so a cold `planwise recommend` skips
parsing and validating a few hundred TOML entries (the pure-Python TOML parser
alone took about 0.2 s of a 0.7 s cold start).

The cache is a pickle in the user's cache folder (0600, in a 0700 folder),
keyed by every knowledge file's path, size and modification time, by the
source of the modules that shape the result, and by the Python version. Any
problem reading it means a normal load; it is never an error.
`PLANWISE_NO_CACHE=1` switches it off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

_CODE = ("facts.py", "instruments.py", "kb/loader.py", "kb/patterns.py", "kb/schema.py")


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


def read(stamps: tuple[tuple[str, float, int], ...]) -> Any | None:
    if not enabled():
        return None
    path = cache_dir() / f"knowledge-{_key(stamps)}.pickle"
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, stale or unreadable: load normally
        return None


def write(stamps: tuple[tuple[str, float, int], ...], value: Any) -> None:
    if not enabled():
        return
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for old in folder.glob("knowledge-*.pickle"):
            old.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".knowledge-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(tmp, 0o600)
        os.replace(tmp, folder / f"knowledge-{_key(stamps)}.pickle")
    except OSError:
        pass  # a read-only home is no reason to fail
