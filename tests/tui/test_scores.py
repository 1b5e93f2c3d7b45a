"""Scores over time: the text chart (baseline, reliable-change band, cut-off, points) as
pure rendering, and the scores screen reached from the client's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Static

from planwise.kb import load_knowledge
from planwise.store.measures import add_measure
from planwise.tui.app import PlanwiseApp
from planwise.tui.screens.scores import ScoresScreen, change_cell
from planwise.tui.services import Services
from planwise.tui.widgets.score_chart import (
    BAND,
    BASELINE,
    CUTOFF,
    POINT,
    ChartSpec,
    columns,
    legend,
    render_chart,
)
from tests.tui.conftest import run, settle

KB = load_knowledge()


def rows(totals: list[int], instrument: str = "phq9") -> list[dict[str, Any]]:
    return [{"instrument": instrument, "total": t, "date": f"2026-{10 + i // 4:02d}-"
             f"{1 + 7 * (i % 4):02d}", "change": None if i == 0 else {"change_class": "x"}}
            for i, t in enumerate(totals)]


def plot(spec: ChartSpec, height: int = 10) -> list[str]:
    return [t.plain for t in render_chart(spec, 78, height)][:height]


def value_rows(lines: list[str], mark: str) -> list[int]:
    return [i for i, line in enumerate(lines) if mark in line[4:]]


def test_phq9_spec_has_the_published_cutoff_and_band() -> None:
    spec = ChartSpec.from_series(KB.instruments["phq9"], rows([16, 12, 6]))
    assert (spec.cutoff, spec.clinical_at_least, spec.lower_is_better) == (10, True, True)
    assert spec.threshold == 5
    # a change of 5 points is already reliable (published threshold counts at equality)
    assert spec.band == (11.5, 20.5)
    assert spec.classes == ["", "x", "x"]


def test_every_score_is_drawn_on_its_side_of_the_cutoff() -> None:
    inst = KB.instruments["phq9"]
    for height in (8, 10, 12):
        for total in range(0, 28):
            lines = plot(ChartSpec.from_series(inst, rows([20, total])), height)
            line = next(i for i, text in enumerate(lines) if CUTOFF * 10 in text)
            point = next(i for i, text in enumerate(lines) if POINT in text[4:])
            if total >= 10:
                assert point < line, (height, total)
            else:
                assert point > line, (height, total)


def test_no_score_outside_the_band_is_drawn_on_its_shading() -> None:
    inst = KB.instruments["phq9"]
    for total in range(0, 28):
        lines = plot(ChartSpec.from_series(inst, rows([16, total])), 10)
        point = next(i for i, text in enumerate(lines) if POINT in text[4:])
        if abs(total - 16) >= 5:  # reliable: never on the shaded rows
            assert BAND not in lines[point], total


def test_chart_marks_and_labels() -> None:
    spec = ChartSpec.from_series(KB.instruments["phq9"], rows([16, 14, 9, 4]))
    text = [t.plain for t in render_chart(spec, 78, 10)]
    assert len(text) == 12 and all(len(t) <= 78 for t in text)
    assert text[0].startswith("27 ┤") and text[9].startswith(" 0 ┤")
    assert value_rows(text, BASELINE) == [i for i, t in enumerate(text) if t.startswith("16 ┤")]
    assert "RC band" in text[value_rows(text, BASELINE)[0]]
    assert any("cut-off ≥10" in t for t in text)
    assert sum(t.count(POINT) for t in text) == 3
    assert text[10].count("┬") == 4
    assert text[11].split() == ["10-01", "10-08", "10-15", "10-22"]
    assert legend(spec) == ("◆ baseline 16  ● score  ░ ±5: no reliable change  "
                            "╌ clinical ≥10")


def test_instrument_without_change_figures_has_no_band_or_cutoff() -> None:
    spec = ChartSpec.from_series(KB.instruments["rses"], rows([20, 24], "rses"))
    text = [t.plain for t in render_chart(spec)]
    assert spec.band is None and spec.cutoff is None
    assert not any(BAND in t or CUTOFF in t for t in text)
    assert "no published change figures" in legend(spec)


def test_many_scores_keep_the_latest_that_fit() -> None:
    totals = [10 + (i % 5) for i in range(60)]
    spec = ChartSpec.from_series(KB.instruments["phq9"], rows(totals))
    text = [t.plain for t in render_chart(spec, 78, 10)]
    assert BASELINE not in "".join(text)  # the baseline scrolled off; its band stays
    points = sum(t.count(POINT) for t in text)
    assert 2 < points < 60
    assert all(len(t) <= 78 for t in text)


@pytest.mark.parametrize("n,width", [(1, 60), (2, 60), (5, 60), (30, 61)])
def test_columns_are_increasing_and_inside(n: int, width: int) -> None:
    cols = columns(n, width)
    assert len(cols) == n
    assert all(0 <= c < width for c in cols)
    assert cols == sorted(set(cols))


def test_change_cell_words() -> None:
    assert change_cell(None) == "baseline"
    assert change_cell({"change_class": "reliably_improved", "change": -12,
                        "recovered": True, "remission": False}) == \
        "reliably improved (-12), recovered"
    assert change_cell({"change_class": "no_reliable_change", "change": 3}) == \
        "no reliable change (+3)"


def test_scores_screen_from_the_client_page(make_app: Callable[[], PlanwiseApp],
                                            services: Services, plan_id: int) -> None:
    c = services.conn()
    client_id = c.one("SELECT client_id FROM plans WHERE id = ?", [plan_id])["client_id"]
    add_measure(c, client_id, "phq9", [1, 1, 0, 1, 0, 1, 0, 0, 0], "2026-12-10",
                services.kb.instruments)
    add_measure(c, client_id, "gad7", [1, 1, 1, 1, 1, 1, 1], "2026-12-10",
                services.kb.instruments)

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.open_client(client_id)
            await settle(app, pilot)
            await pilot.press("g")
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, ScoresScreen)
            assert screen.order[0] == "phq9"  # most scores first
            tabs = str(screen.query_one("#scores-tabs", Static).render())
            assert "[PHQ-9 (2)]" in tabs and "GAD-7 (1)" in tabs
            table = str(screen.query_one("#scores-rows", Static).render())
            first = table.splitlines()[0]
            assert first.startswith("2026-12-10      4  Minimal")
            assert "reliably improved (-12), recovered" in first
            assert "baseline" in table.splitlines()[-1]
            assert "lower is better" in screen.sub_title
            await pilot.press("right")
            await pilot.pause()
            tabs = str(screen.query_one("#scores-tabs", Static).render())
            order = screen.order
            assert f"[{services.kb.instruments[order[1]].name} (1)]" in tabs
            await pilot.press("left", "left")
            await pilot.pause()
            assert screen.current == len(order) - 1
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, ScoresScreen)

    run(go())


def test_tab_line_keeps_the_current_instrument_in_view() -> None:
    from planwise.tui.screens.scores import tab_line

    labels = [f"INSTR-{i} (3)" for i in range(10)]
    for current in range(10):
        text = tab_line(labels, current, 78).plain
        assert f"[INSTR-{current} (3)]" in text and len(text) <= 78
        assert text.startswith("< ") == ("INSTR-0 " not in text)
    assert tab_line(["PHQ-9 (5)", "GAD-7 (1)"], 1).plain == \
        " PHQ-9 (5)  [GAD-7 (1)] Left/Right: instrument"
    assert tab_line(["PHQ-9 (5)"], 0).plain == "[PHQ-9 (5)] "
