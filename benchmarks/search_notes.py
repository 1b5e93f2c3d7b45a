"""Full-text search figures for benchmarks/store.py: realistic session notes and the
timing of `planwise.store.search.search` over them.

The notes are made from a few hundred clinical phrases, so that word frequencies
look like a caseload's: "session", "homework" and "week" in most notes, "panic
attack at work" in a few hundred, a named medication in a handful. Deterministic
for a given random generator.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

OPENINGS = [
    "Client arrived on time and engaged well.", "Client was ten minutes late; traffic.",
    "Reviewed the week since the last session.", "Client came in tired after a poor night.",
    "Session held by video at the client's request.", "Client seemed flat at the start.",
    "Brief check-in on mood and safety first.", "Client brought the diary as agreed.",
]
TOPICS = [
    "We talked about the panic attack at work on {day} and what happened just before it.",
    "Discussed a panic attack on the bus; the client got off two stops early.",
    "Explored the argument with {rel} about money and how it ended.",
    "Client described low mood most mornings and staying in bed until {time}.",
    "Talked through the drinking on {day}: {n} units, more than planned.",
    "Worked on sleep: going to bed at the same time, no screens after {time}.",
    "Client reported worry about the job interview on {day}.",
    "Reviewed the thought record about the comment from the manager at work.",
    "Client spoke about the anniversary of {rel_pos} death and the grief it brought back.",
    "Discussed avoidance of the supermarket and a plan to go with {rel}.",
    "Client had a nightmare about the assault twice this week.",
    "Talked about loneliness since moving to the new flat.",
    "Explored the urge to self-harm on {day}; the client used the safety plan and rang {rel}.",
    "Client was pleased about walking {n} times this week.",
    "Discussed the side effects of {med}: nausea easing, sleep still broken.",
    "Client described a conflict with the landlord over repairs.",
    "We went over the budget and the debt letters the client had been avoiding.",
    "Client said the exposure to crowded trains felt easier than last time.",
    "Talked about returning to work part-time and fears about the first week.",
    "Client reflected on childhood memories that came up after the last session.",
    "Discussed the relapse at the weekend party and what triggered it.",
    "Client described racing thoughts at night and checking the door locks.",
    "Talked about the custody hearing and the stress it is causing.",
    "Client noticed the critical inner voice less often this week.",
]
WORK = [
    "Practised paced breathing; client rated anxiety {a} before and {b} after.",
    "Did a behavioural experiment on predictions about being judged.",
    "Completed a thought record together and found an alternative explanation.",
    "Planned three pleasant activities for the week ahead.",
    "Rehearsed what to say to {rel} using assertive statements.",
    "Reviewed the safety plan; no changes needed.",
    "Graded exposure hierarchy updated; next step is step {n}.",
    "Grounding exercise practised for flashbacks: five things seen, four heard.",
    "Motivational interviewing on the pros and cons of cutting down.",
    "Problem-solving on the housing issue: three options listed.",
]
CLOSINGS = [
    "Homework: keep the mood diary daily.", "Homework: two exposure tasks before next week.",
    "Homework: practise breathing twice a day.", "Homework: call the GP about the medication.",
    "Next session in one week.", "Next session in two weeks; client to email if worse.",
    "Risk reviewed: no current thoughts of suicide.", "PHQ-9 given again at the end.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
RELS = ["her partner", "his partner", "their partner", "a sister", "a brother", "mum", "dad",
        "a friend", "the manager", "a flatmate"]
MEDS = ["sertraline", "fluoxetine", "citalopram", "mirtazapine", "venlafaxine", "quetiapine",
        "propranolol", "diazepam", "zopiclone", "naltrexone", "acamprosate", "lithium"]
RELS_POS = ["her mother's", "his father's", "their grandmother's", "a friend's", "a brother's"]


def note(rng: random.Random, n: int) -> str:
    """One session note of about 60 to 120 words."""
    def fill(text: str) -> str:
        return text.format(day=rng.choice(DAYS), rel=rng.choice(RELS),
                           rel_pos=rng.choice(RELS_POS), med=rng.choice(MEDS),
                           time=f"{rng.randint(9, 12)}pm" if "bed" not in text
                           else f"{rng.randint(10, 13)}:00",
                           n=rng.randint(2, 9), a=rng.randint(6, 9), b=rng.randint(2, 5))
    parts = [rng.choice(OPENINGS), *(fill(t) for t in rng.sample(TOPICS, rng.randint(1, 3))),
             *(fill(t) for t in rng.sample(WORK, rng.randint(1, 2))), fill(rng.choice(CLOSINGS))]
    return f"Session {n}. " + " ".join(parts)


# What a therapist types: words of a topic (few or many records), a phrase, a name, an
# unfinished word (as the interface searches while typing), a query with no record
# having all its words (the any-word fallback), and syntax that must stay plain text.
QUERIES: list[tuple[str, str, bool]] = [
    ("panic attack at work", "topic, four words", False),
    ("sertraline", "rare word", False),
    ("homework", "very common word", False),
    ('"argument with"', "phrase", False),
    ("landlord repairs", "two words", False),
    ("nightm", "unfinished word", True),
    ("kowalski", "client name", False),
    ("panic landlord sertraline custody", "no record has all: any word", False),
    ('NOT "OR (', "query syntax as text", False),
]


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def measure_search(c: Any, report: Callable[..., None], rounds: int = 25) -> None:
    """Median and p95 of `search()` per kind of query, beside the same words found by a
    LIKE scan of the notes (what search cost without the index), timed in this run."""
    from planwise.store.search import search

    notes = c.one("SELECT count(*) AS n FROM sessions")["n"]
    print(f"full-text search over {notes:,} session notes ({rounds} runs each; "
          "baseline: a LIKE '%word%' scan of the notes, same run)")
    every: list[float] = []
    for text, what, prefix in QUERIES:
        ms = [timed(lambda t=text, p=prefix: search(c, t, limit=20, prefix_last=p))
              for _ in range(rounds)]
        every += ms
        found = search(c, text, limit=20, prefix_last=prefix)
        word = text.strip('"').split()[0].strip('"(')
        like = [timed(lambda w=word: c.query("SELECT count(*) FROM sessions WHERE note LIKE ?",
                                             [f"%{w}%"])) for _ in range(3)]
        report(f"  {what}", ms, 50)
        print(f"{'':16}   {found.total:,} records match{' (any word)' if found.any_words else ''}"
              f"; baseline LIKE scan for {word!r}: median {statistics.median(like):.1f} ms")
    report("search (all)", every, 50)
