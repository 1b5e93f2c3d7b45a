"""The `planwise` command line: help, schemas, knowledge commands, overrides, explain."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from planwise.cli import cli, main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"
README = ROOT / "README.md"

CONTRACT_CONDITIONS = [
    "depression", "generalized_anxiety", "panic", "agoraphobia", "social_anxiety",
    "specific_phobia", "ptsd", "alcohol_use", "drug_use", "low_self_esteem", "employment",
    "anger", "schizophrenia", "schizoaffective", "bipolar_i", "bipolar_ii", "borderline_pd",
    "narcissistic_pd", "gambling", "problematic_internet_use", "child_behaviour",
]
CONTRACT_INSTRUMENTS = ["phq9", "gad7", "audit", "audit_c", "dast10", "pcl5", "asq", "mdq",
                        "pdss", "mini_spin", "msi_bpd", "rses", "pgsi", "dar5", "k10"]


@pytest.fixture(autouse=True)
def _no_user_profile(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("PLANWISE_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("PLANWISE_PROFILE", str(cfg / "no-profile.toml"))
    monkeypatch.delenv("PLANWISE_DEBUG", raising=False)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else int(code)), out, err


def ok(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run(argv, capsys)
    assert code == 0, f"{argv}: exit {code}: {err}"
    assert "Traceback" not in out + err
    return out


def failed(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run(argv, capsys)
    assert code == 2, f"{argv}: exit {code}: {err}"
    assert out.strip() == "" or "ok" not in out.split(), out
    assert "Traceback" not in out + err
    assert err.strip(), "no message on stderr"
    return err


# --------------------------------------------------------------------------
# help


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(["--help"], capsys)
    for command in ("recommend", "explain", "knowledge", "schema"):
        assert re.search(rf"^\s+{command}\b", out, re.M), f"{command} missing from --help"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from planwise import __version__

    assert __version__ in ok(["--version"], capsys)


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["recomend", str(EXAMPLE)], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert "recomend" in err


def test_bad_option_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["recommend", str(EXAMPLE), "--format", "pdf"], capsys)
    assert code == 2 and out == "" and "pdf" in err


def walk(group: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...],
                                                                        click.Command]]:
    found = [(path, group)]
    if isinstance(group, click.Group):
        for name, sub in sorted(group.commands.items()):
            found += walk(sub, (*path, name))
    return found


COMMANDS = walk(cli)


def test_walk_finds_the_commands() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"", "recommend", "explain", "knowledge", "knowledge check", "knowledge list",
            "knowledge show", "schema"} <= names


@pytest.mark.parametrize("path, command", COMMANDS,
                         ids=[" ".join(p) or "planwise" for p, _ in COMMANDS])
def test_every_command_has_an_example(path: tuple[str, ...], command: click.Command,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = ok([*path, "--help"], capsys)
    assert "Example" in out, f"`planwise {' '.join(path)} --help` shows no Example"
    # The example really uses this command.
    assert f"planwise {' '.join(path)}".strip() in out.split("Example", 1)[1]


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS if p],
                         ids=[" ".join(p) for p, _ in COMMANDS if p])
def test_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    readme = README.read_text(encoding="utf-8")
    assert f"planwise {' '.join(path)}" in readme, \
        f"README.md does not mention `planwise {' '.join(path)}`"


# --------------------------------------------------------------------------
# schema


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def check_json_schema(schema: dict[str, Any]) -> None:
    assert schema["type"] == "object"
    assert isinstance(schema["properties"], dict) and schema["properties"]
    defs = schema.get("$defs", {})
    for ref in refs(schema):
        assert ref.startswith("#/$defs/"), ref
        assert ref.removeprefix("#/$defs/") in defs, f"dangling {ref}"


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a $ref (or the one object member of anyOf: [X, null])."""
    if "$ref" in node:
        return schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    for alt in node.get("anyOf", []):
        if "$ref" in alt:
            return resolve(schema, alt)
    return node


