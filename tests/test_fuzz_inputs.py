"""Fuzzing intake and plan-file parsing (issue 10, item 8).

Whatever the file holds, planwise either takes it (exit 0) or refuses it as an input
error (exit 2, a short message, no traceback), and a refusal saves nothing. All
in-process (no subprocess per case), sized to keep the file near 15 s on the 2-core
reference machine (counts in FUZZ_* below):

- intake documents mutated field by field by hypothesis (any JSON value anywhere,
  keys added, dropped or repeated, nesting, huge numbers, control characters,
  surrogates), each written as JSON and as TOML, through `load_intake` (parse,
  validate, score): an InputError or a scored intake, nothing else;
- intake text (TOML and JSON) edited character by character and arbitrary bytes:
  one case shrinkable by hypothesis, then CASES_PER_SEED from a seeded generator;
- plan files the same way, through the parse and checks `plan import` runs first;
- `planwise client intake` through `main()` on a database: exit 0 adds exactly one
  intake and its audit row, exit 2 leaves every row as it was;
- `planwise plan import` of an exported plan file, mutated: exit 0 or 2, and on 2 the
  plan's versions, items, signatures and the audit log are as they were.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sqlite3
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planwise.errors import InputError
from planwise.intake_io import load_intake
from planwise.kb import load_knowledge
from tests.main_helpers import EXAMPLE, Main, example_data

# Examples per test; the text and plan-file tests run CASES_PER_SEED more cases per
# example. About 3,300 cases in all, ~9 s of CPU: cut from issue 10's 5,400 (~15 s) for
# the suite's time (issue 12). The hostile values that found its faults (NASTY below)
# are drawn in a good share of the cases either way.
FUZZ_INTAKE_DOCS = 300          # x 2 serialisations
FUZZ_TEXT_EXAMPLES = 150        # x (1 + CASES_PER_SEED)
FUZZ_PLAN_EXAMPLES = 45         # x (1 + CASES_PER_SEED)
CASES_PER_SEED = 12
FUZZ_CLI_INTAKE = 100
FUZZ_PLAN_IMPORT = 100


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])

KB = load_knowledge()
BASE = example_data()
NASTY_LIST = ["", " ", "\x00", "\x1b]0;t\x07", "\u202e", "\x9b", "\udcff", "a" * 5000,
              "9" * 5000, "-", "..", "\\", '"', "'", "${x}", "\n", "risk", "ideation", "phq9",
              "none", "active", "high", "2026-11-29", "9999-12-31", "0001-01-01", "F32.1",
              "depression", "C1", "P1"]
NASTY = st.sampled_from(NASTY_LIST)
LEAF = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, 3, -1, 27, 2**63, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30), NASTY,
)
VALUE = st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=8), NASTY), inner, max_size=4)),
    max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: _set(doc[head], rest, value)}
    copy = list(doc)
    copy[head] = _set(doc[head], rest, value)
    return copy


def _drop(doc: Any, path: tuple[Any, ...]) -> Any:
    head, rest = path[0], path[1:]
    if rest:
        return _set(doc, (head,), _drop(doc[head], rest))
    if isinstance(doc, dict):
        return {k: v for k, v in doc.items() if k != head}
    return [v for i, v in enumerate(doc) if i != head]


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """The document with a few random edits: a value replaced, a key dropped or added."""
    doc: Any = base
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if action == "drop" and path:
            doc = _drop(doc, path)
        elif action == "add":
            at = draw(st.sampled_from([p for p in paths
                                       if isinstance(_get(doc, p), dict)] or [()]))
            key = draw(st.one_of(st.text(max_size=10), NASTY))
            doc = _set(doc, at, {**_get(doc, at), key: draw(VALUE)}) \
                if isinstance(_get(doc, at), dict) else doc
        else:
            doc = _set(doc, path, draw(VALUE))
    return doc


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _json_with_repeat(doc: Any, draw: st.DrawFn) -> str:
    """JSON text; sometimes one key of one object written twice (a later value wins in
    plain JSON parsers, which is exactly what planwise must refuse)."""
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    if isinstance(doc, dict) and doc and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(doc, key=str)))
        text = text[:-1] + f", {json.dumps(key)}: {json.dumps(draw(VALUE))}}}"
    return text


def _serialise(doc: Any, fmt: str, draw: st.DrawFn) -> tuple[str, bytes]:
    if fmt == "toml" and isinstance(doc, dict):
        try:
            return ".toml", tomli_w.dumps(doc).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError, AttributeError):  # None, or a key TOML cannot write
            pass
    return ".json", _json_with_repeat(doc, draw).encode("utf-8", "surrogatepass")


def _parse(path: Path) -> str:
    """'ok' or 'input error'; anything else raised fails the test."""
    try:
        load_intake(str(path), KB)
    except InputError as exc:
        assert str(exc).strip() and len(str(exc)) < 5000
        return "input error"
    return "ok"


@fuzz(FUZZ_INTAKE_DOCS)
@given(data=st.data())
def test_intake_documents_parse_or_are_input_errors(tmp_path: Path, data: st.DataObject
                                                    ) -> None:
    doc = data.draw(mutated(BASE))
    for fmt in ("json", "toml"):  # two cases per document
        suffix, raw = _serialise(doc, fmt, data.draw)
        path = tmp_path / f"intake{suffix}"
        path.write_bytes(raw)
        _parse(path)


def _text_mutation(text: str, draw: st.DrawFn) -> str:
    """A few edits drawn by hypothesis (shrinkable): a span replaced by other text."""
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 20)))
        text = text[:i] + draw(st.one_of(st.text(max_size=12), NASTY,
                                          st.sampled_from(PIECES))) + text[j:]
    return text


PIECES = ["[", "]", "{", "}", "=", '"', "'", ",", ":", "\n", "\n[risk]\n", "[[x]]",
          '"risk": {}', "\\u0000", "\\ud800", "1e999", "-0", "0x10", "true", "null",
          "2026-02-30", "9999-12-31T25:00:00", "#", '"""', "\t", "\r\n", "\ufeff"]


