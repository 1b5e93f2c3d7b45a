"""Shared by the remote questionnaire tests: a database with a client, a keys folder,
requests written through the CLI, and responses sealed with Python's `cryptography`
(what any other client of the exchange spec would do)."""

from __future__ import annotations

import base64
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from planwise.remote import seal
from tests.test_store_helpers import Runner

PHQ9 = [1, 1, 0, 1, 0, 1, 0, 0, 0]
GAD7 = [1, 1, 1, 0, 1, 0, 1]
FEEDBACK = {"heard": 8, "mattered": 7, "approach": 9, "overall": 8}


# RSA keys already made, by (exponent, size, n): the n-th key a test asks for.
_KEYS: dict[tuple[int, int, int], Any] = {}


def pooled_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 3,072-bit RSA key takes cryptography 0.2 to 1.5 s to make, and nearly every test
    here makes one (a new keys folder): most of these files' time. Each test's n-th key
    is the n-th key any test of the process was given, so the keys of one test still
    differ from each other, and are made, stored and read as before."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    real = rsa.generate_private_key
    made = itertools.count()

    def generate(public_exponent: int, key_size: int, backend: Any = None) -> Any:
        which = (public_exponent, key_size, next(made))
        if which not in _KEYS:
            _KEYS[which] = real(public_exponent=public_exponent, key_size=key_size)
        return _KEYS[which]

    monkeypatch.setattr(rsa, "generate_private_key", generate)


def remote_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  today: str = "2026-12-07") -> Runner:
    pooled_keys(monkeypatch)
    monkeypatch.setenv("PLANWISE_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("PLANWISE_TODAY", today)
    monkeypatch.delenv("PLANWISE_KEY_PASSPHRASE_FILE", raising=False)
    r = Runner(tmp_path, monkeypatch)
    r.ok("client", "add", "--name", "Jo Example")
    return r


def request(r: Runner, tmp_path: Path, what: str = "phq9,gad7", *extra: str,
            name: str = "packet.html") -> dict[str, Any]:
    """Issue a request through the CLI; returns the packet's request JSON (+ `html`)."""
    out = tmp_path / name
    r.ok("measure", "request", "C1", what, "--output", str(out), *extra)
    return packet_json(out.read_text(encoding="utf-8"))


def packet_json(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="planwise-request">(.*?)</script>',
                  html, re.S)
    assert m, "no request JSON in the packet"
    return {**json.loads(m.group(1)), "html": html}


def spki(req: dict[str, Any]) -> bytes:
    t = req["public_key"]
    return base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))


def payload(req: dict[str, Any], completed: str = "2026-12-09", **over: Any) -> dict[str, Any]:
    answers = {"phq9": PHQ9, "gad7": GAD7}
    p: dict[str, Any] = {
        "v": 1, "request": req["request"], "completed": completed,
        "measures": [{"instrument": i, "answers": answers[i]} for i in req["instruments"]],
        "feedback": dict(FEEDBACK) if req["feedback"] else None}
    p.update(over)
    return p


def sealed(req: dict[str, Any], body: dict[str, Any] | None = None,
           envelope_request: str | None = None) -> str:
    return seal.seal(body if body is not None else payload(req),
                     envelope_request or req["request"], spki(req))


def import_text(r: Runner, tmp_path: Path, text: str, name: str = "response.txt"
                ) -> tuple[int, str, str]:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return r.invoke("measure", "import", str(f))
