"""The recommendation engine. The only package that imports durable-rules.

    evaluate(scored_intake, profile, kb, engine="auto") -> Evaluation
    review(course, kb, engine="auto") -> Review   (planwise.rules.progress_review)

`engine` is "durable", "reference" or "auto" (durable-rules where it imports,
the reference evaluator elsewhere, e.g. on Python 3.13).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planwise.intake_io import ScoredIntake
from planwise.kb.loader import KnowledgeBase
from planwise.models.profile import Profile
from planwise.models.proposal import Proposal
from planwise.rules.backends import ENGINES, backend_for, durable_available
from planwise.rules.pipeline import Evaluation
from planwise.rules.steps import BUILTIN_STEPS

if TYPE_CHECKING:
    from planwise.rules.progress_review import ReviewEvaluation, evaluate_review, review

# The progress review (and the course, feedback and progress models it reads) loads on
# first use: `planwise recommend` never reviews, and its start is what a therapist waits for.
_REVIEW_NAMES = ("ReviewEvaluation", "evaluate_review", "review")


def __getattr__(name: str) -> Any:
    if name in _REVIEW_NAMES:
        from planwise.rules import progress_review

        return getattr(progress_review, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
