"""`planwise measure request` and `planwise measure import`: the packet as the exchange
spec fixes it, every refusal the spec lists (exit 2, nothing saved), and what a good
response stores: measures with source 'remote' dated on completion and classified
against the baseline, the request used, audit rows, the dashboard's risk flag."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from planwise.remote import seal
from tests.remote_helpers import (
    PHQ9,
    import_text,
    payload,
    remote_runner,
    request,
    sealed,
    spki,
)
from tests.test_store_helpers import Runner


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    return remote_runner(tmp_path, monkeypatch)


def later(monkeypatch: pytest.MonkeyPatch, day: str = "2026-12-10") -> None:
    monkeypatch.setenv("PLANWISE_TODAY", day)


def nothing_saved(run: Runner, rid: str) -> None:
    assert run.rows("SELECT count(*) AS n FROM measures")[0]["n"] == 0
    assert run.rows("SELECT count(*) AS n FROM remote_responses")[0]["n"] == 0
    assert run.rows("SELECT used_at FROM remote_requests WHERE id = ?", [rid]) == \
        [{"used_at": None}]
    assert run.rows("SELECT count(*) AS n FROM audit WHERE action LIKE 'remote.i%' "
                    "OR action = 'remote.risk'")[0]["n"] == 0


# --- the request packet -------------------------------------------------------------------

def test_packet_follows_the_spec(run: Runner, tmp_path: Path) -> None:
    req = request(run, tmp_path, "PHQ-9,gad7", "--feedback", "--expires", "14d")
    html = req.pop("html")
    assert set(req) == {"v", "request", "practice", "instruments", "feedback", "issued",
                        "expires", "public_key"}
    assert req["v"] == 1 and req["instruments"] == ["phq9", "gad7"] and req["feedback"]
    assert req["issued"] == "2026-12-07" and req["expires"] == "2026-12-21"
    assert len(req["request"]) == 18 and int(req["request"][2:], 16) >= 0  # 64 random bits
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key = load_der_public_key(spki(req))
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size >= 3072
    assert "Jo Example" not in html and "http://" not in html and "https://" not in html
    assert "default-src 'none'" in html and "script-src 'sha256-" in html
    # Item text of the allowed instruments, and the practice's crisis contacts, are in it.
    assert "Little interest or pleasure in doing things" in html
    assert "emergency number" in html
    assert stat.S_IMODE(os.stat(tmp_path / "packet.html").st_mode) == 0o600
    rows = run.rows("SELECT * FROM remote_requests")
    assert len(rows) == 1 and rows[0]["id"] == req["request"] and rows[0]["used_at"] is None
    assert json.loads(rows[0]["instruments"]) == ["phq9", "gad7"]
    assert (rows[0]["issued"], rows[0]["expires"]) == ("2026-12-07", "2026-12-21")


def test_packet_shows_configured_crisis_contacts(run: Runner, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('practice = "Birch Lane Counselling"\n'
                   'crisis_contacts = ["Crisis line: 0800 000 111", "Text SHOUT to 85258"]\n')
    monkeypatch.setenv("PLANWISE_CONFIG", str(cfg))
    req = request(run, tmp_path, "phq9")
    assert req["practice"] == "Birch Lane Counselling"
    assert "Crisis line: 0800 000 111" in req["html"] and "emergency number" not in req["html"]


@pytest.mark.parametrize("what, reason", [
    ("phq9,audit", "AUDIT: its licence does not allow planwise to show the item text"),
    ("mdq", "MDQ: its licence does not allow"),
    ("phq9,nosuch", "unknown instrument 'nosuch'"),
    ("phq9,phq9", "PHQ-9 is named twice"),
])
def test_request_refuses_instruments_with_the_reason(run: Runner, tmp_path: Path, what: str,
                                                     reason: str) -> None:
    err = run.fails("measure", "request", "C1", what, "--output", str(tmp_path / "p.html"))
    assert reason in err
    assert not (tmp_path / "p.html").exists()
    assert run.rows("SELECT count(*) AS n FROM remote_requests")[0]["n"] == 0


def test_request_refuses_bad_expiry_and_an_existing_file(run: Runner, tmp_path: Path) -> None:
    out = str(tmp_path / "p.html")
    assert "--expires" in run.fails("measure", "request", "C1", "phq9", "--expires", "200d",
                                    "--output", out)
    assert "--expires" in run.fails("measure", "request", "C1", "phq9", "--expires", "soon",
                                    "--output", out)
    (tmp_path / "p.html").write_text("mine")
    assert "exists already" in run.fails("measure", "request", "C1", "phq9", "--output", out)
    assert (tmp_path / "p.html").read_text() == "mine"
    assert run.rows("SELECT count(*) AS n FROM remote_requests")[0]["n"] == 0


# --- a good response ----------------------------------------------------------------------

def test_import_stores_measures_feedback_and_marks_the_request_used(
        run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run.ok("measure", "add", "C1", "phq9", "--answers", "3,3,2,2,2,2,2,1,0",
           "--date", "2026-11-01")  # baseline 17
    req = request(run, tmp_path, "phq9,gad7", "--feedback")
    later(monkeypatch)
    code, out, err = import_text(run, tmp_path, "Hello,\n\n" + sealed(req) + "\nJo\n")
    assert code == 0, err
    assert f"{req['request']}: response of C1 completed on 2026-12-09 imported" in out
    assert "since baseline 17" in out and "reliably improved" in out
    assert "RISK" not in out
    rows = run.rows("SELECT instrument, date, total, source, answers FROM measures "
                    "WHERE source = 'remote' ORDER BY id")
    assert [(r["instrument"], r["date"], r["total"]) for r in rows] == \
        [("phq9", "2026-12-09", 4), ("gad7", "2026-12-09", 5)]
    assert json.loads(rows[0]["answers"]) == PHQ9
    assert run.rows("SELECT used_at IS NOT NULL AS used FROM remote_requests") == [{"used": 1}]
    resp = run.rows("SELECT * FROM remote_responses")[0]
    assert json.loads(resp["feedback"])["heard"] == 8 and resp["risk"] == 0
    audit = run.rows("SELECT action, record_id, detail FROM audit WHERE action LIKE "
                     "'remote.%' OR (action = 'measure.add' AND detail LIKE '%remote%') "
                     "ORDER BY id")
    assert [a["action"] for a in audit] == ["remote.request", "measure.add", "measure.add",
                                            "remote.import"]
    assert json.loads(audit[1]["detail"])["request"] == req["request"]
    assert "Jo Example" not in json.dumps(audit)
    assert "remote" in run.ok("measure", "list", "C1")
    assert "ok:" in run.ok("verify")


def test_risk_answer_tops_the_dashboard_with_an_audit_row(
        run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run.ok("client", "add", "--name", "Sam Other")
    req = request(run, tmp_path, "phq9")
    later(monkeypatch)
    body = payload(req, measures=[{"instrument": "phq9", "answers": PHQ9[:8] + [2]}])
    code, out, err = import_text(run, tmp_path, sealed(req, body))
    assert code == 0, err
    assert out.startswith("RISK: C1: remote answer signals risk: contact the client")
    dash = run.ok("dashboard")
    assert dash.splitlines()[0].startswith("C1\t")
    assert "remote answer signals risk: contact the client" in dash
    rows = json.loads(run.ok("dashboard", "--format", "json"))
    assert rows[0]["client"] == "C1" and rows[0]["flags"][0] == "remote_risk"
    risk = run.rows("SELECT record_id, client_id FROM audit WHERE action = 'remote.risk'")
    assert risk == [{"record_id": req["request"], "client_id": 1}]


def test_pending_and_expired_requests_on_the_dashboard(
        run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = request(run, tmp_path, "phq9", "--expires", "3d", name="a.html")
    b = request(run, tmp_path, "gad7", "--expires", "30d", name="b.html")
    later(monkeypatch, "2026-12-12")
    dash = run.ok("dashboard")
    assert f"C1\t{a['request']}\texpired\texpires 2026-12-10\tphq9" in dash
    assert f"C1\t{b['request']}\tpending\texpires 2027-01-06\tgad7" in dash


# --- every refusal of the spec ------------------------------------------------------------

def test_unknown_request_is_refused(run: Runner, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    req = request(run, tmp_path, "phq9")
    later(monkeypatch)
    stranger = dict(req, request="r-0123456789abcdef")
    code, _out, err = import_text(run, tmp_path, sealed(stranger, payload(stranger)))
    assert code == 2 and "unknown request r-0123456789abcdef" in err
    nothing_saved(run, req["request"])


def test_used_request_is_refused(run: Runner, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    req = request(run, tmp_path, "phq9")
    later(monkeypatch)
    assert import_text(run, tmp_path, sealed(req))[0] == 0
    code, _out, err = import_text(run, tmp_path, sealed(req), name="again.txt")
    assert code == 2 and "already used" in err
    assert run.rows("SELECT count(*) AS n FROM measures")[0]["n"] == 1


def test_expired_request_is_refused(run: Runner, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    req = request(run, tmp_path, "phq9", "--expires", "3d")
    later(monkeypatch, "2026-12-11")
    code, _out, err = import_text(run, tmp_path, sealed(req))
    assert code == 2 and "expired on 2026-12-10" in err
    nothing_saved(run, req["request"])


@pytest.mark.parametrize("field", ["data", "iv", "key"])
def test_tampered_envelope_does_not_authenticate(run: Runner, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 field: str) -> None:
    req = request(run, tmp_path, "phq9")
    later(monkeypatch)
    env = seal.unarmor(sealed(req))
    raw = bytearray(seal.b64url_decode(env[field], field))
    raw[len(raw) // 2] ^= 0x01
    env[field] = seal.b64url(bytes(raw))
    code, _out, err = import_text(run, tmp_path, seal.armor(env))
    assert code == 2 and "does not decrypt or authenticate" in err
    nothing_saved(run, req["request"])


def test_response_sealed_to_another_key_is_refused(run: Runner, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    req = request(run, tmp_path, "phq9")
    later(monkeypatch)
    other = rsa.generate_private_key(public_exponent=65537, key_size=3072).public_key()
    text = seal.seal(payload(req), req["request"],
                     other.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    code, _out, err = import_text(run, tmp_path, text)
    assert code == 2 and "does not decrypt or authenticate" in err
    nothing_saved(run, req["request"])


def test_envelope_request_swapped_does_not_authenticate(
        run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The request id is the additional data: moving a sealed payload under another
    request's envelope fails authentication."""
    a = request(run, tmp_path, "phq9", name="a.html")
    b = request(run, tmp_path, "phq9", name="b.html")
    later(monkeypatch)
    env = seal.unarmor(sealed(a))
    env["request"] = b["request"]
    code, _out, err = import_text(run, tmp_path, seal.armor(env))
    assert code == 2 and "does not decrypt or authenticate" in err
    nothing_saved(run, b["request"])


