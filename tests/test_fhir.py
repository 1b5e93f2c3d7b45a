"""`plan export --format fhir`: every case of the library as a FHIR R4 Bundle, validated by
fhir.resources (R4B models) and round-tripped through its parser; LOINC codes on the
scores; ICD-10-CM on coded problems; a pseudonymised bundle names no one."""

from __future__ import annotations

import json
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from planwise.documents import fhir
from planwise.errors import InputError
from planwise.kb import load_knowledge
from planwise.models.profile import Profile
from planwise.store import Store
from planwise.store.clients import add_client, add_intake_data, save_client_info
from planwise.store.db import Conn
from planwise.store.models import ClientInfo, Contact
from planwise.store.plans import draft, sign
from tests.test_store_helpers import Runner, with_drafted_plan

CASES = sorted((Path(__file__).parent / "fixtures" / "cases").glob("*.toml"))
KB = load_knowledge()


def _name(n: int) -> str:
    # Distinct names that no plan text contains by chance: a leak is then a real leak.
    return f"Quillon Vexbridge{n:03d}"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Conn, list[int]]]:
    """One database with every case: a client (with contact details), its intake, and the
    plan drafted from it, signed by the therapist and the client."""
    conn = Store(tmp_path_factory.mktemp("fhir") / "cases.db").connect()
    plans: list[int] = []
    for n, path in enumerate(CASES):
        data = tomllib.loads(path.read_text())
        cid = add_client(conn, _name(n))
        save_client_info(conn, cid, ClientInfo(
            name=_name(n), contact=Contact(phone=f"555-01{n:03d}", email=f"q{n}@example.org",
                                           address=f"{n} Vexbridge Lane")))
        iid = add_intake_data(conn, cid, data["intake"], KB)
        profile = Profile.model_validate(data["profile"]) if "profile" in data else None
        pid = draft(conn, cid, f"I{iid}", KB, profile, "reference")
        try:
            sign(conn, pid, "client", _name(n), True)
            sign(conn, pid, "therapist", "A. Clinician", True)
        except InputError:  # an unconfirmed screen-only problem: signing is refused
            pass
        plans.append(pid)
    yield conn, plans
    conn.close()


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _roundtrip(bundle: dict[str, Any]) -> None:
    """Parsed by fhir.resources (a ValidationError if any resource breaks FHIR's rules),
    written back and parsed again: nothing lost or changed on the way."""
    from fhir.resources.R4B.bundle import Bundle

    text = fhir.render(bundle)
    again = Bundle.model_validate_json(text)
    assert json.loads(again.model_dump_json(exclude_none=True)) == json.loads(text)
    assert json.loads(text) == bundle


def test_there_is_a_case_library() -> None:
    assert len(CASES) > 100


@pytest.mark.parametrize("n", range(len(CASES)), ids=[p.stem for p in CASES])
def test_every_case_exports_a_valid_bundle(library: tuple[Conn, list[int]], n: int) -> None:
    conn, plans = library
    bundle = fhir.build_bundle(conn, plans[n])
    _roundtrip(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Patient" and kinds.count("CarePlan") == 1
    sigs = conn.one("SELECT count(*) AS n FROM signatures s JOIN plan_versions v ON "
                    "v.id = s.version_id WHERE v.plan_id = ?", [plans[n]])
    assert sigs is not None and kinds.count("Provenance") == sigs["n"]
    state = conn.one("SELECT state FROM plan_version_state WHERE plan_id = ?", [plans[n]])
    assert state is not None
    careplan = _resources(bundle, "CarePlan")[0]
    assert len(careplan.get("addresses", [])) == len(_resources(bundle, "Condition"))
    assert careplan["status"] == ("active" if state["state"] == "signed" else "draft")
    # The risk level is always carried (safety information).
    assert careplan["note"][0]["text"].startswith("Risk level: ")
    intake = tomllib.loads(CASES[n].read_text())["intake"]
    given = set(intake.get("instruments", {}))
    observed = {o["code"]["text"] for o in _resources(bundle, "Observation")}
    assert len(observed) == len(given)
    assert len(_resources(bundle, "QuestionnaireResponse")) == len(given)


@pytest.mark.parametrize("n", range(len(CASES)), ids=[p.stem for p in CASES])
def test_every_pseudonymised_case_names_no_one(library: tuple[Conn, list[int]],
                                               n: int) -> None:
    conn, plans = library
    bundle = fhir.build_bundle(conn, plans[n], pseudonymise=True)
    _roundtrip(bundle)
    patient = _resources(bundle, "Patient")[0]
    assert not {"name", "telecom", "address", "birthDate", "contact"} & set(patient)
    assert patient["identifier"][0]["value"].startswith("PW-")
    text = json.dumps(bundle)
    for leak in (_name(n), "Vexbridge", f"555-01{n:03d}", f"q{n}@example.org",
                 "urn:planwise:client"):
        assert leak.lower() not in text.lower(), leak


def test_phq9_and_gad7_scores_carry_their_loinc_codes(library: tuple[Conn, list[int]]
                                                      ) -> None:
    conn, plans = library
    seen: dict[str, set[str]] = {}
    for pid in plans:
        for o in _resources(fhir.build_bundle(conn, pid), "Observation"):
            for coding in o["code"].get("coding", []):
                seen.setdefault(o["code"]["text"], set()).add(
                    f"{coding['system']}|{coding['code']}")
    assert seen["PHQ-9 total score"] == {"http://loinc.org|44261-6"}
    assert seen["GAD-7 total score"] == {"http://loinc.org|70274-6"}
    assert seen["AUDIT total score"] == {"http://loinc.org|75624-7"}
    # An instrument without a checked LOINC code is named by planwise's own system.
    assert seen["PCL-5 total score"] == {"urn:planwise:instrument|pcl5"}


def test_coded_problems_carry_icd10cm(library: tuple[Conn, list[int]]) -> None:
    conn, plans = library
    n = next(i for i, p in enumerate(CASES) if p.stem == "icd_depression_code_only_phq9_20")
    conditions = _resources(fhir.build_bundle(conn, plans[n]), "Condition")
    depression = next(c for c in conditions if c["code"]["text"] == "depression")
    assert depression["code"]["coding"] == [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                             "code": "F32.2"}]
    assert depression["severity"]["coding"][0]["code"] == "24484000"  # SNOMED: severe