def test_schema_intake(capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads(ok(["schema", "intake"], capsys))
    check_json_schema(schema)
    props = schema["properties"]
    assert {"schema", "date", "client", "screening", "instruments", "risk", "clinician",
            "history", "context"} <= set(props)
    assert schema.get("required") == ["schema"]
    assert schema.get("additionalProperties") is False
    risk = resolve(schema, props["risk"])
    assert {"ideation", "method", "intent", "plan", "behaviour"} <= set(risk["properties"])
    assert risk.get("additionalProperties") is False
    # No default: a section without ideation is no assessment (null in the schema).
    ideation = risk["properties"]["ideation"]
    options = [resolve(schema, o) for o in ideation["anyOf"]]
    assert {v for o in options for v in o.get("enum", [])} == {"none", "passive", "active"}
    assert {"type": "null"} in options
    context = resolve(schema, props["context"])
    assert {"session_limit", "employment", "housing", "client_goals"} <= set(
        context["properties"])


def test_schema_proposal(capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads(ok(["schema", "proposal"], capsys))
    check_json_schema(schema)
    assert {"schema", "scores", "risk", "problems", "treatment", "referrals", "assessments",
            "warnings", "trace"} <= set(schema["properties"])
    defs = schema["$defs"]
    for name in ("Goal", "Objective", "Intervention", "Referral", "Assessment", "Warning",
                 "Treatment"):
        assert "because" in defs[name]["properties"], name
        assert "because" in defs[name].get("required", []), name
        assert defs[name]["properties"]["because"].get("minItems") == 1, name


def test_schema_profile(capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads(ok(["schema", "profile"], capsys))
    check_json_schema(schema)
    therapist = resolve(schema, schema["properties"]["therapist"])
    assert {"name", "credentials", "competencies", "modalities", "supervisor"} <= set(
        therapist["properties"])


def test_schema_unknown_document(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["schema", "plan"], capsys)
    assert code == 2 and out == "" and "plan" in err


# --------------------------------------------------------------------------
# knowledge check / list / show


def test_knowledge_check_on_shipped_knowledge(capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(["knowledge", "check"], capsys)
    counts = {m.group(2): int(m.group(1))
              for m in re.finditer(r"(\d+) (rules|goals|objectives|interventions|instruments)",
                                   out)}
    assert set(counts) == {"rules", "goals", "objectives", "interventions", "instruments"}, out
    assert all(n > 0 for n in counts.values()), out
    assert counts["instruments"] >= len(CONTRACT_INSTRUMENTS)
    assert out.strip().splitlines()[-1] == "ok"


RULE_HEAD = '''# a clinic's own rule, broken on purpose

[[rules]]
id = "{rid}"
stage = "plan"
source = "test clinic"
says = "A deliberately broken rule."
'''

BROKEN = [
    ("unknown_fact_type", "clinic.bad_fact",
     'when = [{ fact = "scoree", instrument = "phq9" }]\n'
     'then = [{ fact = "goal", goal = "depression.activity" }]\n', "scoree"),
    ("typo_band", "clinic.bad_band",
     'when = [{ fact = "score", instrument = "phq9", band = "moderatly_severe" }]\n'
     'then = [{ fact = "goal", goal = "depression.activity" }]\n', "moderatly_severe"),
    ("not_on_same_stage_fact", "clinic.bad_not",
     'when = [\n  { fact = "problem", condition = "depression" },\n'
     '  { fact = "goal", not = true, goal = "depression.thinking" },\n]\n'
     'then = [{ fact = "goal", goal = "depression.activity" }]\n', "not"),
    ("unknown_goal_id", "clinic.bad_goal",
     'when = [{ fact = "problem", condition = "depression" }]\n'
     'then = [{ fact = "goal", goal = "depression.actvity" }]\n', "depression.actvity"),
    ("unknown_operator", "clinic.bad_op",
     'when = [{ fact = "score", instrument = "phq9", total = { greater = 10 } }]\n'
     'then = [{ fact = "goal", goal = "depression.activity" }]\n', "greater"),
    ("wrong_stage_output", "clinic.bad_stage",
     'when = [{ fact = "problem", condition = "depression" }]\n'
     'then = [{ fact = "problem_found", condition = "depression" }]\n', "plan"),
]


@pytest.mark.parametrize("case", BROKEN, ids=[c[0] for c in BROKEN])
def test_knowledge_check_on_a_broken_clinic_folder(case: Any, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, rid, body, says = case
    folder = tmp_path / "clinic"
    folder.mkdir()
    text = RULE_HEAD.format(rid=rid) + body
    path = folder / "ours.toml"
    path.write_text(text)
    err = failed(["knowledge", "check", str(folder)], capsys)
    message = err.strip().splitlines()[-1]
    assert rid in message, message
    assert says in message, message
    m = re.search(re.escape(str(path)) + r":(\d+)", message)
    assert m, f"no file:line in {message}"
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("id = "))
    assert first <= int(m.group(1)) <= len(lines), f"line {m.group(1)} is outside the rule"
    # The same broken folder stops recommend too, with the same message.
    code, out, err2 = run(["recommend", str(EXAMPLE), "--knowledge", str(folder)], capsys)
    assert code == 2 and out == "" and rid in err2


def test_knowledge_check_on_a_toml_syntax_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "clinic"
    folder.mkdir()
    path = folder / "ours.toml"
    path.write_text('[[rules]]\nid = "clinic.x"\nstage = plan\n')
    err = failed(["knowledge", "check", str(folder)], capsys)
    assert f"{path}:3" in err


def test_knowledge_check_on_a_missing_folder(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    err = failed(["knowledge", "check", str(tmp_path / "nowhere")], capsys)
    assert "nowhere" in err


def test_knowledge_check_reports_a_quality_problem(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Well formed but not SMART: the check fails and names the objective."""
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "goals.toml").write_text('''
[[goals]]
id = "depression.clinic_vague"
condition = "depression"
text = "Feel better"
source = "test clinic"

[[goals.objectives]]
id = "depression.clinic_vague.better"
text = "Be happier"
client_action = "be happier"
measure = "feels better"
target_weeks = 4

[[goals.interventions]]
id = "depression.clinic_vague.talk"
text = "Talk about it"
modality = "cbt"
''')
    code, out, err = run(["knowledge", "check", str(folder)], capsys)
    assert code == 2, err
    assert "depression.clinic_vague.better" in err


def test_knowledge_list(capsys: pytest.CaptureFixture[str]) -> None:
    rules = ok(["knowledge", "list"], capsys)
    assert re.search(r"^depression\.treatment\.severe\s+plan\s+depression\.toml$", rules, re.M)
    goals = ok(["knowledge", "list", "--kind", "goals"], capsys)
    assert re.search(r"^depression\.activity\s+depression\s", goals, re.M)
    instruments = ok(["knowledge", "list", "--kind", "instruments"], capsys)
    listed = {line.split()[0] for line in instruments.splitlines() if line.strip()}
    assert set(CONTRACT_INSTRUMENTS) <= listed
    conditions = ok(["knowledge", "list", "--kind", "conditions"], capsys)
    listed = {line.split()[0] for line in conditions.splitlines() if line.strip()}
    missing = set(CONTRACT_CONDITIONS) - listed
    assert not missing, f"contract conditions missing from the vocabulary: {sorted(missing)}"


def test_knowledge_show_rule(capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(["knowledge", "show", "depression.treatment.severe"], capsys)
    assert "depression.treatment.severe" in out
    assert "Source:" in out and "NICE" in out
    assert re.search(r"depression\.toml:\d+", out), "no file:line of the rule"
    assert "when" in out and "then" in out


def test_knowledge_show_goal(capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(["knowledge", "show", "depression.activity"], capsys)
    assert out.startswith("goal depression.activity")
    assert "Source:" in out
    assert "depression.activity.monitor" in out  # its objectives are listed


def test_knowledge_show_instrument(capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(["knowledge", "show", "phq9"], capsys)
    assert "PHQ-9" in out


def test_knowledge_show_unknown_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["knowledge", "show", "depression.no_such_rule"], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert "depression.no_such_rule" in err and "\n" not in err.strip()


# --------------------------------------------------------------------------
# --knowledge overrides


def proposal(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    return json.loads(ok(["recommend", str(EXAMPLE), "--format", "json", *extra], capsys))


def goal_ids(p: dict[str, Any]) -> set[str]:
    return {g["id"] for prob in p["problems"] for g in prob["goals"]}


def test_knowledge_override_disables_a_rule(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "overrides.toml").write_text('''
[[rules]]
id = "depression.goals.severe"
stage = "plan"
source = "our clinic does not run collaborative care"
says = "Switched off."
when = [{ fact = "problem", condition = "depression", severity = "severe" }]
then = [{ fact = "goal", goal = "depression.collaborative_care" }]
enabled = false
''')
    before = proposal(capsys)
    after = proposal(capsys, "--knowledge", str(folder))
    assert "depression.goals.severe" in {t["rule"] for t in before["trace"]}
    assert "depression.goals.severe" not in {t["rule"] for t in after["trace"]}
    assert "depression.collaborative_care" in goal_ids(before)
    assert "depression.collaborative_care" not in goal_ids(after)
    everything = json.dumps(after)
    assert "depression.goals.severe" not in everything
    # The rest of the plan is still there.
    assert "depression.activity" in goal_ids(after)
    out = ok(["knowledge", "check", str(folder)], capsys)
    assert "depression.goals.severe" in out and "disabled" in out


def test_knowledge_override_replaces_a_rule(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "overrides.toml").write_text('''
[[rules]]
id = "depression.treatment.severe"
stage = "plan"
source = "our clinic: a longer course"
says = "More severe depression: 24 to 30 sessions here."
when = [{ fact = "problem", condition = "depression", severity = "severe" }]
then = [{ fact = "treatment_option", condition = "depression", sessions_min = 24, \
sessions_max = 30, frequency_per_week = 1, level_of_care = "outpatient", review_weeks = 8, \
modalities = ["cbt"] }]
''')
    before = proposal(capsys)
    after = proposal(capsys, "--knowledge", str(folder))
    # The clinic's course replaces the shipped 16-20 in the sequenced block: the
    # block grows by the same 8 and 10 sessions.
    assert after["treatment"]["sessions"]["min"] == before["treatment"]["sessions"]["min"] + 8
    assert after["treatment"]["sessions"]["max"] == before["treatment"]["sessions"]["max"] + 10
    assert "depression.treatment.severe" in after["treatment"]["because"]
    shown = ok(["knowledge", "show", "depression.treatment.severe", "--knowledge", str(folder)],
               capsys)
    assert "our clinic: a longer course" in shown and str(folder) in shown


# --------------------------------------------------------------------------
# explain


def test_explain_shows_rules_sources_and_scores(capsys: pytest.CaptureFixture[str]) -> None:
    from planwise.kb import load_knowledge

    out = ok(["explain", str(EXAMPLE)], capsys)
    assert "PHQ-9 = 16" in out
    flat = " ".join(out.split())
    kb = load_knowledge()
    fired = [t["rule"] for t in proposal(capsys)["trace"]]
    assert fired
    for rid in fired:
        assert rid in out, f"explain does not name rule {rid}"
        source = " ".join(kb.rule(rid).entry.source.split())
        assert source[:60] in flat, f"explain does not give the source of {rid}"


def test_explain_with_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "me.toml"
    profile.write_text('[therapist]\nname = "A"\ncompetencies = ["generalized_anxiety"]\n'
                       'modalities = ["cbt"]\n')
    out = ok(["explain", str(EXAMPLE), "--profile", str(profile)], capsys)
    assert "scope.out_of_scope" in out


def test_help_of_main_module_runs(tmp_path: Path) -> None:
    import subprocess

    proc = subprocess.run([sys.executable, "-c", "from planwise.cli import main; main()",
                           "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0 and "recommend" in proc.stdout