def test_payload_request_differing_from_envelope_is_refused(
        run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = request(run, tmp_path, "phq9", name="a.html")
    b = request(run, tmp_path, "phq9", name="b.html")
    later(monkeypatch)
    code, _out, err = import_text(run, tmp_path, sealed(a, payload(b)))
    assert code == 2 and f"names request '{b['request']}'" in err and a["request"] in err
    nothing_saved(run, a["request"])


@pytest.mark.parametrize("measures, feedback, message", [
    ([{"instrument": "phq9", "answers": PHQ9}, {"instrument": "gad7", "answers": [0] * 7}],
     None, "'gad7', which was not requested"),
    ([{"instrument": "phq9", "answers": PHQ9}, {"instrument": "phq9", "answers": PHQ9}],
     None, "phq9 twice"),
    ([], None, "lacks phq9"),
    ([{"instrument": "phq9", "answers": PHQ9}], {"heard": 8}, "feedback, which was not "
                                                              "requested"),
])
def test_instruments_not_requested_are_refused(run: Runner, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               measures: list[dict[str, object]],
                                               feedback: object, message: str) -> None:
    req = request(run, tmp_path, "phq9")
    later(monkeypatch)
    code, _out, err = import_text(run, tmp_path,
                                  sealed(req, payload(req, measures=measures,
                                                      feedback=feedback)))
    assert code == 2 and message in err, err
    nothing_saved(run, req["request"])


@pytest.mark.parametrize("answers, message", [
    (PHQ9[:8] + [4], "out of range 0-3 for PHQ-9 item 9"),
    (PHQ9[:8] + [-1], "out of range 0-3 for PHQ-9 item 9"),
    (PHQ9[:8], "expected 9 answers, got 8"),
    (PHQ9[:8] + ["1"], "PHQ-9 item 9 takes a whole number"),
    (PHQ9[:8] + [True], "PHQ-9 item 9 takes a whole number"),
])
def test_answers_out_of_range_are_refused(run: Runner, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          answers: list[object], message: str) -> None:
    req = request(run, tmp_path, "phq9")
    later(monkeypatch)
    body = payload(req, measures=[{"instrument": "phq9", "answers": answers}])
    code, _out, err = import_text(run, tmp_path, sealed(req, body))
    assert code == 2 and message in err, err
    nothing_saved(run, req["request"])


def test_feedback_out_of_range_or_missing_is_refused(run: Runner, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    req = request(run, tmp_path, "phq9", "--feedback")
    later(monkeypatch)
    for fb, message in (({"heard": 11, "mattered": 7, "approach": 9, "overall": 8},
                         "0 to 10"), (None, "lacks the feedback")):
        code, _out, err = import_text(run, tmp_path, sealed(req, payload(req, feedback=fb)))
        assert code == 2 and message in err, err
    nothing_saved(run, req["request"])


@pytest.mark.parametrize("completed, message", [
    ("2026-12-06", "before the request was issued (2026-12-07)"),
    ("2026-12-11", "after today (2026-12-10)"),
    ("09/12/2026", "not a date"),
])
def test_completion_date_outside_the_request_is_refused(
        run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, completed: str,
        message: str) -> None:
    req = request(run, tmp_path, "phq9")
    later(monkeypatch)
    code, _out, err = import_text(run, tmp_path, sealed(req, payload(req, completed)))
    assert code == 2 and message in err, err
    nothing_saved(run, req["request"])


@pytest.mark.parametrize("text, message", [
    ("nothing sealed here", "no sealed response found"),
    (f"{seal.BEGIN}\n!!!!\n{seal.END}\n", "not base64url"),
    (f"{seal.BEGIN}\n{seal.b64url(b'not json')}\n{seal.END}\n", "not JSON"),
])
def test_text_that_is_not_a_response_is_refused(run: Runner, tmp_path: Path, text: str,
                                                message: str) -> None:
    code, _out, err = import_text(run, tmp_path, text)
    assert code == 2 and message in err and "Traceback" not in err


def test_import_reads_standard_input(run: Runner, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from planwise.cli import cli

    req = request(run, tmp_path, "phq9")
    later(monkeypatch)
    result = run.runner.invoke(cli, ["measure", "--db", str(run.db), "import", "-"],
                               input="> " + sealed(req).replace("\n", "\n> "))
    assert result.exit_code == 0, result.output
    assert run.rows("SELECT source FROM measures") == [{"source": "remote"}]


def test_risk_flag_stays_until_a_session_after_the_answers(
        run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_store_helpers import EXAMPLE

    run.ok("client", "intake", "C1", str(EXAMPLE))
    run.ok("plan", "draft", "C1", "I1", "--engine", "reference")
    req = request(run, tmp_path, "phq9")
    later(monkeypatch)
    body = payload(req, measures=[{"instrument": "phq9", "answers": PHQ9[:8] + [1]}])
    assert import_text(run, tmp_path, sealed(req, body))[0] == 0
    assert "remote_risk" in json.loads(run.ok("dashboard", "--format", "json"))[0]["flags"]
    run.ok("session", "add", "P1", "--date", "2026-12-08", "--objective",
           "depression.activity.monitor:4", "--note", "Phone call")  # before the answers
    assert "remote_risk" in json.loads(run.ok("dashboard", "--format", "json"))[0]["flags"]
    run.ok("session", "add", "P1", "--date", "2026-12-10", "--objective",
           "depression.activity.monitor:4", "--note", "Safety plan reviewed")
    rows = json.loads(run.ok("dashboard", "--format", "json"))
    assert all("remote_risk" not in r["flags"] for r in rows)
