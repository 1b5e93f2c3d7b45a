"""The interface's export dialog writes both PDFs: the clinical record and the client's
copy, each 0600, the file name following the format chosen."""

from __future__ import annotations

import io
import stat
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input

from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.plan import PlanScreen
from tests.tui.conftest import run, settle
from tests.tui.test_plan import open_export_dialog


def _text(path: Path) -> str:
    from pypdf import PdfReader

    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)


def test_export_dialog_writes_the_record_and_the_client_copy(
        make_app: Callable[[], PlanwiseApp], plan_id: int, tmp_path: Path) -> None:
    async def export(downs: int, target: Path, ext: str) -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            dialog = await open_export_dialog(app, pilot, plan_id)
            path = dialog.query_one("#export-path", Input)
            await pilot.press(*["down"] * downs, "space")
            await pilot.pause()
            assert path.value == f"~/planwise-P{plan_id}-v1.{ext}"
            path.value = str(target)
            path.focus()
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, PlanScreen)

    record, client = tmp_path / "record.pdf", tmp_path / "client.pdf"
    run(export(3, record, "pdf"))
    run(export(4, client, "client.pdf"))
    for path in (record, client):
        assert path.read_bytes().startswith(b"%PDF-")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"Treatment plan P{plan_id}, version 1" in _text(record)
    client_text = _text(client)
    assert "Your treatment plan" in client_text and "What you will do:" in client_text
