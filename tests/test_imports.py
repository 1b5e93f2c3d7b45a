"""Import boundaries: the CLI never loads Textual; only the rules package loads durable-rules.

Each check runs in a fresh interpreter so that what other tests imported does
not hide (or fake) a violation.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "planwise"
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"


def python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PLANWISE_CONFIG_DIR"] = str(tmp_path)
    env["PLANWISE_PROFILE"] = str(tmp_path / "no-profile.toml")
    env.pop("PLANWISE_DEBUG", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=60)


CLI_RUNS = {
    "import": None,
    "help": ["--help"],
    "recommend": ["recommend", str(EXAMPLE), "--format", "json"],
    "explain": ["explain", str(EXAMPLE)],
    "knowledge_check": ["knowledge", "check"],
    "knowledge_show": ["knowledge", "show", "depression.activity"],
    "schema": ["schema", "proposal"],
}


@pytest.mark.parametrize("name", list(CLI_RUNS))
def test_cli_does_not_import_textual(name: str, tmp_path: Path) -> None:
    argv = CLI_RUNS[name]
    code = f"""
import json, sys
import planwise.cli
argv = {argv!r}
code = None
if argv is not None:
    try:
        planwise.cli.main(argv)
    except SystemExit as exc:
        code = exc.code
sys.stdout.flush()
print("\\n@@" + json.dumps({{"exit": code,
    "textual": sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))}}))
"""
    proc = python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.rsplit("\n@@", 1)[1])
    assert report["exit"] in (None, 0), proc.stderr
    assert report["textual"] == [], f"`planwise {name}` imported {report['textual']}"


DOMAIN = ["planwise.models", "planwise.clinical.instruments", "planwise.kb", "planwise.kb.loader",
          "planwise.kb.quality", "planwise.intake_io", "planwise.facts", "planwise.errors",
          "planwise.paths"]


def test_domain_packages_do_not_import_durable(tmp_path: Path) -> None:
    code = f"""
import importlib, json, sys
for name in {DOMAIN!r}:
    importlib.import_module(name)
# Load the knowledge and score an intake too: still no rule engine.
from planwise.kb import load_knowledge
from planwise.intake_io import load_intake
load_intake({str(EXAMPLE)!r}, load_knowledge())
print(json.dumps(sorted(m for m in sys.modules
                        if m.split(".")[0] in ("durable", "durable_rules_engine")
                        or m == "planwise.rules.durable_backend"
                        or m.startswith("textual"))))
"""
    proc = python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_reference_engine_does_not_import_durable(tmp_path: Path) -> None:
    code = f"""
import json, sys
from planwise.cli import main
try:
    main(["recommend", {str(EXAMPLE)!r}, "--engine", "reference"])
except SystemExit as exc:
    assert exc.code in (None, 0), exc.code
print("\\n@@" + json.dumps(sorted(m for m in sys.modules
    if m.split(".")[0] in ("durable", "durable_rules_engine")
    or m == "planwise.rules.durable_backend")))
"""
    proc = python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.rsplit("\n@@", 1)[1]) == []


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a source file imports (at any depth)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
              and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                  "import_module", "__import__")
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


SOURCES = sorted(SRC.rglob("*.py"))


def test_there_are_sources() -> None:
    assert len(SOURCES) > 10


def test_imported_modules_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\ndef f():\n    from durable import engine\n"
                      "    import textual.app\n    importlib.import_module('textual')\n")
    assert {"os", "durable", "textual.app", "textual"} <= imported_modules(sample)


@pytest.mark.parametrize("top, allowed", [
    ("durable", SRC / "rules"),
    ("durable_rules_engine", SRC / "rules"),
    ("textual", SRC / "tui"),
])
def test_source_import_boundaries(top: str, allowed: Path) -> None:
    offenders = []
    for path in SOURCES:
        if allowed in path.parents:
            continue
        hits = [m for m in imported_modules(path) if m == top or m.startswith(top + ".")]
        if hits:
            offenders.append(f"{path.relative_to(ROOT)}: {', '.join(sorted(hits))}")
    assert not offenders, f"{top} imported outside {allowed.relative_to(ROOT)}: {offenders}"


def test_only_the_durable_backend_imports_durable_at_module_level() -> None:
    """Inside planwise.rules, only durable_backend imports durable-rules at import time;
    elsewhere (the availability probe) the import sits inside a function."""
    offenders = []
    for path in sorted((SRC / "rules").rglob("*.py")):
        if path.name == "durable_backend.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            mods: list[str] = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            if any(m.split(".")[0] in ("durable", "durable_rules_engine")
                   or m.endswith("durable_backend") for m in mods):
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


# Cold start (issue 12): what the commands people run most must not load. Each of these
# libraries is imported inside the function that needs it; a top-level import anywhere on
# these paths (an easy slip) shows up here, not as a slow start nobody measures.
HEAVY = ("fpdf", "fhir", "cryptography", "sqlcipher3", "sqlite_utils", "simple_icd_10_cm",
         "icalendar", "selenium", "textual", "durable", "durable_rules_engine")
# The example intake without its ICD-10-CM code: a code loads the code table, by design.
NO_DIAGNOSES = "\n".join(line for line in EXAMPLE.read_text().splitlines()
                         if not line.startswith("diagnoses"))
COLD_COMMANDS = {
    # --help and client list need neither pydantic nor the knowledge.
    "help": (["--help"], HEAVY + ("pydantic", "planwise.kb", "planwise.clinical.instruments",
                                  "planwise.models", "planwise.store")),
    "client_list": (["client", "list"], HEAVY + ("pydantic", "planwise.kb",
                                                 "planwise.clinical.instruments", "planwise.models",
                                                 "planwise.store.models")),
    # The reference engine: durable-rules is the engine's own choice under --engine auto.
    "recommend": (["recommend", "{intake}", "--engine", "reference"],
                  HEAVY + ("planwise.store", "planwise.store.models", "planwise.clinical.timeline",
                           # the progress review and the course models it reads
                           "planwise.rules.progress_review", "planwise.clinical.course")),
}


@pytest.mark.parametrize("name", list(COLD_COMMANDS))
def test_cold_commands_leave_the_heavy_modules_unloaded(name: str, tmp_path: Path) -> None:
    argv, banned = COLD_COMMANDS[name]
    intake = tmp_path / "intake.toml"
    intake.write_text(NO_DIAGNOSES)
    argv = [a.format(intake=intake) for a in argv]
    code = f"""
import json, sys
import planwise.cli
try:
    planwise.cli.main({argv!r})
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
banned = {banned!r}
print("\\n@@" + json.dumps({{"exit": code, "loaded": sorted(
    m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in banned))}}))
"""
    env_db = tmp_path / "planwise.db"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60,
                          env={**os.environ, "PLANWISE_CONFIG_DIR": str(tmp_path),
                               "PLANWISE_PROFILE": str(tmp_path / "no-profile.toml"),
                               "PLANWISE_DB": str(env_db),
                               "PLANWISE_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.rsplit("\n@@", 1)[1])
    assert report["exit"] in (None, 0), proc.stderr
    assert report["loaded"] == [], f"`planwise {' '.join(argv)}` loaded {report['loaded']}"


def test_the_cold_start_guard_sees_a_heavy_import(tmp_path: Path) -> None:
    """The check above can fail: a command that does load a banned module is caught."""
    code = """
import json, sys
import planwise.cli
from planwise.cli import main
import planwise.models.intake  # what `client list` must not do
print(json.dumps(sorted(m for m in sys.modules if m == "pydantic" or m.startswith("planwise.models"))))
"""
    proc = python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "pydantic" in json.loads(proc.stdout)
