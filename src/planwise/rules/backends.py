"""Which engine runs: durable-rules where it imports, the reference evaluator elsewhere.

One backend per knowledge version and engine is kept for the process (building
durable-rules' rulesets costs about 20 ms, the reference evaluator's index about 5);
a replaced one is closed.
"""

from __future__ import annotations

import threading
from typing import Any

from planwise.errors import InputError, PlanwiseError
from planwise.kb.loader import KnowledgeBase
from planwise.rules.reference import ReferenceBackend

ENGINES = ("auto", "durable", "reference")

_backends: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()
_durable_ok: bool | None = None


def durable_available() -> bool:
    global _durable_ok
    if _durable_ok is None:
        try:
            import durable_rules_engine  # noqa: F401
            from durable import engine  # noqa: F401
        except Exception:  # ImportError, or the C extension failing on 3.13
            _durable_ok = False
        else:
            _durable_ok = True
    return _durable_ok


def backend_for(kb: KnowledgeBase, engine: str = "auto") -> Any:
    if engine not in ENGINES:
        raise PlanwiseError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine == "auto":
        engine = "durable" if durable_available() else "reference"
    if engine == "durable" and not durable_available():
        raise InputError("durable-rules cannot be imported on this Python (it fails on 3.13 and "
                         "later); use --engine reference or auto", field="--engine")
    key = (kb.fingerprint + "|" + "|".join(map(str, kb.dirs)), engine)
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            # One knowledge version per engine at a time: a replaced one is
            # deleted from durable-rules rather than leaked.
            for old_key in [k for k in _backends if k[1] == engine]:
                _backends.pop(old_key).close()
            if engine == "durable":
                from planwise.rules.durable_backend import DurableBackend

                backend = DurableBackend(kb)
            else:
                backend = ReferenceBackend(kb)
            _backends[key] = backend
    return backend
