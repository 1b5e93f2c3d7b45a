"""SMART lint of a plan's objectives (`planwise plan lint`, and the check before `plan sign`).

`lint_doc` is a pure function over a plan document; `lint_plan` reads a stored
version and supplies what the document alone does not know (the minimum weeks
of each proposed objective, the instrument names). Rejected objectives, and
objectives under a rejected goal or problem, are skipped: rejecting a goal
rejects what hangs under it, so the therapist need not reject each objective.

The letters (docs/store.md, "SMART lint"):

- S: every client task names an observable behaviour: at least 4 words and an
  action verb from `ACTION_VERBS` (write, complete, attend, rate, ...).
- M: the measure has a number (a digit or a number word such as "three",
  "daily", "weekly", the same words `knowledge check` accepts) or names an
  instrument (PHQ-9, GAD-7, ...).
- A: the anticipated date is at least 1 week after the plan's start date, and,
  for an objective the engine proposed, not sooner than its knowledge target
  (start date + the objective's target weeks).
- R: the objective is linked to at least one therapist intervention of its
  goal that is not rejected.
- T: it has an anticipated date.

Besides the letters, one check on problems (letter `screen`): a problem the
engine proposed on a screen alone (`basis = "screen_only"`: a score over the
cut-off that no concern, impression or diagnosis names) must be confirmed by
the clinician (`confirmed = true`) or rejected with a reason. `plan sign`
refuses such a plan even with --force: confirming or rejecting takes one key,
and a plan must not treat an unconfirmed screen as a diagnosis.

Apart from the findings, warnings on the problems' ICD-10-CM codes (`code_warnings`,
letter `code`): a non-billable category, and, for a payer-facing export, a problem
without a code. `plan lint` prints them after the findings; they never block signing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from planwise.store.models import PlanDoc, PlanItem, ProblemItem
from planwise.store.plan_read import doc_from_rows, plan_and_version, version_rows

if TYPE_CHECKING:
    from planwise.store.db import Conn

MIN_ACTION_WORDS = 4  # as planwise.kb.quality.MIN_ACTION_WORDS
MIN_WEEKS = 1
LETTERS = "SMART"
SCREEN = "screen"    # the letter of an unconfirmed screen-only problem (not forceable)
CODE = "code"        # a warning on a problem's ICD-10-CM code (code_warnings; never blocks)

_NUMBER_WORDS = re.compile(  # as planwise.kb.quality._NUMBER_WORDS
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|half|twice|daily|weekly|"
    r"every|each|all|none|no)\b", re.IGNORECASE)

# Observable actions a client can be seen (or shown) to do. Verbs of inner states
# ("understand", "feel", "know", "be") are deliberately absent.
ACTION_VERBS = frozenset("""
    agree answer apply approach arrange ask attend book bring build call carry catch challenge
    change check choose claim collect come compare complete contact count cut delay describe
    discuss do drink eat enter exercise fill find follow get give go hold identify invite join
    keep leave limit list log look make meet name note notice phone pick plan postpone practise
    practice prepare read reach record reduce refuse remove repeat report restart return
    review rate say schedule score see set share show sign sleep spend stay stop take talk tell
    tick track try turn use visit wake walk wear write
