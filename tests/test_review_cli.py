"""`planwise review`: a course from intake through sessions and scores to proposed changes,
and accepting them into the plan (a new version with the reason, or the draft in place)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from planwise.kb.loader import load_knowledge
from planwise.models.review import ProposedChange
from planwise.store import Store, plans
from planwise.store.lint import lint_doc, lint_plan
from planwise.store.models import PlanDoc
from planwise.store.review_apply import apply_changes
from tests.test_store_helpers import Runner, with_drafted_plan

OBJ = "depression.activity.monitor"
FLAT = "phq9=2,3,2,2,1,2,2,1,0"  # 15: one point under the baseline of 16
REFER = "refer:depression:psychiatry"
FREQ = "step_up_frequency:depression:2"
DAY = "2027-01-25"


def course_of_eight_flat_sessions(run: Runner) -> None:
    for n in range(8):
        day = (dt.date(2026, 12, 6) + dt.timedelta(weeks=n)).isoformat()
        run.ok("session", "add", "P1", "--date", day, "--objective", f"{OBJ}:3", "--note", "n",
               "--feedback", "heard=8,mattered=7,approach=9,overall=8", "--measure", FLAT)


@pytest.fixture(autouse=True)
def later_today(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reviews are recorded on or before today: "today" is after the course below.
    monkeypatch.setenv("PLANWISE_TODAY", "2027-06-01")


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    r = with_drafted_plan(tmp_path, monkeypatch)
    r.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician")
    course_of_eight_flat_sessions(r)
    return r


def review(run: Runner, *args: str) -> str:
    return run.ok("review", "P1", "--date", DAY, "--engine", "reference", *args)


def test_review_lists_changes_with_reasons_and_rules(run: Runner) -> None:
    out = review(run)
    assert out.startswith(f"P1 review on {DAY}: version 1, 8 sessions of 12 used")
    # The changes to decide on come first, one line each with its id; the reasons after.
    listing = out.split("Progress so far:")[0]
    assert f"   1. Refer to Psychiatry (Soon (1-2 weeks))\n      id {REFER}" in listing
    assert f"id {FREQ}" in listing and "because rule" not in listing
    assert "Why each change:" in out.split("Progress so far:")[1]
    assert "PHQ-9 (primary measure of depression): 16 at baseline, 15 now, 8" in out
    assert f"  1. {REFER}\n     Refer to Psychiatry (Soon (1-2 weeks))" in out
    assert "because rule review.depression.no_change_psychiatry says: The PHQ-9 shows" in out
    assert "Source: NICE NG222" in out
    assert FREQ in out and "Step up to 2 sessions a week" in out
    assert "review_alliance::" in out
    data = json.loads(review(run, "--format", "json"))
    ids = [c["id"] for c in data["changes"]]
    assert data["schema"] == "planwise.review/1" and ids[0] == REFER and FREQ in ids
    n = len(ids)
    assert out.rstrip().endswith(f"{n} changes proposed; to accept: planwise review P1 "
                                 "--accept ID --reason TEXT (or --accept-all --reason TEXT)")
    assert run.rows("SELECT count(*) n FROM plan_versions")[0]["n"] == 1  # nothing saved


def test_accept_creates_version_2_with_the_reason(run: Runner) -> None:
    out = review(run, "--accept", REFER, "--accept", FREQ, "--reason",
                 "no reliable change after 8 sessions")
    assert out.splitlines()[:2] == [
        f"  + Refer to Psychiatry (Soon (1-2 weeks))  [{REFER}]",
        f"  + Step up to 2 sessions a week  [{FREQ}]"]
    assert "Progress so far" not in out  # accepting prints what was done, not the review
    assert out.splitlines()[-1] == (
        f"2 changes accepted ({REFER}, {FREQ}); P1 version 2 saved with the reason (version 1 "
        "is signed and stays as it was)")
    history = run.ok("plan", "history", "P1")
    assert "v2\t" in history and "no reliable change after 8 sessions" in history
    with Store(run.db).connect() as c:
        doc = plans.load_doc_for(c, 1)
        old = plans.load_doc_for(c, 1, 1)
        assert lint_plan(c, 1) == []
    assert doc.version == 2 and doc.treatment and doc.treatment.frequency_per_week == 2
    assert old.treatment and old.treatment.frequency_per_week == 1
    ref = next(r for r in doc.referrals if r.kind == "psychiatry")
    assert (ref.origin, ref.urgency) == ("added", "soon")
    assert "rules review.depression.no_change_psychiatry" in ref.reason
    assert doc.review_date == dt.date(2027, 1, 25) + dt.timedelta(weeks=6)
    audit = run.rows("SELECT detail FROM audit WHERE action = 'plan.review'")
    assert len(audit) == 1
    detail = json.loads(audit[0]["detail"])
    assert detail == {"accepted": [REFER, FREQ], "changed": True, "date": DAY,
                      "new_version": True, "version": 2}
    assert "8 sessions" not in audit[0]["detail"]  # the reason stays out of the audit
    # The review now reads version 2: the referral is made, the review was today.
    again = json.loads(review(run, "--format", "json"))
    assert REFER not in [c["id"] for c in again["changes"]]
    assert any("Plan version 2" in f and "0 weeks since the last review" in f
               for f in again["facts"])


@pytest.mark.parametrize("args, message", [
    (["--accept", "refer:depression:nobody", "--reason", "r"], "refer:depression:nobody"),
    (["--accept", REFER, "--accept", "made:up:id", "--reason", "r"], "made:up:id"),
    (["--accept", REFER], "--reason is required"),
    (["--accept", REFER, "--reason", "  "], "--reason is required"),
    (["--accept-all", "--accept", REFER, "--reason", "r"], "not both"),
    (["--reason", "r"], "--reason goes with --accept"),
    (["--date", "soon"], "--date must be a date"),
])
def test_bad_accept_exits_2_and_saves_nothing(run: Runner, args: list[str],
                                              message: str) -> None:
    before = run.rows("SELECT * FROM plan_items ORDER BY id")
    err = run.fails("review", "P1", "--engine", "reference",
                    *(args if "--date" in args else ["--date", DAY, *args]))
    assert message in err
    assert "Jo Example" not in err
    assert run.rows("SELECT count(*) n FROM plan_versions")[0]["n"] == 1
    assert run.rows("SELECT * FROM plan_items ORDER BY id") == before
    assert run.rows("SELECT count(*) n FROM audit WHERE action LIKE 'plan.review%'"
                    )[0]["n"] == 0


def test_accept_all_on_an_unsigned_draft_edits_it_in_place(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    run = with_drafted_plan(tmp_path, monkeypatch)
    course_of_eight_flat_sessions(run)
    data = json.loads(review(run, "--format", "json"))
    n = len(data["changes"])
    out = review(run, "--accept-all", "--reason", "week 8 review")
    assert f"{n} changes accepted" in out
    assert "P1 version 1 edited in place (an unsigned draft: no new version" in out
    assert run.rows("SELECT count(*) n FROM plan_versions")[0]["n"] == 1
    assert run.rows("SELECT row_version FROM plan_versions")[0]["row_version"] == 2
    with Store(run.db).connect() as c:
        doc = plans.load_doc_for(c, 1)
        assert lint_plan(c, 1) == []
    assert any(r.kind == "psychiatry" for r in doc.referrals)
    objective = next(o for p in doc.problems for g in p.goals for o in g.objectives
                     if o.key == OBJ)
    assert objective.status == "open" and objective.anticipated == dt.date(2027, 3, 8)
    detail = json.loads(run.rows("SELECT detail FROM audit WHERE action = 'plan.review'"
                                 )[0]["detail"])
    assert detail["version"] == 1 and detail["new_version"] is False
    assert len(detail["accepted"]) == n
    # The accepted review counts as the last review of version 1.
    again = json.loads(review(run, "--format", "json"))
    assert any("0 weeks since the last review" in f for f in again["facts"])


# --- what each kind of change does to the plan -------------------------------------------

def change(kind: str, subject: str = "", item: str = "", urgency: str = "") -> ProposedChange:
    return ProposedChange(id=f"{kind}:{subject}:{item}", kind=kind,  # type: ignore[arg-type]
                          subject=subject, item=item, urgency=urgency,
                          reason="The reason in words.", because=["review.test.rule"])


def _objective(doc: PlanDoc, key: str):  # type: ignore[no-untyped-def]
    return next(o for p in doc.problems for g in p.goals for o in g.objectives if o.key == key)


def _interventions(doc: PlanDoc, goal: str) -> dict[str, str]:
    return {i.key or "": i.modality for p in doc.problems for g in p.goals if g.key == goal
            for i in g.interventions}


@pytest.fixture()
def draft(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    return with_drafted_plan(tmp_path, monkeypatch)


TODAY = dt.date(2027, 1, 25)


def test_each_kind_of_change_saves_and_lints(draft: Runner) -> None:
    kb = load_knowledge([])
    with Store(draft.db).connect() as c:
        doc = plans.load_doc_for(c, 1)
        changes = [
            change("review_alliance", "phq9"),
            change("change_intervention", "depression", "ipt"),
            change("add_intervention", "depression", "depression.activity.values"),
            change("step_up_frequency", "depression", "2"),
            change("step_up_care", "depression", "intensive_outpatient"),
            change("refer", "depression", "psychiatry", "urgent"),
            change("refer", "alcohol_use", "mutual_help", "soon"),
            change("revise_objective", OBJ, "met"),
            change("revise_objective", "depression.thinking.record", "revise"),
            change("end_treatment"),
            change("reassess_risk", "phq9"),
            change("request_sessions"),
        ]
        new = apply_changes(doc, changes, kb, TODAY)
        assert plans.load_doc_for(c, 1) == doc  # the input is not changed
        version, changed = plans.save_doc(c, 1, new, "review")
        assert (version, changed) == (1, True)
        saved = plans.load_doc_for(c, 1)
        assert lint_plan(c, 1) == []
    # review_alliance: under the first goal (in the plan's order) measured by the PHQ-9
    measured = next(g.key for p in saved.problems for g in p.goals
                    if any("phq-9" in o.measure.lower() for o in g.objectives))
    assert measured is not None
    alliance = _interventions(saved, measured)
    assert alliance[f"review.alliance.{measured}"] == "person_centred"
    # change_intervention: a new modality for depression's first goal
    assert _interventions(saved, "depression.activity")["review.depression.activity.ipt"] == "ipt"
    # add_intervention: already in the plan, stays once
    assert list(_interventions(saved, "depression.activity")).count(
        "depression.activity.values") == 1
    assert saved.treatment is not None
    assert (saved.treatment.frequency_per_week, saved.treatment.level_of_care) == (
        2, "intensive_outpatient")
    assert saved.treatment.origin == "proposed_edited"
    refs = {r.kind: (r.urgency, r.origin) for r in saved.referrals}
    assert refs["psychiatry"] == ("urgent", "added")
    assert refs["mutual_help"][0] == "soon"  # kept, urgency raised
    met = _objective(saved, OBJ)
    assert (met.status, met.actual) == ("met", TODAY)
    revised = _objective(saved, "depression.thinking.record")
    assert revised.status == "open" and revised.anticipated == TODAY + dt.timedelta(weeks=6)
    warnings = {w.kind: w.message for w in saved.warnings if w.origin == "added"}
    assert set(warnings) == {"discharge_planning", "risk_reemerging", "session_limit"}
    assert all("rules review.test.rule" in m for m in warnings.values())
    assert [a.instrument for a in saved.assessments if a.origin == "added"] == [
        "structured_risk_assessment"]
    added = [i for p in saved.problems for g in p.goals for i in g.interventions
             if i.origin == "added"]
    assert added and all(i.because == [] for i in added)  # because is the engine's only
    assert saved.review_date == TODAY + dt.timedelta(weeks=6)


def test_add_intervention_restores_a_rejected_one_or_adds_its_goal(draft: Runner) -> None:
    kb = load_knowledge([])
    with Store(draft.db).connect() as c:
        doc = plans.load_doc_for(c, 1)
        goal = next(g for p in doc.problems for g in p.goals if g.key == "depression.thinking")
        goal.interventions[0].origin = "proposed_rejected"
        goal.interventions[0].rejection_reason = "not now"
        rejected = goal.interventions[0].key or ""
        plans.save_doc(c, 1, doc)
        doc = plans.load_doc_for(c, 1)
        # a catalogue goal the plan lacks, for a problem it has
        missing = next(gid for gid, g in kb.goals.items()
                       if g.condition in {p.condition for p in doc.problems}
                       and g.interventions and gid not in
                       {gg.key for p in doc.problems for gg in p.goals})
        item = kb.goals[missing].interventions[0].id
        new = apply_changes(doc, [change("add_intervention", "depression", rejected),
                                  change("add_intervention", "depression", item)], kb, TODAY)
        plans.save_doc(c, 1, new, "r")
        saved = plans.load_doc_for(c, 1)
        assert lint_plan(c, 1) == []
    back = next(i for p in saved.problems for g in p.goals for i in g.interventions
                if i.key == rejected)
    assert back.origin == "proposed_accepted" and back.rejection_reason is None
    added_goal = next(g for p in saved.problems for g in p.goals if g.key == missing)
    assert added_goal.origin == "added" and [i.key for i in added_goal.interventions] == [item]
    assert all(o.anticipated and o.anticipated > TODAY and o.interventions == [item]
               for o in added_goal.objectives)
    assert lint_doc(saved) == []


@pytest.mark.parametrize("bad, message", [
    (change("add_intervention", "depression", "no.such.intervention"), "not an intervention"),
    (change("revise_objective", "no.such.objective", "revise"), "not an objective"),
    (change("step_up_frequency", "depression", "twice"), "not a whole number"),
    (change("step_up_care", "depression", "spa"), "not a level of care"),
])
def test_a_change_that_does_not_fit_the_plan(draft: Runner, bad: ProposedChange,
                                             message: str) -> None:
    from planwise.errors import InputError

    kb = load_knowledge([])
    with Store(draft.db).connect() as c:
        doc = plans.load_doc_for(c, 1)
    with pytest.raises(InputError, match=message):
        apply_changes(doc, [bad], kb, TODAY)


def test_a_review_with_no_changes_is_recorded_and_clears_review_due(run: Runner) -> None:
    def flags() -> list[str]:
        rows = json.loads(run.ok("dashboard", "--date", DAY, "--format", "json"))
        return next(r["flags"] for r in rows if r["plan"] == "P1")

    assert "review_due" in flags()        # 8 weeks in, review every 6
    assert "review every 6 weeks: due" in json.loads(review(run, "--format", "json")
                                                     )["facts"][0]
    before = run.rows("SELECT * FROM plan_items ORDER BY id")
    out = review(run, "--no-changes")
    assert out.startswith(f"P1 version 1 reviewed on {DAY}: no changes (")
    assert "none accepted" in out
    assert "review_due" not in flags()
    assert run.rows("SELECT * FROM plan_items ORDER BY id") == before   # the plan untouched
    assert run.rows("SELECT count(*) n FROM plan_versions")[0]["n"] == 1
    detail = json.loads(run.rows("SELECT detail FROM audit WHERE action = 'plan.review'"
                                 )[0]["detail"])
    assert detail["accepted"] == [] and detail["date"] == DAY and detail["changed"] is False
    facts = json.loads(review(run, "--format", "json"))["facts"][0]
    assert "review every 6 weeks: due" not in facts


@pytest.mark.parametrize("extra", [["--accept", REFER], ["--accept-all"],
                                   ["--reason", "nothing to change"]])
def test_no_changes_goes_alone(run: Runner, extra: list[str]) -> None:
    err = run.fails("review", "P1", "--date", DAY, "--no-changes", *extra)
    assert "--no-changes" in err
    assert run.rows("SELECT count(*) n FROM audit WHERE action = 'plan.review'")[0]["n"] == 0


def test_alliance_review_not_proposed_again_until_a_new_session(run: Runner) -> None:
    ids = [c["id"] for c in json.loads(review(run, "--format", "json"))["changes"]]
    assert "review_alliance::" in ids
    review(run, "--accept", "review_alliance::", "--reason", "talked about the work together")
    again = json.loads(review(run, "--format", "json"))
    assert "review_alliance::" not in [c["id"] for c in again["changes"]]
    assert "0 sessions since then" in again["facts"][0]
    run.ok("session", "add", "P1", "--date", "2027-02-01", "--objective", f"{OBJ}:3",
           "--note", "n", "--measure", FLAT)
    later = json.loads(run.ok("review", "P1", "--date", "2027-02-01", "--engine", "reference",
                              "--format", "json"))
    assert "review_alliance::" in [c["id"] for c in later["changes"]]
    assert "1 session since then" in later["facts"][0]


def test_export_shows_the_timeline_of_the_plan_in_force(run: Runner, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("PLANWISE_TODAY", DAY)
    md = run.ok("plan", "export", "P1", "--format", "markdown")
    timeline = md.split("## Timeline", 1)[1].split("\n## ", 1)[0]
    assert f"As of {DAY}, week 8 since the start" in timeline
    assert "- Sessions: 8 of 12 used, 4 left" in timeline
    assert f"| `{OBJ}` |" in timeline and "last rated 3/10" in timeline
    sessions = md.split("## Sessions", 1)[1].split("\n## ", 1)[0]
    assert (f"- Session 1, 2026-12-06 (version 1): `{OBJ}` 3/10. PHQ-9 15. Feedback mean "
            "8/10, lowest 7.") in sessions
    data = json.loads(run.ok("plan", "export", "P1", "--format", "json"))
    assert data["timeline"]["sessions_used"] == 8 and data["timeline"]["session_limit"] == 12
    review(run, "--accept", REFER, "--reason", "no change")
    old = run.ok("plan", "export", "P1", "--version", "1", "--format", "markdown")
    assert "## Timeline" not in old                      # an earlier version: not in force
    assert "## Timeline" in run.ok("plan", "export", "P1", "--format", "markdown")


def test_a_review_is_not_recorded_ahead_of_today(run: Runner) -> None:
    for args in (["--no-changes"], ["--accept", REFER, "--reason", "later"]):
        err = run.fails("review", "P1", "--date", "2031-01-01", *args)
        assert "--date 2031-01-01 is after today (2027-06-01)" in err
    assert run.rows("SELECT count(*) n FROM audit WHERE action = 'plan.review'")[0]["n"] == 0
    assert review(run, "--no-changes", "--format", "json").startswith("{")
    data = json.loads(review(run, "--no-changes", "--format", "json"))
    assert data["plan"] == "P1" and data["date"] == DAY and data["accepted"] == []
