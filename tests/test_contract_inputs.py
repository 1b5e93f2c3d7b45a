"""The contract of `planwise recommend` at its edges: every bad input it names
exits 2 with one line on stderr naming the file, the field path and (for TOML)
the line, never a traceback and nothing on stdout; good input gives exit 0 and
a proposal that follows the contract.

Most cases run `planwise.cli.main` in-process (it is main() that maps errors to
exit codes); a few run the installed `planwise` script end to end, stdin
included.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from planwise.cli import main
from planwise.models import Proposal
from planwise.rules import durable_available

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
PLANWISE = Path(sys.executable).parent / "planwise"


@pytest.fixture(autouse=True)
def _no_user_profile(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's configured profile must not leak into these tests."""
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("PLANWISE_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("PLANWISE_PROFILE", str(cfg / "no-profile.toml"))
    monkeypatch.delenv("PLANWISE_DEBUG", raising=False)


def run(argv: list[str], capsys: pytest.CaptureFixture[str], stdin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    """Run main(argv) in-process; return (exit code, stdout, stderr)."""
    capsys.readouterr()
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else int(code)), out, err


def subprocess_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PLANWISE_DEBUG", None)
    env["PLANWISE_CONFIG_DIR"] = str(tmp_path)
    env["PLANWISE_PROFILE"] = str(tmp_path / "no-profile.toml")
    return env


def mutate(*edits: tuple[str, str]) -> str:
    """The example intake with each (old, new) replaced once; old must be there."""
    text = EXAMPLE_TEXT
    for old, new in edits:
        assert old in text, f"example no longer contains {old!r}"
        text = text.replace(old, new, 1)
    return text


def line_of(text: str, marker: str) -> int:
    """1-based number of the only line containing marker."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if marker in line]
    assert len(hits) == 1, f"{marker!r} is on lines {hits}"
    return hits[0]


def assert_input_error(code: int, out: str, err: str, *, file: str, field: str | None = None,
                       line: int | None = None, says: str | None = None) -> None:
    assert code == 2, f"exit {code}, stderr: {err!r}"
    assert out == "", f"stdout should be empty on an input error, got {out[:200]!r}"
    assert "Traceback" not in err and "Traceback" not in out
    message = err.strip()
    assert message, "no message on stderr"
    assert "\n" not in message, f"message is not one line: {err!r}"
    assert file in message, f"message does not name the file {file}: {message}"
    if field is not None:
        assert re.search(re.escape(field) + r"(?![\w\[.])", message), \
            f"message does not name the field {field}: {message}"
    if line is not None:
        assert re.search(re.escape(f"{file}:{line}") + r"(?!\d)", message), \
            f"message does not name line {line} of {file}: {message}"
    if says is not None:
        assert says in message, message


# --------------------------------------------------------------------------
# Bad TOML intakes: (id, edits, field, line marker or None, a word of the message)

BAD_TOML: list[tuple[str, list[tuple[str, str]], str | None, str | None, str | None]] = [
    ("unknown_top_level_key", [("[client]", 'colour = "blue"\n\n[client]')],
     "colour", 'colour = "blue"', "unknown key"),
    ("unknown_key_in_risk", [("plan = false", "plan = false\nplann = true")],
     "risk.plann", "plann = true", "unknown key"),
    ("age_is_a_string", [("age = 34", 'age = "x"')], "client.age", 'age = "x"', None),
    ("age_is_a_bool", [("age = 34", "age = true")], "client.age", "age = true", None),
    ("method_is_a_string", [("method = false", 'method = "yes"')],
     "risk.method", 'method = "yes"', None),
    ("trauma_is_a_string", [("trauma = false", 'trauma = "no"')],
     "history.trauma", 'trauma = "no"', None),
    ("missing_schema", [('schema = "planwise.intake/1"\n', "")], "schema", None, None),
    ("wrong_schema", [("planwise.intake/1", "planwise.intake/2")],
     "schema", "planwise.intake/2", None),
    ("phq9_eight_answers",
     [("phq9 = [2, 3, 2, 2, 1, 2, 2, 1, 1]", "phq9 = [2, 3, 2, 2, 1, 2, 2, 1]")],
     "instruments.phq9", "phq9 = [", None),
    ("phq9_item3_out_of_range", [("phq9 = [2, 3, 2,", "phq9 = [2, 3, 5,")],
     "instruments.phq9[3]", "phq9 = [", None),
    ("audit_item9_is_3", [("audit = [3, 3, 2, 2, 1, 0, 1, 2, 0, 2]",
                           "audit = [3, 3, 2, 2, 1, 0, 1, 2, 3, 2]")],
     "instruments.audit[9]", "audit = [", None),
    ("phq9_bool_where_int", [("phq9 = [2,", "phq9 = [true,")],
     "instruments.phq9[1]", "phq9 = [", None),
    ("asq_int_where_bool", [("wish_dead = true", "wish_dead = 1")],
     "instruments.asq.wish_dead", "asq = {", None),
    ("unknown_instrument", [("phq9 = [", "phq99 = [")],
     "instruments.phq99", "phq99 = [", "phq99"),
    ("unknown_concern", [('"depression", "substance_use"', '"depression", "sadness"')],
     "screening.concerns[1]", "concerns = [", "sadness"),
    ("unknown_condition_in_impressions",
     [('impressions = ["depression", "alcohol_use"]',
       'impressions = ["depression", "alcoholism"]')],
     "clinician.impressions[1]", "impressions = [", "alcoholism"),
    ("derived_condition_in_impressions",
     [('impressions = ["depression", "alcohol_use"]', 'impressions = ["suicide_risk"]')],
     "clinician.impressions[0]", "impressions = [", "suicide_risk"),
    ("bad_enum_ideation", [('ideation = "active"', 'ideation = "sometimes"')],
     "risk.ideation", 'ideation = "sometimes"', "sometimes"),
    ("bad_enum_clinician_severity", [('severity = { employment = "moderate" }',
                                      'severity = { employment = "extreme" }')],
     "clinician.severity.employment", "severity = {", "extreme"),
    ("bad_icd_code", [('diagnoses = ["F32.1"]', 'diagnoses = ["f32"]')],
     "clinician.diagnoses[0]", "diagnoses = [", None),
    ("negative_session_limit", [("session_limit = 12", "session_limit = -3")],
     "context.session_limit", "session_limit = -3", None),
    # `employment` is also a key of [clinician].severity above: the line must be
    # the one in [context], not the first line that mentions the key.
    ("bad_enum_context_employment", [('employment = "unemployed"', 'employment = "retired"')],
     "context.employment", 'employment = "retired"', "retired"),
    ("toml_syntax_error", [('housing = "stable"', "housing = stable")],
     None, "housing = stable", "TOML"),
]


@pytest.mark.parametrize("case", BAD_TOML, ids=[c[0] for c in BAD_TOML])
def test_bad_toml_intake(case: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name, edits, field, marker, says = case
    text = mutate(*edits)
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    line = line_of(text, marker) if marker else None
    code, out, err = run(["recommend", str(path)], capsys)
    assert_input_error(code, out, err, file=str(path), field=field, line=line, says=says)


@pytest.mark.parametrize("command", ["recommend", "explain"])
def test_explain_reports_input_errors_the_same_way(command: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    text = mutate(("phq9 = [2, 3, 2,", "phq9 = [2, 3, 5,"))
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run([command, str(path)], capsys)
    assert_input_error(code, out, err, file=str(path), field="instruments.phq9[3]",
                       line=line_of(text, "phq9 = ["))


def test_error_message_says_what_was_wrong(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "range.toml"
    path.write_text(mutate(("phq9 = [2, 3, 2,", "phq9 = [2, 3, 5,")), encoding="utf-8")
    _, _, err = run(["recommend", str(path)], capsys)
    assert "5" in err and "0-3" in err, err


# --------------------------------------------------------------------------
# JSON intakes


def example_data() -> dict[str, Any]:
    data = tomllib.loads(EXAMPLE_TEXT)
    return json.loads(json.dumps(data, default=str))  # the date becomes "2026-11-29"


def test_invalid_json_names_file_and_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "schema": "planwise.intake/1",\n  "client": {"age": 34,}\n}\n')
    code, out, err = run(["recommend", str(path)], capsys)
    assert_input_error(code, out, err, file=str(path), line=3, says="JSON")


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["instruments"].__setitem__("phq9", [2, 3, 5, 2, 1, 2, 2, 1, 1]),
     "instruments.phq9[3]"),
    (lambda d: d["risk"].__setitem__("plann", True), "risk.plann"),
    (lambda d: d.__setitem__("colour", "blue"), "colour"),
    (lambda d: d["client"].__setitem__("age", "x"), "client.age"),
    (lambda d: d["screening"]["concerns"].append("sadness"), "screening.concerns[2]"),
], ids=["out_of_range", "unknown_risk_key", "unknown_top_key", "wrong_type", "unknown_concern"])
def test_bad_json_intake_names_file_and_field(edit: Any, field: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = example_data()
    edit(data)
    path = tmp_path / "intake.json"
    path.write_text(json.dumps(data, indent=2))
    code, out, err = run(["recommend", str(path)], capsys)
    assert_input_error(code, out, err, file=str(path), field=field)


def test_json_top_level_must_be_an_object(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2, 3]")
    code, out, err = run(["recommend", str(path)], capsys)
    assert_input_error(code, out, err, file=str(path))


def test_stdin_json_good_in_process(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(["recommend", "-", "--format", "json"], capsys,
                         stdin=json.dumps(example_data()), monkeypatch=monkeypatch)
    assert code == 0, err
    assert json.loads(out)["schema"] == "planwise.proposal/1"
    code2, out2, _ = run(["recommend", str(EXAMPLE), "--format", "json"], capsys)
    assert code2 == 0 and out2 == out


def test_stdin_json_bad_in_process(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data = example_data()
    data["risk"]["ideation"] = "sometimes"
    code, out, err = run(["recommend", "-"], capsys, stdin=json.dumps(data),
                         monkeypatch=monkeypatch)
    assert_input_error(code, out, err, file="<stdin>", field="risk.ideation")


# --------------------------------------------------------------------------
# End to end through the installed script (stdin included)


def test_script_stdin_good(tmp_path: Path) -> None:
    proc = subprocess.run([str(PLANWISE), "recommend", "-", "--format", "json"],
                          input=json.dumps(example_data()), capture_output=True, text=True,
                          cwd=tmp_path, env=subprocess_env(tmp_path), timeout=60)
    assert proc.returncode == 0, proc.stderr
    proposal = Proposal.model_validate_json(proc.stdout)
    assert any(p.condition == "depression" for p in proposal.problems)


@pytest.mark.parametrize("stdin, says", [
    ('{"schema": "planwise.intake/1",', "JSON"),
    ("", "JSON"),
    ('schema = "planwise.intake/1"\n', "JSON"),  # TOML on stdin is not accepted
    (json.dumps({"schema": "planwise.intake/1", "instruments": {"gad7": [1, 2, 3]}}),
     "instruments.gad7"),
], ids=["truncated", "empty", "toml_on_stdin", "wrong_count"])
def test_script_stdin_bad(stdin: str, says: str, tmp_path: Path) -> None:
    proc = subprocess.run([str(PLANWISE), "recommend", "-"], input=stdin, capture_output=True,
                          text=True, cwd=tmp_path, env=subprocess_env(tmp_path), timeout=60)
    assert_input_error(proc.returncode, proc.stdout, proc.stderr, file="<stdin>", says=says)


def test_script_bad_toml_end_to_end(tmp_path: Path) -> None:
    text = mutate(("plan = false", "plan = false\nplann = true"))
    path = tmp_path / "typo.toml"
    path.write_text(text)
    proc = subprocess.run([str(PLANWISE), "recommend", str(path)], capture_output=True,
                          text=True, cwd=tmp_path, env=subprocess_env(tmp_path), timeout=60)
    assert_input_error(proc.returncode, proc.stdout, proc.stderr, file=str(path),
                       field="risk.plann", line=line_of(text, "plann = true"))


# --------------------------------------------------------------------------
# Files that are not intakes


def test_file_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nope.toml"
    code, out, err = run(["recommend", str(path)], capsys)
    assert_input_error(code, out, err, file=str(path), says="not found")


@pytest.mark.parametrize("name", ["folder.toml", "folder"])
def test_a_directory(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    path.mkdir()
    code, out, err = run(["recommend", str(path)], capsys)
    assert_input_error(code, out, err, file=str(path))


def test_a_txt_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "intake.txt"
    path.write_text(EXAMPLE_TEXT)
    code, out, err = run(["recommend", str(path)], capsys)
    assert_input_error(code, out, err, file=str(path), says=".toml")


def test_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(EXAMPLE_TEXT.replace("Low mood", "Humeur bas\xe9e").encode("latin-1"))
    code, out, err = run(["recommend", str(path)], capsys)
    assert_input_error(code, out, err, file=str(path))


# --------------------------------------------------------------------------
# Profiles


@pytest.mark.parametrize("body, field, marker, says", [
    ('[therapist]\nname = "A"\ncolour = "blue"\n', "therapist.colour", 'colour = "blue"',
     "unknown key"),
    ('[therapist]\nname = "A"\ncompetencies = ["depression", "astrology"]\n',
     "therapist.competencies[1]", "competencies", "astrology"),
    ('[therapist]\nname = "A"\nmodalities = ["cbt", "reiki"]\n',
     "therapist.modalities[1]", "modalities", "reiki"),
    ('[therapist]\ncredentials = "LCSW"\n', "therapist.name", None, None),
    ('[therapy]\nname = "A"\n', "therapy", "[therapy]", "unknown key"),
], ids=["unknown_key", "unknown_competency", "unknown_modality", "missing_name",
        "wrong_table"])
def test_bad_profile(body: str, field: str, marker: str | None, says: str | None,
                     tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "me.toml"
    path.write_text(body)
    line = line_of(body, marker) if marker else None
    for command in ("recommend", "explain"):
        code, out, err = run([command, str(EXAMPLE), "--profile", str(path)], capsys)
        assert_input_error(code, out, err, file=str(path), field=field, line=line, says=says)


def test_profile_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "missing-profile.toml"
    code, out, err = run(["recommend", str(EXAMPLE), "--profile", str(path)], capsys)
    assert_input_error(code, out, err, file=str(path))


def test_bad_configured_profile_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "configured.toml"
    path.write_text('[therapist]\nname = "A"\ncompetencies = ["astrology"]\n')
    monkeypatch.setenv("PLANWISE_PROFILE", str(path))
    code, out, err = run(["recommend", str(EXAMPLE)], capsys)
    assert_input_error(code, out, err, file=str(path), field="therapist.competencies[0]")


def test_knowledge_folder_that_does_not_exist(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-knowledge"
    code, out, err = run(["recommend", str(EXAMPLE), "--knowledge", str(missing)], capsys)
    assert_input_error(code, out, err, file=str(missing))


# --------------------------------------------------------------------------
# Good input


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_example_succeeds_in_every_format(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["recommend", str(EXAMPLE), "--format", fmt], capsys)
    assert code == 0, err
    assert err == ""
    assert "Traceback" not in out
    if fmt == "json":
        json.loads(out)
    else:
        assert "PHQ-9" in out and "16" in out
        assert "depression.activity" in out or "Depression" in out
    if fmt == "markdown":
        assert out.lstrip().startswith("#")


def example_json(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code, out, err = run(["recommend", str(EXAMPLE), "--format", "json", *extra], capsys)
    assert code == 0, err
    return json.loads(out)


def test_example_json_follows_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    data = example_json(capsys)
    Proposal.model_validate(data)
    assert data["schema"] == "planwise.proposal/1"
    assert set(data) == {"schema", "scores", "risk", "problems", "treatment", "referrals",
                         "assessments", "warnings", "trace"}
    phq9 = next(s for s in data["scores"] if s["instrument"] == "phq9")
    assert phq9["total"] == 16 and "item9_positive" in phq9["flags"]
    # The example has a [risk] section with active ideation and nothing more: low.
    assert data["risk"]["level"] == "low"
    conditions = [p["condition"] for p in data["problems"]]
    assert "depression" in conditions and "suicide_risk" in conditions
    safety = next(p for p in data["problems"] if p["condition"] == "suicide_risk")
    assert any("safety" in g["id"] for g in safety["goals"])
    # session_limit warns exactly when the proposed minimum exceeds the 12 authorised.
    assert data["treatment"] is not None
    over = data["treatment"]["sessions"]["min"] > 12
    assert any(w["kind"] == "session_limit" for w in data["warnings"]) == over
    assert data["trace"], "trace is empty"


def test_every_item_has_a_because(capsys: pytest.CaptureFixture[str]) -> None:
    from planwise.rules import BUILTIN_STEPS

    data = example_json(capsys)
    # A rule that fired, or one of the engine's own documented steps.
    rule_ids = {t["rule"] for t in data["trace"]} | set(BUILTIN_STEPS)
    items: list[tuple[str, dict[str, Any]]] = [("risk", data["risk"])]
    if data["treatment"] is not None:
        items.append(("treatment", data["treatment"]))
    for p in data["problems"]:
        items.append((f"problem {p['condition']}", p))
        for g in p["goals"]:
            items.append((f"goal {g['id']}", g))
            items += [(f"objective {o['id']}", o) for o in g["objectives"]]
            items += [(f"intervention {i['id']}", i) for i in g["interventions"]]
            assert g["objectives"] and g["interventions"], g["id"]
    items += [(f"referral {r['kind']}", r) for r in data["referrals"]]
    items += [(f"assessment {a['instrument']}", a) for a in data["assessments"]]
    items += [(f"warning {w['kind']}", w) for w in data["warnings"]]
    assert any(k.startswith("goal") for k, _ in items)
    assert any(k.startswith("warning") for k, _ in items)
    assert data["treatment"] is not None
    for what, item in items:
        because = item.get("because")
        assert isinstance(because, list) and because, f"{what} has no because"
        assert all(isinstance(b, str) and b for b in because), what
        # Every id in `because` is a rule that fired (so it can be followed back).
        unknown = [b for b in because if b not in rule_ids]
        assert not unknown, f"{what}: because {unknown} not in the trace"


def test_trace_entries_name_matched_and_derived_facts(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    data = example_json(capsys)
    for entry in data["trace"]:
        assert entry["rule"] and entry["matched"] and entry["derived"], entry


@pytest.mark.skipif(not durable_available(), reason="durable-rules does not import here")
def test_engines_give_identical_json(capsys: pytest.CaptureFixture[str]) -> None:
    reference = run(["recommend", str(EXAMPLE), "--format", "json", "--engine", "reference"],
                    capsys)
    durable = run(["recommend", str(EXAMPLE), "--format", "json", "--engine", "durable"], capsys)
    assert reference[0] == durable[0] == 0
    assert reference[1] == durable[1]


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_toml_and_json_intakes_give_identical_output(fmt: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "intake.json"
    path.write_text(json.dumps(example_data(), indent=2))
    from_toml = run(["recommend", str(EXAMPLE), "--format", fmt], capsys)
    from_json = run(["recommend", str(path), "--format", fmt], capsys)
    assert from_toml[0] == from_json[0] == 0
    assert from_toml[1] == from_json[1]


def test_minimal_intake_is_only_a_schema(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "minimal.toml"
    path.write_text('schema = "planwise.intake/1"\n')
    code, out, err = run(["recommend", str(path), "--format", "json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    Proposal.model_validate(data)
    assert data["problems"] == [] and data["risk"]["level"] == "none"