""".split())


@dataclass(frozen=True)
class Finding:
    objective: str     # the objective's key (a problem's key for letter SCREEN)
    letter: str        # S, M, A, R, T, or SCREEN
    message: str

    @property
    def blocking(self) -> bool:
        """Refused at signing even with --force."""
        return self.letter == SCREEN

    def __str__(self) -> str:
        return f"{self.objective}\t{self.letter}\t{self.message}"


def observable(task: str) -> str | None:
    """Why a client task is not an observable behaviour, or None when it is."""
    words = [w.strip(".,;:()\"'").lower() for w in task.split()]
    words = [w for w in words if w]
    if len(words) < MIN_ACTION_WORDS:
        return f"fewer than {MIN_ACTION_WORDS} words"
    if not any(_is_action(w) for w in words):
        return "no action verb (write, complete, attend, rate, ...)"
    return None


def _is_action(word: str) -> bool:
    """An action verb, also in the third person ("spends", "watches", "tries")."""
    if word in ACTION_VERBS:
        return True
    if word.endswith("ies"):
        return word[:-3] + "y" in ACTION_VERBS
    if word.endswith("es") and word[:-2] in ACTION_VERBS:
        return True
    return word.endswith("s") and word[:-1] in ACTION_VERBS


def measurable(measure: str, instruments: Iterable[str] = ()) -> bool:
    if re.search(r"\d", measure) or _NUMBER_WORDS.search(measure):
        return True
    low = measure.lower()
    return any(n and n.lower() in low for n in instruments)


def _rejected(item: PlanItem) -> bool:
    return item.origin == "proposed_rejected"


def unconfirmed(problem: ProblemItem) -> bool:
    """A screen-only problem still in the plan that the clinician has not confirmed."""
    return (problem.basis == "screen_only" and not problem.confirmed
            and not _rejected(problem))


def screen_message(problem: ProblemItem) -> str:
    name = problem.condition.replace("_", " ")
    return (f"{name} rests on a screen only (no concern, impression or diagnosis names it): "
            "confirm it (confirmed = true) or reject it with a reason before signing")


def lint_doc(doc: PlanDoc, min_weeks: dict[str, int] | None = None,
             instruments: Iterable[str] = ()) -> list[Finding]:
    """SMART findings for every non-rejected objective, and SCREEN findings for every
    unconfirmed screen-only problem, in document order.

    `min_weeks` maps an objective key to its knowledge target weeks (proposed
    objectives); others need MIN_WEEKS.
    """
    min_weeks = min_weeks or {}
    names = list(instruments)
    out: list[Finding] = []
    for p in doc.problems:
        if _rejected(p):
            continue
        if unconfirmed(p):
            out.append(Finding(p.key or "?", SCREEN, screen_message(p)))
        for g in p.goals:
            if _rejected(g):
                continue
            live_interventions = {i.key for i in g.interventions if not _rejected(i)}
            for o in g.objectives:
                if _rejected(o):
                    continue
                key = o.key or "?"

                def add(letter: str, message: str, key: str = key) -> None:
                    out.append(Finding(key, letter, message))

                for n, task in enumerate(o.client_tasks, 1):
                    why = observable(task)
                    if why:
                        add("S", f"client task {n} is not an observable behaviour: {why}")
                if not measurable(o.measure, names):
                    add("M", "the measure has no number and names no instrument")
                if o.anticipated is not None:
                    weeks = max(MIN_WEEKS, min_weeks.get(key, MIN_WEEKS))
                    earliest = doc.start_date + dt.timedelta(weeks=weeks)
                    if o.anticipated < earliest:
                        add("A", f"anticipated {o.anticipated} is sooner than {earliest} "
                                 f"(start date + {weeks} week{'s' if weeks != 1 else ''})")
                if not any(k in live_interventions for k in o.interventions):
                    add("R", "linked to no therapist intervention of its goal that is not "
                             "rejected")
                if o.anticipated is None:
                    add("T", "no anticipated completion date")
    return out


def _min_weeks(c: Conn, plan: dict[str, object], rows: list[dict[str, object]]
               ) -> dict[str, int]:
    """Knowledge target weeks of proposed objectives: proposal's anticipated - intake date."""
    if plan.get("intake_id") is None:
        return {}
    intake = c.one("SELECT date FROM intakes WHERE id = ?", [plan["intake_id"]])
    if intake is None:
        return {}
    start = dt.date.fromisoformat(intake["date"])
    out: dict[str, int] = {}
    for r in rows:
        if r["kind"] != "objective" or r["proposed"] is None:
            continue
        anticipated = json.loads(str(r["proposed"])).get("anticipated")
        if anticipated:
            out[str(r["key"])] = (dt.date.fromisoformat(anticipated) - start).days // 7
    return out


def instrument_names() -> list[str]:
    from planwise.clinical.instrument_files import load_instruments

    return [n for i in load_instruments().values() for n in (i.name, i.id)]


def lint_version(c: Conn, plan: dict[str, object], version_row: dict[str, object]
                 ) -> list[Finding]:
    """Lint a stored version (rows from plan_versions); usable inside a transaction."""
    rows = version_rows(c, int(version_row["id"]))  # type: ignore[call-overload]
    doc = doc_from_rows(plan, version_row, rows)  # type: ignore[arg-type]
    return lint_doc(doc, _min_weeks(c, plan, rows), instrument_names())


def lint_plan(c: Conn, plan_id: int, version: int | None = None) -> list[Finding]:
    plan, v = plan_and_version(c, plan_id, version)
    return lint_version(c, plan, v)


# --- code warnings -----------------------------------------------------------------------

def code_warnings(doc: PlanDoc, payer: bool = False) -> list[Finding]:
    """Warnings on the problems' ICD-10-CM codes (letter CODE): a category that is not
    billable (it has subdivisions; a claim needs one of them), and with `payer` (a
    payer-facing export, e.g. FHIR) a problem with no code at all. Warnings never block
    signing: `lint_doc`'s findings do. The code table loads only when a problem has a code.
    Unknown codes never get here: importing the plan refuses them (planwise.icd)."""
    out: list[Finding] = []
    for p in doc.problems:
        if _rejected(p):
            continue
        name = p.condition.replace("_", " ")
        if p.code is None:
            if payer:
                out.append(Finding(p.key or "?", CODE, f"{name} has no ICD-10-CM code: a "
                                   "payer-facing export carries it uncoded (add code = "
                                   '"..." to the problem in the plan file)'))
            continue
        from planwise import icd

        if icd.known(p.code) and not icd.billable(p.code):
            out.append(Finding(p.key or "?", CODE, f"{p.code} is an ICD-10-CM category, not "
                               "a billable code: a claim needs one of its subdivisions"))
    return out


def summary(findings: list[Finding], warnings: list[Finding] | None = None) -> str:
    n = len(findings)
    out = f"{n} problem{'' if n == 1 else 's'}"
    if warnings:
        out += f", {len(warnings)} warning{'' if len(warnings) == 1 else 's'}"
    return out
