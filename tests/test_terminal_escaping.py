"""Escape injection (issue 10, item 6): a client name, a note, a reason or a file name
holding terminal control sequences (`ESC ] 0 ; ... BEL` sets the window title,
`ESC [ 2 J` clears the screen), a C1 control (CSI, U+009B) or a bidi override
never reaches the terminal raw from any output; JSON and TOML output still read
back to the stored value; the Markdown export escapes HTML; the interface's title
line holds no control character."""

from __future__ import annotations

import json
import re
import sqlite3
import tomllib
from pathlib import Path

import pytest

from planwise.text import markdown_code, markdown_text, printable
from tests.main_helpers import EXAMPLE, Main, example_data

EVIL = "X\x1b]0;pwned\x07\x1b[2J\u202eY\x9bZ\u2066W\x7f\x00"
HTML = "<script>alert(1)</script> <img src=x onerror=alert(2)>"
# Written out here rather than imported: the test must not trust the code it checks.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    assert not RAW.search(text), repr(RAW.search(text))
    return text


def shown(text: str) -> bool:
    """The injected name, as the escaped form shows it."""
    return "X\\x1b]0;pwned\\x07\\x1b[2J\\u202eY\\u009bZ\\u2066W\\u007f\\x00" in text


@pytest.fixture()
def pw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
       capsys: pytest.CaptureFixture[str]) -> Main:
    """A client named EVIL with a plan; a session whose note and reason hold EVIL and HTML;
    a version 2 whose reason is EVIL; a therapist's signature with EVIL as the name (put in
    with SQL: `plan sign` refuses control characters, an older database may hold them)."""
    m = Main(tmp_path, monkeypatch, capsys)
    # planwise refuses these characters on input now; an older one stored them as given.
    with monkeypatch.context() as older:
        for module in ("clients", "sessions"):
            older.setattr(f"planwise.store.{module}.refuse_controls", lambda *a, **k: None)
        m.ok("client", "add", "--name", EVIL)
        m.ok("client", "intake", "C1", str(EXAMPLE))
        m.ok("plan", "draft", "C1", "I1", "--engine", "reference")
        m.ok("session", "add", "P1", "--date", "2026-12-06", "--unplanned", EVIL,
             "--note", f"{EVIL} {HTML}")
    m.ok("plan", "sign", "P1", "--role", "therapist", "--name", "A. Clinician", "--force")
    exported = m.ok("plan", "export", "P1")
    edited = tmp_path / "p1.toml"
    edited.write_text(exported.replace("review_weeks = 6", "review_weeks = 5"))
    m.ok("plan", "import", "P1", str(edited), "--reason", EVIL)
    from planwise.store import Store

    with Store(m.db).connect() as c, c.transaction():
        c.raw.execute("INSERT INTO signatures (version_id, role, name, signed_at) "
                      "SELECT id, 'client', ?, '2026-12-07T10:00:00+00:00' FROM "
                      "plan_versions WHERE plan_id = 1 AND version = 2", [EVIL])
    return m


def test_the_escaping_function() -> None:
    out = printable(EVIL + "\tok\n")
    assert shown(out) and out.endswith("\tok\n") and not RAW.search(out.rstrip("\n\t"))
    assert printable(out) == out  # idempotent
    assert printable("Zoë, 李, emoji \U0001f600") == "Zoë, 李, emoji \U0001f600"
    assert printable("\ud83d") == "\\ud83d"  # a lone surrogate (not UTF-8 on input)


def test_markdown_helpers_escape_html_and_code_spans() -> None:
    assert markdown_text(HTML) == ("&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x "
                                   "onerror=alert(2)&gt;")
    assert markdown_text("a | b\n c") == "a \\| b c"
    assert markdown_code("key`with``ticks") == "```key`with``ticks```"
    assert markdown_code("`x") == "`` `x ``"


@pytest.mark.parametrize("argv", [
    ("client", "add", "--name", EVIL),
    ("session", "add", "P1", "--date", "2026-12-07", "--unplanned", "x", "--note", EVIL),
    ("session", "add", "P1", "--date", "2026-12-07", "--unplanned", EVIL, "--note", "x"),
])
def test_controls_are_refused_on_input_without_echoing_the_text(pw: Main,
                                                                argv: tuple[str, ...]) -> None:
    before = pw.counts()
    err = clean(pw.fails(*argv))
    assert "holds a control character (U+001B)" in err and "pwned" not in err
    assert pw.counts() == before


def test_client_edit_refuses_controls_naming_the_field(pw: Main) -> None:
    import tomli_w

    pw.ok("client", "add", "--name", "Jo Example")
    doc = tomllib.loads(pw.ok("client", "export", "C2"))
    doc.setdefault("contact", {})["phone"] = "0\x1b[2J"
    path = pw.tmp / "c2.toml"
    path.write_text(tomli_w.dumps(doc))
    err = clean(pw.fails("client", "edit", "C2", "--file", str(path)))
    assert "c2.toml: contact.phone: holds a control character (U+001B)" in err


def test_client_list(pw: Main) -> None:
    out = clean(pw.ok("client", "list"))
    assert out.startswith("C1\t") and shown(out)


def test_client_list_search_for_the_name(pw: Main) -> None:
    assert shown(clean(pw.ok("client", "list", "--search", "pwned")))


def test_client_show(pw: Main) -> None:
    out = clean(pw.ok("client", "show", "C1"))
    assert "pwned" in out and "I1" in out


def test_client_export_still_reads_back_as_the_stored_name(pw: Main) -> None:
    out = clean(pw.ok("client", "export", "C1"))
    assert tomllib.loads(out)["name"] == EVIL.replace("\x00", "\x00")


