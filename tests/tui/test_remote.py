"""Remote questionnaires from the client's page, at 80x24: `m` writes a packet through
a dialog (a refused instrument is said in the dialog, which stays open), the request
then shows as pending among the records; `v` imports a pasted response (a refusal
keeps the text; a risk answer is said at once and flags the client)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Input, OptionList, Static, TextArea

from planwise.remote import seal
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.client import ClientScreen
from planwise.tui.screens.remote import PasteDialog, RequestDialog
from planwise.tui.services import Services
from tests.remote_helpers import packet_json, spki
from tests.tui.conftest import TODAY, run, settle


def client(services: Services) -> int:
    from planwise.store.clients import add_client

    return add_client(services.conn(), "Alex Example (fictional)")


def records(app: PlanwiseApp) -> list[str]:
    box = app.screen.query_one("#records", OptionList)
    return [str(box.get_option_at_index(i).prompt) for i in range(box.option_count)]


def fits(app: PlanwiseApp, selector: str) -> bool:
    region = app.screen.query_one(selector).region
    return region.x >= 0 and region.y >= 0 and region.right <= 80 and region.bottom <= 24


def test_request_and_paste_from_the_client_page(services: Services, tmp_path: Path,
                                                make_app: Callable[[], PlanwiseApp]) -> None:
    cid = client(services)
    packet = tmp_path / "packet.html"

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_client(cid)
            await settle(app, pilot)
            await pilot.press("m")
            await settle(app, pilot)
            assert isinstance(app.screen, RequestDialog)
            assert fits(app, ".remote-dialog")
            app.screen.query_one("#remote-instruments", Input).value = "phq9,audit"
            app.screen.query_one("#remote-path", Input).value = str(packet)
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            said = str(app.screen.query_one("#remote-result", Static).render())
            assert isinstance(app.screen, RequestDialog) and "AUDIT" in said
            assert "licence" in said and not packet.exists()
            app.screen.query_one("#remote-instruments", Input).value = "phq9"
            await pilot.press("tab", "space")  # the feedback form ticked by keyboard
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, ClientScreen) and packet.exists()
            req = packet_json(packet.read_text(encoding="utf-8"))
            assert req["instruments"] == ["phq9"] and req["feedback"] is True
            assert any(req["request"] in line and "pending until" in line
                       for line in records(app))

            # The client's sealed answers come back: item 9 answered 1.
            body = {"v": 1, "request": req["request"], "completed": TODAY,
                    "measures": [{"instrument": "phq9", "answers": [1] * 9}],
                    "feedback": {"heard": 9, "mattered": 9, "approach": 9, "overall": 9}}
            text = seal.seal(body, req["request"], spki(req))
            await pilot.press("v")
            await settle(app, pilot)
            assert isinstance(app.screen, PasteDialog) and fits(app, ".remote-dialog")
            area = app.screen.query_one("#remote-text", TextArea)
            area.text = "garbage"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            said = str(app.screen.query_one("#remote-result", Static).render())
            assert "Refused, nothing saved" in said and area.text == "garbage"
            area.text = "From: client\n\n" + text
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, ClientScreen)
            assert not any(req["request"] in line for line in records(app))
            line = str(app.screen.query_one("#client-attention", Static).render())
            assert "remote answer signals risk: contact the client" in line
        rows = services.conn().query("SELECT instrument, source, total, date FROM measures")
        assert rows == [{"instrument": "phq9", "source": "remote", "total": 9,
                         "date": TODAY}]

    run(go())


def client_with_expired_request(services: Services, tmp_path: Path) -> int:
    """A client sent a GAD-7 on 2026-11-01 for 3 days: expired by the tests' TODAY."""
    import datetime as dt

    from planwise.remote.issue import issue

    cid = client(services)
    issue(services.conn(), cid, ["gad7"], False, "3d", tmp_path / "a.html",
          dt.date(2026, 11, 1), services.kb.instruments)
    return cid


async def open_client_page(app: PlanwiseApp, pilot: Any, cid: int) -> None:
    await settle(app, pilot)
    app.open_client(cid)
    await settle(app, pilot)


def test_expired_request_shows_on_the_client_page(services: Services, tmp_path: Path,
                                                  make_app: Callable[[], PlanwiseApp],
                                                  monkeypatch: Any) -> None:
    cid = client_with_expired_request(services, tmp_path)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_client_page(app, pilot, cid)
            lines = [ln for ln in records(app) if "Remote questionnaire" in ln]
            assert len(lines) == 1 and re.search(r"\(gad7\): EXPIRED 2026-11-04", lines[0])

    run(go())
    assert json.loads(services.conn().one("SELECT instruments FROM remote_requests")
                      ["instruments"]) == ["gad7"]


def test_two_reloads_close_together_list_a_request_once(services: Services, tmp_path: Path,
                                                        make_app: Callable[[], PlanwiseApp]
                                                        ) -> None:
    """The page's records are reloaded on mount and on resume; each reload's worker sends
    the requests it read. A late one must replace, not repeat, what an earlier one added
    (a repeated option id crashed the page)."""
    import datetime as dt

    from planwise.remote.requests import for_client

    cid = client_with_expired_request(services, tmp_path)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_client_page(app, pilot, cid)
            page = app.screen
            assert isinstance(page, ClientScreen)
            rows = for_client(services.conn(), cid, dt.date.fromisoformat(TODAY))
            page.show_remote(rows)       # as a second worker's late delivery would
            page.show_remote(rows)
            await settle(app, pilot)
            assert app.screen is page    # no crash screen
            lines = [ln for ln in records(app) if "Remote questionnaire" in ln]
            assert len(lines) == 1
            page.show_remote([])         # the request answered meanwhile: gone
            await settle(app, pilot)
            assert not [ln for ln in records(app) if "Remote questionnaire" in ln]

    run(go())
