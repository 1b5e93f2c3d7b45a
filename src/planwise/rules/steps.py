"""The engine's own documented steps between stages, by id, in words.

Each is named in the `because` of what it produces (an `engine.` id), so that
`planwise knowledge show`, `explain` and the interface's Why can say what it did.
"""

from __future__ import annotations

BUILTIN_STEPS = {
    "engine.risk.highest": (
        "When several risk rules fire, the highest level stands: high over moderate over "
        "unassessed over low over none. A positive screen that has not been followed by a "
        "structured assessment counts above low risk, because its level is unknown."),
    "engine.severity.resolve": (
        "A problem's severity is the clinician's rating when there is one; otherwise the most "
        "severe level any instrument rule found; otherwise moderate, until it is rated."),
    "engine.problem.basis": (
        "A problem is the clinician's when an impression, a clinician's rating, a diagnosis or "
        "the clinician's risk assessment led to it; a screening concern with a score over the "
        "cut-off makes it screen-and-concern; a score alone makes it screen-only, for the "
        "clinician to confirm or reject."),
    "engine.treatment.sequence": (
        "With several problems, one course: the problem addressed first (safety, withdrawal "
        "and acute psychosis before the rest, then the most severe) brings "
        "its own number of sessions; every other problem with a course of its own adds half "
        "of its sessions (rounded up), because work on it overlaps with the first, or a "
        "quarter when one of its therapies is already in the course; the course is never "
        "shorter than the longest single problem's, and it runs at that course's frequency, "
        "so its length in weeks stays as the knowledge says. The level "
        "of care is the highest any problem needs and the review interval the shortest; with "
        "a payer's limit the first review falls within the authorised sessions."),
    "engine.knowledge.override": (
        "A clinic's knowledge folder disabled or replaced safety-critical knowledge (see "
        "knowledge/safety.toml) with an explicit override and reason. Every proposal made "
        "with it says so, naming the ids, so the change is never silent."),
    "engine.course.capacity": (
        "A session moves about two objectives on (one in the session, one as homework). When "
        "the objectives that start now are more than the course can move on, or a payer's "
        "limit buys less than the course's minimum, the plan says so and what fits: the "
        "problems in priority order, stabilising goals first; under a payer's limit, with "
        "the first review inside it."),
}