def random_mutation(text: str, rng: random.Random) -> str:
    """Cheap edits from a seeded generator (many cases per hypothesis example): spans
    deleted, replaced or repeated, lines swapped, numbers enlarged, odd characters."""
    for _ in range(rng.randint(1, 5)):
        n = len(text)
        i = rng.randint(0, n)
        j = min(n, i + rng.randint(0, 30))
        op = rng.randrange(6)
        if op == 0:
            text = text[:i] + text[j:]
        elif op == 1:
            text = text[:i] + rng.choice(PIECES + NASTY_LIST) + text[j:]
        elif op == 2:
            text = text[:j] + text[i:j] + text[j:]  # a span repeated (keys twice)
        elif op == 3:
            lines = text.split("\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
        elif op == 4:
            text = re.sub(r"\d+", lambda m: m.group() * rng.randint(1, 60), text, count=1)
        else:
            text = text[:i] + "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(3)) \
                + text[i:]
    return text


TOML_TEXT = EXAMPLE.read_text()
JSON_TEXT = json.dumps(BASE, indent=1)


@fuzz(FUZZ_TEXT_EXAMPLES)
@given(data=st.data())
def test_intake_text_and_bytes_parse_or_are_input_errors(tmp_path: Path,
                                                         data: st.DataObject) -> None:
    # One case drawn by hypothesis, then CASES_PER_SEED from a seeded generator.
    text = _text_mutation(data.draw(st.sampled_from([TOML_TEXT, JSON_TEXT])), data.draw)
    path = tmp_path / "intake.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    _parse(path)
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    for k in range(CASES_PER_SEED):
        if k % 5 == 4:
            raw = rng.randbytes(rng.randint(0, 300))
        else:
            base = TOML_TEXT if k % 2 else JSON_TEXT
            raw = random_mutation(base, rng).encode("utf-8", "surrogatepass")
        path = tmp_path / f"intake{'.toml' if k % 2 else '.json'}"
        path.write_bytes(raw)
        try:
            _parse(path)
        except Exception as exc:  # the case itself, for the report (the seed replays it)
            raise AssertionError(f"case {k}: {raw[:2000]!r}") from exc


@pytest.fixture(scope="module")
def plan_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A plan file exported from a plan drafted from the example intake."""
    from planwise.store import Store, plans
    from planwise.store.clients import add_client

    folder = tmp_path_factory.mktemp("plan")
    with Store(folder / "p.db").connect() as c:
        cid = add_client(c, "Jo Example")
        pid = plans.draft(c, cid, str(EXAMPLE), KB, None, "reference")
        return plans.export_toml(c, pid)


def _check_plan(path: Path) -> str:
    """The plan file's parse and check (what `plan import` does before saving)."""
    from planwise.store.models import PlanDoc
    from planwise.store.plancheck import check_plan_doc
    from planwise.store.tomlio import load_doc

    try:
        check_plan_doc(load_doc(PlanDoc, str(path), redact=True), KB, str(path))
    except InputError as exc:
        assert str(exc).strip() and len(str(exc)) < 5000
        return "input error"
    return "ok"


@fuzz(FUZZ_PLAN_EXAMPLES)
@given(data=st.data())
def test_plan_files_parse_or_are_input_errors(tmp_path: Path, plan_text: str,
                                              data: st.DataObject) -> None:
    doc = data.draw(mutated(tomllib.loads(plan_text)))
    path = tmp_path / "plan.toml"
    try:
        path.write_bytes(tomli_w.dumps(doc).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError, AttributeError):  # not a table, or None inside
        path.write_text(plan_text)
    _check_plan(path)
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    for k in range(CASES_PER_SEED):
        raw = random_mutation(plan_text, rng).encode("utf-8", "surrogatepass")
        path.write_bytes(raw)
        try:
            _check_plan(path)
        except Exception as exc:
            raise AssertionError(f"case {k}: {raw[:2000]!r}") from exc


# --- through the command line, on a database ---------------------------------------------

def _state(db: Path, tables: tuple[str, ...]) -> tuple[dict[str, int], str]:
    """Row counts and a digest of every row of `tables` (one connection)."""
    con = sqlite3.connect(db)
    try:
        h = hashlib.sha256()
        counts = {}
        for t in tables:
            rows = con.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
            counts[t] = len(rows)
            h.update(repr(rows).encode())
        return counts, h.hexdigest()
    finally:
        con.close()


INTAKE_TABLES = ("clients", "intakes", "measures", "audit")


class Fresh(Main):
    """A database with C1, I1 and P1, put back as it was after a case that changed it
    (hypothesis replays cases when it shrinks one: each must meet the same database)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.with_plan()
        self.exported = self.ok("plan", "export", "P1")
        self.pristine = self.db.read_bytes()
        self.dirty = False

    def reset(self) -> None:
        if not self.dirty:
            return
        for suffix in ("-wal", "-shm"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)
        self.db.write_bytes(self.pristine)
        self.dirty = False


@pytest.fixture()
def pw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
       capsys: pytest.CaptureFixture[str]) -> Fresh:
    return Fresh(tmp_path, monkeypatch, capsys)


@fuzz(FUZZ_CLI_INTAKE)
@given(data=st.data())
def test_client_intake_saves_all_or_nothing(pw: Fresh, data: st.DataObject) -> None:
    pw.reset()
    if data.draw(st.booleans()):
        doc = data.draw(mutated(BASE))
        suffix, raw = _serialise(doc, data.draw(st.sampled_from(["json", "toml"])),
                                 data.draw)
    else:
        suffix = ".toml"
        raw = _text_mutation(TOML_TEXT, data.draw).encode("utf-8", "surrogatepass")
    path = pw.tmp / f"fuzz{suffix}"
    path.write_bytes(raw)
    before, digest = _state(pw.db, INTAKE_TABLES)
    code, out, err = pw.run("client", "intake", "C1", str(path))
    assert code in (0, 2), err
    after, digest_after = _state(pw.db, INTAKE_TABLES)
    if code == 2:
        assert err.startswith("planwise: error: ") and err.count("\n") == 1, err
        assert digest_after == digest
    else:
        pw.dirty = True
        assert out.startswith("I") and after["intakes"] == before["intakes"] + 1
        assert after["audit"] == before["audit"] + 1


PLAN_TABLES = ("plan_versions", "plan_items", "signatures", "audit")


@fuzz(FUZZ_PLAN_IMPORT)
@given(data=st.data())
def test_plan_import_saves_all_or_nothing(pw: Fresh, data: st.DataObject) -> None:
    pw.reset()
    exported = pw.exported
    if data.draw(st.booleans()):
        doc = data.draw(mutated(tomllib.loads(exported)))
        try:
            raw = tomli_w.dumps(doc).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError, AttributeError):  # not a table, or None inside
            raw = exported.encode()
    else:
        raw = _text_mutation(exported, data.draw).encode("utf-8", "surrogatepass")
    path = pw.tmp / "plan.toml"
    path.write_bytes(raw)
    _, digest = _state(pw.db, PLAN_TABLES)
    code, _, err = pw.run("plan", "import", "P1", str(path),
                          *(["--reason", "fuzz"] if data.draw(st.booleans()) else []))
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("planwise: error: ") and err.count("\n") == 1, err
        assert _state(pw.db, PLAN_TABLES)[1] == digest
    else:
        pw.dirty = True


def test_the_fuzz_reaches_both_outcomes(tmp_path: Path) -> None:
    """A fuzz whose cases all fail to parse would prove little: the unmutated documents
    are taken and a repeated key is refused (the two ends the mutations move between)."""
    good = tmp_path / "good.json"
    good.write_text(JSON_TEXT)
    assert _parse(good) == "ok"
    bad = tmp_path / "bad.json"
    bad.write_text(JSON_TEXT[:-1] + ', "risk": {"ideation": "none"}}')
    assert _parse(bad) == "input error"
    assert sys.getrecursionlimit() >= 1000  # the nesting cases rely on Python's default
