"""Drafts survive the process and are replaced, not piled up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from planwise.store.clients import add_client
from planwise.store.db import Store
from planwise.store.drafts import delete_draft, list_drafts, load_draft, save_draft


def test_save_load_replace_delete(tmp_path: Path) -> None:
    c = Store(tmp_path / "p.db").connect()
    cid = add_client(c, "Test Person")
    save_draft(c, "intake", f"C{cid}", {"screening": {"concerns": ["mood"]}}, cid)
    save_draft(c, "intake", f"C{cid}", {"screening": {"concerns": ["mood", "anxiety"]}}, cid)
    draft = load_draft(c, "intake", f"C{cid}")
    assert draft is not None and draft["screening"]["concerns"] == ["mood", "anxiety"]
    assert "_updated_at" in draft
    assert [d["key"] for d in list_drafts(c)] == [f"C{cid}"]
    delete_draft(c, "intake", f"C{cid}")
    assert load_draft(c, "intake", f"C{cid}") is None


def test_a_draft_saved_by_a_killed_process_is_there(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    Store(db).connect().close()
    script = (
        "import os, signal, sys\n"
        "from planwise.store.db import Store\n"
        "from planwise.store.drafts import save_draft\n"
        f"c = Store({str(db)!r}).connect()\n"
        "save_draft(c, 'session', 'P1', {'note': 'half a sentence'})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -9
    draft = load_draft(Store(db).connect(), "session", "P1")
    assert draft is not None and draft["note"] == "half a sentence"
