"""The review: a plan's course through the review rules to proposed plan changes.

    review(course, kb, engine="auto") -> Review
    evaluate_review(course, kb, engine="auto") -> ReviewEvaluation (with working memory)

The course becomes progress facts (`planwise.clinical.review_facts.progress_facts`);
only the stage "review" runs over them (`planwise.facts.REVIEW_STAGES`), on
either engine, with the same working memory and firing bookkeeping as a
proposal. Each `change` fact becomes a ProposedChange; changes of the same
kind, subject and item are merged (their rules and matched facts joined, the
highest urgency kept, their distinct reasons joined), then ordered: risk
first, then referrals, stepping up care, changes to the interventions, the
alliance, sessions, objectives, and ending last.
"""

from __future__ import annotations

from typing import Any

from planwise.clinical.course import Course
from planwise.clinical.review_facts import describe_fact, progress_facts
from planwise.facts import REVIEW_STAGES
from planwise.kb.loader import CompiledRule, KnowledgeBase
from planwise.models.review import REVIEW_SCHEMA, ProposedChange, Review
from planwise.rules.backends import backend_for
from planwise.rules.memory import Fact, Memory, fire_rule, trace

KIND_ORDER = (
    "reassess_risk", "refer", "step_up_care", "step_up_frequency", "change_intervention",
    "add_intervention", "review_alliance", "request_sessions", "revise_objective",
    "end_treatment",
)


class ReviewEvaluation:
    """One review: progress facts, the review stage, the proposed changes."""

    def __init__(self, kb: KnowledgeBase, backend: Any) -> None:
        self.kb = kb
        self.backend = backend
        self.memory = Memory()
        self.review: Review | None = None

    def _derive(self, rule: CompiledRule, bound: dict[str, Fact]) -> list[Fact]:
        return fire_rule(self.memory, rule, bound)

    def run(self, course: Course) -> Review:
        mem = self.memory
        for fact in progress_facts(course, self.kb):
            mem.add(fact)
        base = list(mem.facts.values())
        for stage in REVIEW_STAGES:
            mem.stage = stage
            self.backend.run_stage(stage, list(mem.facts.values()), self._derive, mem.facts)
        return Review(
            schema=REVIEW_SCHEMA, plan=course.plan, today=course.today,
            facts=[describe_fact(f, self.kb) for f in base],
            changes=self._changes(), trace=trace(self.memory, REVIEW_STAGES))

    def _changes(self) -> list[ProposedChange]:
        kb, mem = self.kb, self.memory
        sources: dict[int, list[int]] = {}  # change fact -> the facts its firings matched
        for firing in mem.firings:
            for n in firing.derived:
                bucket = sources.setdefault(n, [])
                bucket += [m for m in firing.matched if m not in bucket]
        merged: dict[tuple[str, str, str], dict[str, Any]] = {}
        for f in mem.of_type("change"):
            key = (f["kind"], f["subject"], f["item"])
            m = merged.setdefault(key, {"urgency": f["urgency"], "reasons": set(),
                                        "because": set(), "facts": set()})
            if kb.rank("urgencies", f["urgency"]) > kb.rank("urgencies", m["urgency"]):
                m["urgency"] = f["urgency"]
            m["reasons"].add(f["reason"])
            m["because"] |= set(mem.because[f["n"]])
            m["facts"] |= set(sources.get(f["n"], []))
        kinds = {k: i for i, k in enumerate(KIND_ORDER)}

        def order(key: tuple[str, str, str]) -> tuple[Any, ...]:
            kind, subject, item = key
            return (kinds.get(kind, len(kinds)), -kb.rank("urgencies", merged[key]["urgency"]),
                    subject, item)

        return [
            ProposedChange(
                id=f"{kind}:{subject}:{item}", kind=kind, subject=subject, item=item,  # type: ignore[arg-type]
                urgency=merged[(kind, subject, item)]["urgency"],
                reason=" ".join(sorted(merged[(kind, subject, item)]["reasons"])),
                because=sorted(merged[(kind, subject, item)]["because"]),
                facts=[describe_fact(mem.facts[n], kb)
                       for n in sorted(merged[(kind, subject, item)]["facts"])])
            for kind, subject, item in sorted(merged, key=order)
        ]


def evaluate_review(course: Course, kb: KnowledgeBase, engine: str = "auto"
                    ) -> ReviewEvaluation:
    """Run the review stage; the evaluation keeps the review and its working memory."""
    evaluation = ReviewEvaluation(kb, backend_for(kb, engine))
    evaluation.review = evaluation.run(course)
    return evaluation


def review(course: Course, kb: KnowledgeBase, engine: str = "auto") -> Review:
    """The plan changes the review rules propose for this course, each explained."""
    result = evaluate_review(course, kb, engine).review
    assert result is not None
    return result
