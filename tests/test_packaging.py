"""The wheel carries the knowledge and works away from the checkout.

The wheel is built offline with --no-build-isolation, so hatchling must be
installed in the environment (it is in the `dev` extra).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "depression-alcohol.toml"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert importlib.util.find_spec("hatchling") is not None, (
        "hatchling is needed to build the wheel offline: install the dev extra "
        "(pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    wheels = list(out.glob("planwise-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


def test_wheel_contains_the_knowledge(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert "planwise/_knowledge/vocabulary.toml" in names
    assert "planwise/_knowledge/instruments/phq9.toml" in names
    shipped = sorted((ROOT / "knowledge").rglob("*.toml"))
    assert shipped
    missing = [str(p.relative_to(ROOT / "knowledge")) for p in shipped
               if f"planwise/_knowledge/{p.relative_to(ROOT / 'knowledge').as_posix()}"
               not in names]
    assert not missing, f"knowledge files missing from the wheel: {missing}"


def test_wheel_contains_the_code_and_entry_point(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = zf.read(entry_points).decode()
    for module in ("planwise/__init__.py", "planwise/cli/__init__.py", "planwise/paths.py",
                   "planwise/rules/reference.py", "planwise/models/proposal.py"):
        assert module in names, module
    source = {f"planwise/{p.relative_to(ROOT / 'src' / 'planwise').as_posix()}"
              for p in (ROOT / "src" / "planwise").rglob("*.py")}
    assert source <= names, sorted(source - names)
    assert "planwise = planwise.cli:main" in scripts
    # Nothing of the checkout's tests or caches leaks in.
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


def test_unpacked_wheel_runs_from_another_folder(unpacked: Path, tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(unpacked)
    env["PLANWISE_CONFIG_DIR"] = str(tmp_path)
    env["PLANWISE_PROFILE"] = str(tmp_path / "no-profile.toml")
    env.pop("PLANWISE_DEBUG", None)
    intake = tmp_path / "intake.toml"
    intake.write_text(EXAMPLE.read_text(encoding="utf-8"))
    code = """
import json, sys
import planwise, planwise.paths
print(json.dumps({"module": planwise.__file__,
                  "knowledge": str(planwise.paths.shipped_knowledge_dir())}), file=sys.stderr)
from planwise.cli import main
main()
"""
    proc = subprocess.run(
        [sys.executable, "-c", code, "recommend", "intake.toml", "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    where = json.loads(proc.stderr.strip().splitlines()[0])
    module, knowledge = Path(where["module"]).resolve(), Path(where["knowledge"]).resolve()
    assert unpacked.resolve() in module.parents, f"planwise imported from {module}"
    assert knowledge == unpacked.resolve() / "planwise" / "_knowledge"
    assert ROOT.resolve() not in knowledge.parents
    proposal = json.loads(proc.stdout)
    assert proposal["schema"] == "planwise.proposal/1"
    assert any(p["condition"] == "depression" for p in proposal["problems"])
    # The same proposal as from the checkout.
    checkout = subprocess.run(
        [sys.executable, "-c", "from planwise.cli import main; main()", "recommend",
         str(intake), "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path,
        env={k: v for k, v in env.items() if k != "PYTHONPATH"}, timeout=120)
    assert checkout.returncode == 0, checkout.stderr
    assert json.loads(checkout.stdout) == proposal


def test_unpacked_wheel_knowledge_check(unpacked: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(unpacked))
    proc = subprocess.run(
        [sys.executable, "-c", "from planwise.cli import main; main()", "knowledge", "check"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "ok"


def test_wheel_carries_the_pdf_font_and_its_licence(unpacked: Path, tmp_path: Path) -> None:
    fonts = unpacked / "planwise" / "documents" / "fonts"
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE"):
        assert (fonts / name).is_file(), name
    assert "Bitstream" in (fonts / "LICENSE").read_text()
    # A PDF from the unpacked wheel, away from the checkout, uses the wheel's own font.
    code = ("import json, planwise.documents.pdf_base as b, planwise.documents.pdf_client as c;"
            "from planwise.documents.pdf_base import new_pdf, to_bytes, generated_at;"
            "pdf = new_pdf('t', 'f', generated_at());"
            "pdf.set_font('dejavu', '', 10); pdf.cell(0, 5, 'Zoë');"
            "print(json.dumps([str(b.FONTS), len(to_bytes(pdf))]))")
    env = dict(os.environ, PYTHONPATH=str(unpacked))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    where, size = json.loads(proc.stdout)
    assert Path(where).resolve() == fonts.resolve() and size > 1000
