"""The recommendation engine. The only package that imports durable-rules.

    evaluate(scored_intake, profile, kb, engine="auto") -> Evaluation
    review(course, kb, engine="auto") -> Review   (planwise.rules.progress_review)

`engine` is "durable", "reference" or "auto" (durable-rules where it imports,
the reference evaluator elsewhere, e.g. on Python 3.13).
"""

from __future__ import annotations

import threading
from typing import Any

from planwise.errors import InputError, PlanwiseError
from planwise.intake_io import ScoredIntake
from planwise.kb.loader import KnowledgeBase
from planwise.models.profile import Profile
from planwise.models.proposal import Proposal
from planwise.rules.pipeline import BUILTIN_STEPS, Evaluation
from planwise.rules.progress_review import ReviewEvaluation, evaluate_review, review
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


def evaluate(scored: ScoredIntake, profile: Profile | None, kb: KnowledgeBase,
             engine: str = "auto") -> Evaluation:
    """Run the stages; the Evaluation holds the proposal and its working memory."""
    evaluation = Evaluation(kb, backend_for(kb, engine))
    evaluation.proposal = evaluation.run(scored, profile)
    return evaluation


def recommend(scored: ScoredIntake, profile: Profile | None, kb: KnowledgeBase,
              engine: str = "auto") -> Proposal:
    proposal = evaluate(scored, profile, kb, engine).proposal
    assert proposal is not None
    return proposal


__all__ = ["BUILTIN_STEPS", "ENGINES", "Evaluation", "ReviewEvaluation", "backend_for",
           "durable_available", "evaluate", "evaluate_review", "recommend", "review"]