def test_the_item9_flag_is_on_the_phq9_observation(library: tuple[Conn, list[int]]) -> None:
    conn, plans = library
    flagged = [o for pid in plans for o in _resources(fhir.build_bundle(conn, pid), "Observation")
               if o["code"]["text"] == "PHQ-9 total score"
               and any(n["text"] == "Flag: item9 positive" for n in o.get("note", []))]
    assert flagged


def test_the_bundle_is_the_same_each_time(library: tuple[Conn, list[int]]) -> None:
    conn, plans = library
    assert fhir.build_bundle(conn, plans[0]) == fhir.build_bundle(conn, plans[0])
    # A pseudonymised bundle's ids are not the named one's.
    a = {e["fullUrl"] for e in fhir.build_bundle(conn, plans[0])["entry"]}
    assert a == {e["fullUrl"] for e in fhir.build_bundle(conn, plans[0], pseudonymise=True)
                 ["entry"]}


def _one(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": "urn:uuid:1", "resource": resource}]}


OBS = {"resourceType": "Observation", "id": "x", "status": "final", "code": {"text": "x"}}


@pytest.mark.parametrize("bad", [
    {**OBS, "status": None}, {k: v for k, v in OBS.items() if k != "code"},
    {**OBS, "valueInteger": "many"}, {**OBS, "effectiveDateTime": "2026-13-45"},
])
def test_fhir_resources_refuses_a_broken_resource(bad: dict[str, Any]) -> None:
    from pydantic import ValidationError

    fhir.validate(_one(OBS))   # the good one passes
    with pytest.raises(ValidationError):
        fhir.validate(_one({k: v for k, v in bad.items() if v is not None}))


@pytest.mark.parametrize("bad", [{**OBS, "status": "done"}, {**OBS, "note": []},
                                 {**OBS, "note": [{"text": " "}]}])
def test_what_fhir_resources_does_not_check_is_checked_too(bad: dict[str, Any]) -> None:
    with pytest.raises(fhir.FhirRuleError):
        fhir.validate(_one(bad))


# --- the command line -------------------------------------------------------------------

@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    return with_drafted_plan(tmp_path, monkeypatch)


def test_cli_exports_fhir_to_a_private_file(run: Runner, tmp_path: Path) -> None:
    out = tmp_path / "p1.fhir.json"
    assert run.ok("plan", "export", "P1", "--format", "fhir", "--output", str(out)) == \
        f"P1 written to {out}"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    bundle = json.loads(out.read_text())
    _roundtrip(bundle)
    assert _resources(bundle, "Patient")[0]["identifier"][0]["value"] == "C1"


def test_cli_pseudonymises(run: Runner) -> None:
    name = run.rows("SELECT name FROM clients WHERE id = 1")[0]["name"]
    text = run.ok("plan", "export", "P1", "--format", "fhir", "--pseudonymise")
    assert name not in text and '"name"' not in text.split('"Condition"')[0]
    again = run.ok("plan", "export", "P1", "--format", "fhir", "--pseudonymise")
    assert json.loads(text) == json.loads(again)   # a stable pseudonym


def test_cli_pseudonymise_is_for_fhir_only(run: Runner) -> None:
    assert "--pseudonymise is for --format fhir" in run.fails(
        "plan", "export", "P1", "--format", "markdown", "--pseudonymise")


def test_cli_warns_on_stderr_of_uncoded_problems(run: Runner) -> None:
    from click.testing import CliRunner

    from planwise.cli import cli

    result = CliRunner().invoke(cli, ["plan", "--db", str(run.db), "export", "P1", "--format",
                                      "fhir"])
    assert result.exit_code == 0
    assert "has no ICD-10-CM code" in result.stderr
    json.loads(result.stdout)   # stdout is the bundle alone


def test_scores_after_the_intake_each_have_an_observation_and_their_answers(
        run: Runner) -> None:
    run.ok("measure", "add", "C1", "phq9", "--answers", "1,1,0,1,0,1,0,0,1")
    run.ok("measure", "add", "C1", "asq", "--answers",
           "wish_dead=no,better_off_dead=yes,thoughts=no,attempt_ever=no")
    run.ok("measure", "add", "C1", "mdq", "--answers",
           "symptoms=1101100110000,same_period=yes,impairment=moderate")
    bundle = json.loads(run.ok("plan", "export", "P1", "--format", "fhir"))
    _roundtrip(bundle)
    stored = run.rows("SELECT id, instrument, total FROM measures WHERE client_id = 1")
    observations = _resources(bundle, "Observation")
    assert len(observations) == len(stored)
    assert sorted(o["valueInteger"] for o in observations) == sorted(m["total"] for m in stored)
    responses = {r["id"]: r for r in _resources(bundle, "QuestionnaireResponse")}
    assert len(responses) == len(stored)
    phq9 = [o for o in observations if o["code"]["text"] == "PHQ-9 total score"]
    assert len(phq9) == 2
    later = phq9[1]
    assert any(n["text"].startswith("Change since the baseline: ") for n in later["note"])
    assert any(n["text"] == "Flag: item9 positive" for n in later["note"])   # item 9 = 1
    qr = responses[later["derivedFrom"][0]["reference"].removeprefix("urn:uuid:")]
    assert [i["answer"][0]["valueInteger"] for i in qr["item"]] == [1, 1, 0, 1, 0, 1, 0, 0, 1]
    assert qr["item"][8]["text"].startswith("Thoughts that you would be better off dead")
    asq = [r for r in responses.values() if r["questionnaire"].endswith(":asq")][-1]  # latest
    assert {i["linkId"]: i["answer"][0]["valueBoolean"] for i in asq["item"]}[
        "better_off_dead"] is True
    mdq = next(r for r in responses.values() if r["questionnaire"].endswith(":mdq"))
    symptoms = next(i for i in mdq["item"] if i["linkId"] == "symptoms")
    assert len(symptoms["item"]) == 13


def test_a_name_in_free_text_is_scrubbed_but_initials_and_common_words_stay() -> None:
    bundle = {"a": "Jo Example said Jo would write a log; jo's sister agreed",
              "b": ["EXAMPLE", "Joanne", "Example-ish"]}
    out = fhir._scrub(bundle, "Jo A. Example")
    assert out == {"a": "[client] [client] said [client] would write a log; [client]'s sister "
                        "agreed",
                   "b": ["[client]", "Joanne", "[client]-ish"]}


def test_an_earlier_version_is_a_revoked_careplan(run: Runner, tmp_path: Path) -> None:
    import tomli_w

    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician", "--force")
    doc = tomllib.loads(run.ok("plan", "export", "P1"))
    doc["problems"][0]["goals"][0]["text"] = "Stay safe, one day at a time"
    (tmp_path / "p.toml").write_text(tomli_w.dumps(doc))
    run.ok("plan", "import", "P1", str(tmp_path / "p.toml"), "--reason", "client's words")
    old = json.loads(run.ok("plan", "export", "P1", "--format", "fhir", "--version", "1"))
    new = json.loads(run.ok("plan", "export", "P1", "--format", "fhir"))
    _roundtrip(old)
    assert _resources(old, "CarePlan")[0]["status"] == "revoked"
    assert [len(_resources(old, "Provenance")), len(_resources(new, "Provenance"))] == [1, 0]
    assert _resources(new, "CarePlan")[0]["status"] == "draft"
    goals = {g["description"]["text"] for g in _resources(new, "Goal")}
    assert "Stay safe, one day at a time" in goals
    # An unsigned version proposes its goals (a deferred one is on hold).
    assert {g["lifecycleStatus"] for g in _resources(new, "Goal")} <= {"proposed", "on-hold"}
    assert {g["lifecycleStatus"] for g in _resources(old, "Goal")} <= {"active", "on-hold"}
