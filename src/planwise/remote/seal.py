"""The sealed response's text form and its cryptography (the exchange spec,
docs/remote.md): RSA-OAEP (SHA-256, MGF1 SHA-256) wraps a fresh AES-256-GCM key; the
request id is the additional data; base64url throughout; the envelope JSON is
base64url-encoded between BEGIN/END lines.

`seal` is what the page does in the browser, for tests and for any other client that
answers a request; `unarmor` and `open_envelope` are the import's first checks.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import Any

from planwise.errors import InputError

BEGIN = "-----BEGIN PLANWISE RESPONSE-----"
END = "-----END PLANWISE RESPONSE-----"
MAX_TEXT = 1 << 20  # a response is a few kilobytes; a megabyte is not one
_REQUEST_ID = re.compile(r"r-[0-9a-f]{16}")


def b64url_decode(text: str, what: str) -> bytes:
    t = re.sub(r"\s", "", text)
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", t):
        raise InputError(f"{what} is not base64url text")
    try:
        return base64.urlsafe_b64decode(t.rstrip("=") + "=" * (-len(t.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise InputError(f"{what} is not base64url text") from None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def armor(envelope: dict[str, Any]) -> str:
    body = b64url(json.dumps(envelope, separators=(",", ":")).encode("utf-8"))
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def seal(payload: dict[str, Any], request_id: str, public_spki: bytes) -> str:
    """The armored response for `payload`, sealed to the practice's public key."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    public = serialization.load_der_public_key(public_spki)
    key = AESGCM.generate_key(bit_length=256)
    iv = os.urandom(12)
    data = AESGCM(key).encrypt(iv, json.dumps(payload).encode("utf-8"),
                               request_id.encode("utf-8"))
    wrapped = public.encrypt(key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),  # type: ignore[union-attr]
                                               algorithm=hashes.SHA256(), label=None))
    return armor({"v": 1, "request": request_id, "key": b64url(wrapped), "iv": b64url(iv),
                  "data": b64url(data)})


def unarmor(text: str) -> dict[str, Any]:
    """The envelope inside the BEGIN/END lines (text around them, such as an email's
    quoting, is ignored; `> ` quote marks inside are dropped)."""
    if len(text) > MAX_TEXT:
        raise InputError("the response is far larger than a sealed response can be")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise InputError(f"no sealed response found: the text must hold the lines {BEGIN} "
                         f"and {END}")
    body = "".join(line.strip().lstrip(">").strip()
                   for line in text[start + len(BEGIN):end].splitlines())
    raw = b64url_decode(body, "the sealed response")
    try:
        env = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("the sealed response is damaged (its envelope is not JSON); ask "
                         "for it to be sent again, whole") from None
    if not isinstance(env, dict) or env.get("v") != 1:
        raise InputError("the sealed response is not a version 1 planwise envelope")
    for field in ("request", "key", "iv", "data"):
        if not isinstance(env.get(field), str):
            raise InputError(f"the sealed response's envelope has no {field}")
    if not _REQUEST_ID.fullmatch(env["request"]):
        raise InputError("the sealed response names no valid request id")
    return env


def open_envelope(env: dict[str, Any], private: Any) -> dict[str, Any]:
    """The payload JSON; InputError when the envelope does not decrypt or authenticate."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    failed = InputError(f"the response to {env['request']} does not decrypt or "
                        "authenticate: it was changed on the way, damaged, or sealed to "
                        "another key; nothing was saved")
    try:
        key = private.decrypt(b64url_decode(env["key"], "the envelope's key"),
                              padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                           algorithm=hashes.SHA256(), label=None))
        iv = b64url_decode(env["iv"], "the envelope's iv")
        if len(key) != 32 or len(iv) != 12:
            raise failed
        plain = AESGCM(key).decrypt(iv, b64url_decode(env["data"], "the envelope's data"),
                                    env["request"].encode("utf-8"))
    except (ValueError, InvalidTag):
        raise failed from None
    try:
        payload = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("the response's payload is not JSON") from None
    if not isinstance(payload, dict):
        raise InputError("the response's payload is not a JSON object")
    return payload
