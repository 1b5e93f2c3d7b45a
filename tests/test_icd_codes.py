"""ICD-10-CM codes checked offline (planwise.icd, simple-icd-10-cm): an unknown code in an
intake or on a plan's problem is an input error naming the field; a category that is not
billable is a lint warning; `plan lint --payer` warns of a problem without a code; the
intake's code travels to the drafted plan's problem; LOINC codes on instrument files."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w

from planwise import icd
from planwise.clinical.instrument_files import (
    load_instrument_file,
    load_instruments,
    loinc_check_digit_ok,
)
from planwise.errors import InputError, KnowledgeError
from planwise.intake_io import intake_from_data
from planwise.kb import load_knowledge
from planwise.store.lint import CODE, code_warnings
from planwise.store.models import PlanDoc, ProblemItem
from tests.test_store_helpers import EXAMPLE, Runner

KB = load_knowledge()
ROOT = Path(__file__).resolve().parent.parent


# --- the table --------------------------------------------------------------------------

@pytest.mark.parametrize("code,is_known,is_billable", [
    ("F32.1", True, True), ("F32.A", True, True), ("F33.42", True, True),
    ("F10.20", True, True), ("Z63.0", True, True),
    ("F32", True, False), ("F43.1", True, False), ("F50.0", True, False),
    ("F32.X", False, False), ("F99.99", False, False), ("U99.9", False, False),
    ("F1020", False, False), ("F01-F09", False, False), ("f32.1", False, False),
])
def test_the_table_knows_codes_and_leaves(code: str, is_known: bool, is_billable: bool
                                          ) -> None:
    assert icd.known(code) is is_known
    assert icd.billable(code) is is_billable


def test_every_code_in_the_case_library_and_examples_is_known() -> None:
    paths = sorted((ROOT / "tests" / "fixtures" / "cases").glob("*.toml")) \
        + sorted((ROOT / "examples").glob("*.toml"))
    codes = [c for p in paths
             for c in tomllib.loads(p.read_text()).get("intake", tomllib.loads(p.read_text()))
             .get("clinician", {}).get("diagnoses", [])]
    assert codes and all(icd.known(c) for c in codes), [c for c in codes if not icd.known(c)]


# --- intakes ----------------------------------------------------------------------------

def _intake(codes: list[str]) -> dict[str, object]:
    return {"schema": "planwise.intake/1", "client": {"id": "DX", "age": 40},
            "risk": {"ideation": "none"}, "clinician": {"diagnoses": codes}}


def test_an_unknown_code_in_an_intake_names_the_field() -> None:
    with pytest.raises(InputError) as err:
        intake_from_data(_intake(["F32.1", "F32.X"]), KB)
    assert err.value.field == "clinician.diagnoses[1]"
    assert "F32.X" in err.value.message and "not an ICD-10-CM code" in err.value.message


def test_a_category_in_an_intake_is_accepted_and_still_names_the_condition() -> None:
    from planwise.rules import recommend

    p = recommend(intake_from_data(_intake(["F32"]), KB), None, KB, "reference")
    assert "depression" in {x.condition for x in p.problems}


def test_the_cli_refuses_an_unknown_code_with_exit_2(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    data["clinician"]["diagnoses"] = ["F32.X"]
    bad = tmp_path / "bad.toml"
    bad.write_text(tomli_w.dumps(data))
    r = Runner(tmp_path, monkeypatch)
    r.ok("client", "add", "--name", "Jo Example")
    err = r.fails("client", "intake", "C1", str(bad))
    assert "bad.toml" in err and "clinician.diagnoses[0]" in err
    assert r.rows("SELECT count(*) AS n FROM intakes")[0]["n"] == 0   # nothing saved


def test_recommend_without_codes_does_not_load_the_table() -> None:
    code = ("import sys\nfrom planwise.cli import cli\n"
            "try:\n    cli(['recommend', sys.argv[1], '--engine', 'reference'])\n"
            "except SystemExit:\n    pass\n"
            "print('LOADED' if 'planwise.icd' in sys.modules else 'NOT LOADED')\n")
    data = tomllib.loads(EXAMPLE.read_text())
    data["clinician"].pop("diagnoses", None)
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
        fh.write(tomli_w.dumps(data))
    out = subprocess.run([sys.executable, "-c", code, fh.name], capture_output=True,
                         text=True, check=False)
    assert out.stdout.strip().splitlines()[-1] == "NOT LOADED", out.stderr[-500:]


def test_checking_a_code_reads_the_list_not_the_slow_library() -> None:
    code = ("import sys\nfrom planwise import icd\n"
            "assert icd.known('F32.1') and not icd.billable('F32')\n"
            "print('LOADED' if 'simple_icd_10_cm' in sys.modules else 'NOT LOADED')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.stdout.strip() == "NOT LOADED", out.stderr[-500:]


# Every code is looked up once, about half a millisecond each: in parts, so that the
# suite's workers share the 40 s rather than one of them finishing it alone at the end.
PARTS = 8


@pytest.mark.parametrize("part", range(PARTS))
def test_the_list_agrees_with_the_library_on_every_code(part: int) -> None:
    """planwise.icd reads the package's code list; simple_icd_10_cm's own answers (from its
    tabular XML) must be the same for every code in it (this part: every PARTS-th)."""
    lib = icd.library()
    codes = icd._codes()
    assert codes is not None and len(codes) > 90_000
    checked = 0
    for c in codes[part::PARTS]:
        dotted = c[:3] + ("." + c[3:] if len(c) > 3 else "")
        if not icd.CODE.match(dotted):
            continue
        checked += 1
        assert icd.known(dotted) is bool(lib.is_valid_item(dotted)), dotted
        assert icd.billable(dotted) is bool(lib.is_leaf(dotted)), dotted
    assert checked > 90_000 // PARTS
    for unknown in ("F32.X", "F10.77", "F99.99", "U99.9"):
        assert not icd.known(unknown) and not lib.is_valid_item(unknown)


# --- plans ------------------------------------------------------------------------------

@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    r = Runner(tmp_path, monkeypatch)
    r.ok("client", "add", "--name", "Jo Example")
    r.ok("client", "intake", "C1", str(EXAMPLE))        # diagnoses = ["F32.1"]
    r.ok("plan", "draft", "C1", "I1", "--engine", "reference")
    return r


def _problems(run: Runner) -> list[dict[str, object]]:
    return list(tomllib.loads(run.ok("plan", "export", "P1"))["problems"])


def test_the_intakes_code_travels_to_the_drafted_problem(run: Runner) -> None:
    codes = {p["condition"]: p.get("code") for p in _problems(run)}
    assert codes["depression"] == "F32.1"
    assert codes["alcohol_use"] is None     # the intake codes no drinking problem


def _import_with_code(run: Runner, tmp_path: Path, code: str) -> tuple[int, str]:
    doc = tomllib.loads(run.ok("plan", "export", "P1"))
    i = next(n for n, p in enumerate(doc["problems"]) if p["condition"] == "alcohol_use")
    doc["problems"][i]["code"] = code
    path = tmp_path / "p1.toml"
    path.write_text(tomli_w.dumps(doc))
    code_, _, err = run.invoke("plan", "import", "P1", str(path))
    return code_, err + f"|index {i}"


def test_an_unknown_code_on_a_problem_is_refused_naming_the_field(run: Runner,
                                                                  tmp_path: Path) -> None:
    rc, err = _import_with_code(run, tmp_path, "F10.77")
    i = err.rsplit("|index ", 1)[1]
    assert rc == 2 and f"problems[{i}].code" in err and "p1.toml" in err
    assert "F10.77" in err


def test_a_non_billable_category_is_a_lint_warning_not_a_problem(run: Runner,
                                                                 tmp_path: Path) -> None:
    rc, _ = _import_with_code(run, tmp_path, "F10.2")
    assert rc == 0
    out = run.ok("plan", "lint", "P1").splitlines()
    assert any(ln.startswith("problem.alcohol_use\tcode\tF10.2 is an ICD-10-CM category")
               for ln in out), out
    assert out[-1].endswith(", 1 warning")
    # A warning does not stop signing.
    run.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician", "--force")


def test_a_billable_code_gives_no_warning(run: Runner, tmp_path: Path) -> None:
    rc, _ = _import_with_code(run, tmp_path, "F10.20")
    assert rc == 0
    assert not [ln for ln in run.ok("plan", "lint", "P1", "--payer").splitlines()
                if ln.startswith("problem.alcohol_use\tcode")]


def test_payer_lint_warns_of_each_problem_without_a_code(run: Runner) -> None:
    plain = run.ok("plan", "lint", "P1")
    assert "\tcode\t" not in plain                    # only for payer-facing exports
    payer = run.ok("plan", "lint", "P1", "--payer").splitlines()
    uncoded = [p["key"] for p in _problems(run) if not p.get("code")]
    warned = [ln.split("\t")[0] for ln in payer if "\tcode\t" in ln]
    assert uncoded and warned == uncoded
    assert all("has no ICD-10-CM code" in ln for ln in payer if "\tcode\t" in ln)


def test_code_warnings_skip_rejected_problems() -> None:
    import datetime as dt

    doc = PlanDoc(plan="P1", client="C1", version=1, start_date=dt.date(2026, 1, 1),
                  risk_level="none", problems=[
                      ProblemItem(key="a", condition="ptsd", severity="mild", code="F43.1"),
                      ProblemItem(key="b", condition="ptsd", severity="mild", code="F43.1",
                                  origin="proposed_rejected", rejection_reason="no"),
                      ProblemItem(key="c", condition="anger", severity="mild")])
    assert [(f.objective, f.letter) for f in code_warnings(doc)] == [("a", CODE)]
    assert [f.objective for f in code_warnings(doc, payer=True)] == ["a", "c"]


# --- LOINC ------------------------------------------------------------------------------

def test_loinc_codes_on_the_instruments() -> None:
    codes = {k: i.loinc for k, i in load_instruments().items() if i.loinc}
    assert codes == {"phq9": "44261-6", "gad7": "70274-6", "audit": "75624-7",
                     "audit_c": "75626-2"}
    for key in codes:   # each file with a code carries the LOINC licence notice
        text = (ROOT / "knowledge" / "instruments" / f"{key}.toml").read_text()
        assert "http://loinc.org/license" in text and "Regenstrief Institute" in text


@pytest.mark.parametrize("code,ok", [("44261-6", True), ("70274-6", True), ("44261-5", False),
                                     ("75624-1", False)])
def test_the_loinc_check_digit(code: str, ok: bool) -> None:
    assert loinc_check_digit_ok(code) is ok


def test_an_instrument_file_with_a_mistyped_loinc_code_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "knowledge" / "instruments" / "phq9.toml").read_text()
    bad = tmp_path / "phq9.toml"
    bad.write_text(text.replace('loinc = "44261-6"', 'loinc = "44261-5"'))
    with pytest.raises(KnowledgeError) as err:
        load_instrument_file(bad)
    assert "check digit" in str(err.value) and str(err.value.field).endswith("loinc")