def test_session_list_text_and_json(pw: Main) -> None:
    out = clean(pw.ok("session", "list", "P1"))
    assert shown(out) and HTML in out  # text output is plain text: HTML stays as typed
    data = json.loads(clean(pw.ok("session", "list", "P1", "--format", "json")))
    assert data[0]["note"] == f"{EVIL} {HTML}" and data[0]["unplanned_reason"] == EVIL


def test_plan_history(pw: Main) -> None:
    out = clean(pw.ok("plan", "history", "P1"))
    lines = out.splitlines()
    assert any(line.startswith("v2\t") and shown(line) for line in lines)
    assert any(line.startswith("\tclient: ") and shown(line) for line in lines)


def test_dashboard_text_and_json(pw: Main) -> None:
    out = clean(pw.ok("dashboard"))
    assert "C1\tP1\t" in out and shown(out)
    data = json.loads(clean(pw.ok("dashboard", "--format", "json")))
    assert data[0]["name"] == EVIL


def test_plan_export_markdown_to_stdout_escapes_controls_and_html(pw: Main) -> None:
    out = clean(pw.ok("plan", "export", "P1", "--format", "markdown"))
    assert f"- Client: {markdown_text(EVIL)} (C1)" in out and shown(out)
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_plan_export_markdown_to_a_file(pw: Main) -> None:
    target = pw.tmp / "p1.md"
    pw.ok("plan", "export", "P1", "--format", "markdown", "--output", str(target))
    text = clean(target.read_text())
    assert shown(text) and "<script>" not in text


def test_plan_export_json_and_toml_read_back_unchanged(pw: Main) -> None:
    data = json.loads(clean(pw.ok("plan", "export", "P1", "--format", "json")))
    assert data["client_info"]["name"] == EVIL
    assert data["sessions"][0]["note"] == f"{EVIL} {HTML}"
    assert data["version"]["reason"] == EVIL
    toml = clean(pw.ok("plan", "export", "P1", "--version", "1"))
    assert tomllib.loads(toml)["plan"] == "P1"


def test_error_messages_name_a_file_escaped(pw: Main) -> None:
    name = str(pw.tmp / f"{EVIL.replace(chr(0), '')}.toml")
    err = clean(pw.fails("recommend", name))
    assert "file not found" in err and "\\x1b]0;pwned" in err


def test_error_messages_quote_a_value_escaped(pw: Main) -> None:
    # TOML: the value reaches validation, whose message quotes an excerpt of it. (JSON
    # refuses the control characters first, naming the field only.)
    path = pw.tmp / "i.toml"
    text = EXAMPLE.read_text().replace("age = 34", 'age = "X\\u001b]0;pwned\\u0007"')
    path.write_text(text)
    err = clean(pw.fails("recommend", str(path)))
    assert "client.age" in err and "\\x1b]0;pwned\\x07" in err
    path = pw.tmp / "i.json"
    data = example_data()
    data["client"]["age"] = EVIL
    path.write_text(json.dumps(data))
    err = clean(pw.fails("recommend", str(path)))
    assert "client.age: holds a control character (U+001B)" in err and "pwned" not in err


@pytest.mark.parametrize("field", ["id", "summary"])
def test_an_intake_text_with_a_control_character_is_refused(pw: Main, field: str) -> None:
    data = example_data()
    section = "client" if field == "id" else "screening"
    data[section][field] = "a\u202eb"
    path = pw.tmp / "i.json"
    path.write_text(json.dumps(data))
    err = clean(pw.fails("client", "intake", "C1", str(path)))
    assert f"{section}.{field}: holds a control character (U+202E)" in err
    assert pw.count("intakes") == 1  # the fixture's only


def test_error_messages_from_click_are_escaped(pw: Main) -> None:
    err = clean(pw.fails("session", "list", "P1", "--format", EVIL))
    assert "Invalid value for '--format'" in err and "\\x1b" in err


def test_a_key_given_twice_with_controls_in_it_is_named_escaped(pw: Main) -> None:
    key = "r\x1b]0;x\x07"
    text = json.dumps(example_data())[:-1] + f', {json.dumps(key)}: 1, {json.dumps(key)}: 2}}'
    path = pw.tmp / "k.json"
    path.write_text(text)
    err = clean(pw.fails("recommend", str(path)))
    assert "given twice" in err and "\\x1b]0;x\\x07" in err


def test_the_interface_title_line_holds_no_control_character(pw: Main) -> None:
    from planwise.kb import load_knowledge
    from planwise.store import Store
    from planwise.tui.app import PlanwiseApp
    from planwise.tui.services import Services
    from tests.tui.conftest import run, settle

    services = Services(Store(pw.db), load_knowledge(), None)
    app = PlanwiseApp(services, blink=False)
    titles: list[str] = []

    async def go() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            app.open_client(1)
            await settle(app, pilot)
            titles.append(str(app.screen.sub_title))
            app.open_plan(1)
            await settle(app, pilot)
            titles.append(str(app.screen.sub_title))

    try:
        run(go())
    finally:
        services.close()
    assert len(titles) == 2
    for title in titles:
        assert clean(title) and "pwned" in title


def test_raw_sql_cannot_smuggle_a_control_into_client_list(pw: Main) -> None:
    # An older planwise or another SQLite client may have written anything.
    con = sqlite3.connect(pw.db)
    con.execute("UPDATE clients SET name = ? WHERE id = 1", ["Z\x1b[31mred\x9b2J"])
    con.commit()
    con.close()
    out = clean(pw.ok("client", "list"))
    assert "Z\\x1b[31mred\\u009b2J" in out
