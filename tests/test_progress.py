"""Change between two totals: worked examples per instrument, load-time checks, properties."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from planwise.clinical.instrument_files import load_instruments
from planwise.clinical.instruments import (
    ChangeRules,
    Cutoff,
    Instrument,
    ReliableChange,
    Remission,
    Response,
)
from planwise.clinical.progress import Z_RELIABLE, ChangeResult, classify, reliable_threshold
from planwise.errors import InputError, KnowledgeError
from planwise.paths import shipped_knowledge_dir

CATALOG = load_instruments()
WITH_CHANGE = sorted(k for k, inst in CATALOG.items() if inst.change is not None)
WITHOUT_CHANGE = sorted(k for k, inst in CATALOG.items() if inst.change is None)

# Invented figures for a clinic's RSES override: they exercise the higher-is-better
# direction and the Jacobson-Truax inputs, and are not clinical guidance.
RSES_CHANGE = """
[change]
lower_is_better = false

[change.reliable]
sd = 5.0
reliability = 0.85
source = "Test figures"

[change.cutoff]
clinical_at_most = 14
source = "Test convention"

[change.remission]
above = 19
source = "Test figures"
"""


def c(inst_id: str, baseline: int, current: int) -> ChangeResult:
    return classify(CATALOG[inst_id], baseline, current)


def clinic_rses(tmp_path: Path, table: str = RSES_CHANGE) -> Path:
    folder = tmp_path / "instruments"
    folder.mkdir(parents=True, exist_ok=True)
    shipped = (shipped_knowledge_dir() / "instruments" / "rses.toml").read_text()
    (folder / "rses.toml").write_text(shipped + table)
    return tmp_path


# --- knowledge ---------------------------------------------------------------


def test_instruments_with_published_change_figures():
    assert WITH_CHANGE == ["gad7", "k10", "pcl5", "phq9"]
    for inst_id in WITH_CHANGE:
        change = CATALOG[inst_id].change
        assert change is not None and change.lower_is_better
        assert change.reliable.source


def test_shipped_figures():
    phq9, gad7, pcl5, k10 = (CATALOG[k].change for k in ("phq9", "gad7", "pcl5", "k10"))
    assert phq9 and gad7 and pcl5 and k10
    assert phq9.reliable.points == 5 and phq9.cutoff and phq9.cutoff.clinical_at_least == 10
    assert phq9.response and phq9.response.percent == 50
    assert phq9.remission and phq9.remission.below == 5
    assert gad7.reliable.points == 6 and gad7.cutoff and gad7.cutoff.clinical_at_least == 10
    assert pcl5.reliable.points == 10 and pcl5.response and pcl5.response.points == 5
    # The PCL-5 cut-off is the same as the start of its provisional_ptsd band.
    assert pcl5.cutoff and pcl5.cutoff.clinical_at_least == CATALOG["pcl5"].band_for(31).min
    assert k10.reliable.points == 7 and k10.cutoff is None


# --- worked examples ----------------------------------------------------------


def test_phq9_20_to_8_improved_response_recovered():
    r = c("phq9", 20, 8)
    assert (r.change, r.improvement, r.change_class) == (-12, 12, "reliably_improved")
    assert r.recovered is True and r.response is True and r.remission is False
    assert r.threshold == 5 and r.rc_index is None
    assert "at least 5 points" in r.explain and "Löwe" in r.explain
    assert "Recovered: yes" in r.explain and "Response: yes" in r.explain


def test_phq9_20_to_17_no_reliable_change():
    r = c("phq9", 20, 17)
    assert r.change_class == "no_reliable_change"
    assert (r.recovered, r.response, r.remission) == (False, False, False)


def test_phq9_10_to_16_deteriorated():
    r = c("phq9", 10, 16)
    assert r.change_class == "reliably_deteriorated" and r.improvement == -6
    assert (r.recovered, r.response, r.remission) == (False, False, False)
    assert "6 points worse" in r.explain


def test_phq9_12_to_4_remission():
    r = c("phq9", 12, 4)
    assert r.remission is True and r.response is True and r.recovered is True
    assert "total below 5" in r.explain


def test_phq9_edges():
    assert c("phq9", 14, 9).change_class == "reliably_improved"  # exactly 5: reliable
    assert c("phq9", 14, 10).change_class == "no_reliable_change"  # 4: not
    # Reliably improved but still in the clinical range: not recovered.
    r = c("phq9", 27, 15)
    assert r.change_class == "reliably_improved" and r.recovered is False
    assert "still in the clinical range" in r.explain
    # Below the cut-off at baseline: improvement, but no recovery to claim.
    r = c("phq9", 9, 2)
    assert r.change_class == "reliably_improved" and r.recovered is False
    # Response is exactly half; no response from the best possible score.
    assert c("phq9", 10, 5).response is True and c("phq9", 10, 6).response is False
    assert c("phq9", 0, 0).response is False


def test_gad7():
    r = c("gad7", 15, 8)
    assert r.change_class == "reliably_improved" and r.recovered is True
    assert r.response is None and r.remission is None
    assert "Bischoff" in r.explain and "No response or remission definition" in r.explain
    # 4 points is the MCID, not reliable change by the chosen figure.
    assert c("gad7", 12, 8).change_class == "no_reliable_change"
    assert c("gad7", 6, 12).change_class == "reliably_deteriorated"


def test_pcl5_response_without_reliable_change():
    r = c("pcl5", 50, 44)
    assert r.change_class == "no_reliable_change" and r.response is True
    assert r.recovered is False and r.remission is None
    r = c("pcl5", 45, 25)
    assert r.change_class == "reliably_improved" and r.recovered is True
    assert c("pcl5", 40, 30).recovered is True  # 30 is below the cut-off of 31
    assert c("pcl5", 41, 31).recovered is False


def test_k10_reliable_change_only():
    r = c("k10", 30, 23)
    assert r.change_class == "reliably_improved"
    assert (r.recovered, r.response, r.remission) == (None, None, None)
    assert "Secondary source" in r.explain and "recovery is not classified" in r.explain
    assert c("k10", 30, 24).change_class == "no_reliable_change"


@pytest.mark.parametrize("inst_id", WITHOUT_CHANGE)
def test_without_change_data_not_classified(inst_id):
    inst = CATALOG[inst_id]
    r = classify(inst, inst.min_total, inst.max_total)
    assert r.change_class == "not_classified" and not r.classified and not r.reliable
    assert r.change == inst.max_total - inst.min_total
    assert (r.improvement, r.threshold, r.rc_index) == (None, None, None)
    assert (r.recovered, r.response, r.remission) == (None, None, None)
    assert "not classified" in r.explain and inst.name in r.explain


def test_result_is_frozen():
    r = c("phq9", 20, 8)
    with pytest.raises(ValueError):
        r.change = 0  # type: ignore[misc]


def test_rses_direction_reversed_clinic_override(tmp_path):
    rses = load_instruments(extra_dirs=[clinic_rses(tmp_path)])["rses"]
    assert rses.change is not None and not rses.change.lower_is_better
    s_diff = math.sqrt(2) * 5.0 * math.sqrt(1 - 0.85)
    up = classify(rses, 10, 20)
    assert up.change_class == "reliably_improved" and up.improvement == 10
    assert up.recovered is True and up.remission is True
    assert up.rc_index == pytest.approx(10 / s_diff)
    assert up.threshold == pytest.approx(Z_RELIABLE * s_diff)
    assert "higher scores are better" in up.explain and "Jacobson-Truax" in up.explain
    down = classify(rses, 20, 10)
    assert down.change_class == "reliably_deteriorated" and down.improvement == -10
    assert down.rc_index == pytest.approx(-10 / s_diff)
    assert down.recovered is False and down.remission is False
    # 1.96 * S_diff is about 5.37: 5 points is inside it, 6 is not.
    assert classify(rses, 12, 17).change_class == "no_reliable_change"
    assert classify(rses, 12, 18).change_class == "reliably_improved"
    assert classify(rses, 12, 18).recovered is True
    assert classify(rses, 8, 14).recovered is False  # 14 is still in the clinical range


def test_points_decide_when_both_given(tmp_path):
    table = RSES_CHANGE.replace("[change.reliable]\n", "[change.reliable]\npoints = 8\n")
    rses = load_instruments(extra_dirs=[clinic_rses(tmp_path, table)])["rses"]
    r = classify(rses, 10, 17)
    assert r.change_class == "no_reliable_change" and r.rc_index is not None
    assert r.rc_index > Z_RELIABLE  # reported, but the published threshold decides
    assert classify(rses, 10, 18).change_class == "reliably_improved"


@pytest.mark.parametrize(
    ("baseline", "current", "field"),
    [(-1, 5, "baseline"), (5, 28, "current"), (True, 5, "baseline"), (5, 2.0, "current")],
)
def test_totals_are_checked(baseline, current, field):
    with pytest.raises(InputError) as err:
        classify(CATALOG["phq9"], baseline, current)
    assert err.value.field == f"progress.phq9.{field}"
    assert not isinstance(err.value, KnowledgeError)


# --- load-time checks ----------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("sd = 5.0", "sd = 0", "rses.change.reliable.sd", "greater than 0"),
        ("sd = 5.0\n", "", "rses.change.reliable.sd", "both sd and reliability"),
        ("reliability = 0.85", "reliability = 1.0", "rses.change.reliable.reliability", "less"),
        ("sd = 5.0", "sd = 50.0", "rses.change.reliable.sd", "can never happen"),
        ("sd = 5.0", "sd = 5.0\npoints = -2", "rses.change.reliable.points", "greater than 0"),
        ("clinical_at_most = 14", "clinical_at_most = 30", "rses.change.cutoff", "below 30"),
        ("clinical_at_most = 14", "clinical_at_least = 14", "rses.change.cutoff", "higher"),
        ("above = 19", "below = 19", "rses.change.remission", "above a score"),
        ("lower_is_better = false", "lower_is_better = 0", "rses.change.lower_is_better", "bool"),
        (
            "lower_is_better = false",
            "lower_is_beter = false",
            "rses.change.lower_is_better",
            "missing",
        ),
        (
            "[change.cutoff]\n",
            "[change.cutoff]\nscore = 3\n",
            "rses.change.cutoff.score",
            "unknown key",
        ),
    ],
)
def test_broken_change_table_names_file_id_field_line(tmp_path, old, new, field, words):
    assert old in RSES_CHANGE
    clinic = clinic_rses(tmp_path, RSES_CHANGE.replace(old, new))
    with pytest.raises(KnowledgeError) as err:
        load_instruments(extra_dirs=[clinic])
    e = err.value
    assert e.file and e.file.endswith("rses.toml") and e.entry == "rses"
    assert e.field and e.field.startswith(field), e.field
    assert words in e.message, e.message
    assert e.line is not None
    text = (clinic / "instruments" / "rses.toml").read_text().splitlines()
    assert "change" in "\n".join(text[e.line - 3 : e.line])  # points into the [change] part


def test_response_needs_exactly_one_definition(tmp_path):
    table = RSES_CHANGE + '\n[change.response]\npercent = 50\npoints = 3\nsource = "x"\n'
    with pytest.raises(KnowledgeError, match="exactly one of percent and points"):
        load_instruments(extra_dirs=[clinic_rses(tmp_path, table)])


def test_broken_line_is_the_key(tmp_path):
    clinic = clinic_rses(tmp_path, RSES_CHANGE.replace("sd = 5.0", "sd = -1.0"))
    with pytest.raises(KnowledgeError) as err:
        load_instruments(extra_dirs=[clinic])
    lines = (clinic / "instruments" / "rses.toml").read_text().splitlines()
    assert err.value.line is not None and lines[err.value.line - 1] == "sd = -1.0"
    assert str(err.value).startswith(f"{clinic / 'instruments' / 'rses.toml'}:{err.value.line}")


# --- properties ----------------------------------------------------------------


@st.composite
def rules_for(draw: st.DrawFn, inst: Instrument) -> ChangeRules:
    """Any valid [change] table for `inst`: published points or Jacobson-Truax inputs."""
    lo, hi = inst.min_total, inst.max_total
    span = hi - lo
    lower = draw(st.booleans())
    if draw(st.booleans()):
        reliable = ReliableChange(
            points=draw(st.floats(0.5, span - 0.5, allow_nan=False)), source="s"
        )
    else:
        reliable = ReliableChange(
            sd=draw(st.floats(0.2, span / 4, allow_nan=False)),
            reliability=draw(st.floats(0.05, 0.99, allow_nan=False)),
            source="s",
        )
    if lower:
        cutoff = Cutoff(clinical_at_least=draw(st.integers(lo + 1, hi)), source="s")
        remission = Remission(below=draw(st.integers(lo + 1, hi)), source="s")
    else:
        cutoff = Cutoff(clinical_at_most=draw(st.integers(lo, hi - 1)), source="s")
        remission = Remission(above=draw(st.integers(lo, hi - 1)), source="s")
    response = draw(
        st.sampled_from(
            [
                Response(percent=50, source="s"),
                Response(points=max(1, span // 4), source="s"),
                None,
            ]
        )
    )
    return ChangeRules(
        lower_is_better=lower,
        reliable=reliable,
        cutoff=draw(st.sampled_from([cutoff, None])),
        response=response,
        remission=draw(st.sampled_from([remission, None])),
    )


@st.composite
def case(draw: st.DrawFn) -> tuple[Instrument, int, int]:
    """A shipped instrument with data, or any instrument with generated figures, and 2 totals."""
    inst = CATALOG[draw(st.sampled_from(sorted(CATALOG)))]
    if inst.change is None or draw(st.booleans()):
        inst = inst.model_copy(update={"change": draw(rules_for(inst))})
    x1 = draw(st.integers(inst.min_total, inst.max_total))
    x2 = draw(st.integers(inst.min_total, inst.max_total))
    return inst, x1, x2


@settings(max_examples=400, deadline=None)
@given(case())
def test_change_inside_threshold_is_never_reliable(args):
    inst, x1, x2 = args
    assert inst.change is not None
    threshold, inclusive = reliable_threshold(inst.change)
    assume(abs(x2 - x1) < threshold)
    r = classify(inst, x1, x2)
    assert r.change_class == "no_reliable_change"
    assert r.recovered in (False, None)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(WITH_CHANGE), st.data())
def test_shipped_change_inside_threshold_is_never_reliable(inst_id, data):
    inst = CATALOG[inst_id]
    assert inst.change is not None
    x1 = data.draw(st.integers(inst.min_total, inst.max_total))
    threshold, _ = reliable_threshold(inst.change)
    room = math.ceil(threshold) - 1  # the largest whole change strictly inside
    x2 = data.draw(st.integers(max(inst.min_total, x1 - room), min(inst.max_total, x1 + room)))
    assert classify(inst, x1, x2).change_class == "no_reliable_change"


@settings(max_examples=400, deadline=None)
@given(case())
def test_classification_is_antisymmetric(args):
    inst, x1, x2 = args
    forward, back = classify(inst, x1, x2), classify(inst, x2, x1)
    assert (forward.change_class == "reliably_improved") == (
        back.change_class == "reliably_deteriorated"
    )
    assert (forward.change_class == "reliably_deteriorated") == (
        back.change_class == "reliably_improved"
    )
    assert (forward.change_class == "no_reliable_change") == (
        back.change_class == "no_reliable_change"
    )
    assert forward.change == -back.change
    if forward.rc_index is not None:
        assert back.rc_index == pytest.approx(-forward.rc_index)


@settings(max_examples=400, deadline=None)
@given(case())
def test_recovered_implies_reliably_improved_across_the_cut_off(args):
    inst, x1, x2 = args
    r = classify(inst, x1, x2)
    ch = inst.change
    assert ch is not None
    assert (r.recovered is None) == (ch.cutoff is None)
    if r.recovered:
        assert r.change_class == "reliably_improved" and r.improvement and r.improvement > 0
        assert ch.cutoff is not None
        if ch.cutoff.clinical_at_least is not None:
            assert x1 >= ch.cutoff.clinical_at_least > x2
        else:
            assert ch.cutoff.clinical_at_most is not None
            assert x1 <= ch.cutoff.clinical_at_most < x2
    if r.change_class == "reliably_improved":
        assert r.improvement is not None and r.improvement > 0
    if r.rc_index is not None and ch.reliable.points is None:
        assert (abs(r.rc_index) > Z_RELIABLE) == r.reliable
    assert r.explain


@settings(max_examples=200, deadline=None)
@given(case())
def test_response_never_without_improvement(args):
    inst, x1, x2 = args
    r = classify(inst, x1, x2)
    if r.response:
        assert r.improvement is not None and r.improvement > 0
