"""Instrument definitions and scoring: worked examples, input errors and the loader.

Every expected total below was worked out by hand from the scoring rules cited
in knowledge/instruments/<id>.toml.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from planwise.clinical.instrument_files import load_instruments
from planwise.clinical.instruments import Band, Instrument, ScoreResult
from planwise.errors import InputError, KnowledgeError
from planwise.paths import shipped_knowledge_dir

CONTRACT_IDS = {
    "phq9", "gad7", "audit", "audit_c", "dast10", "pcl5", "asq", "mdq",
    "pdss", "mini_spin", "msi_bpd", "rses", "pgsi", "dar5", "k10",
}  # fmt: skip
TEXT_ALLOWED = {"phq9", "gad7", "pcl5", "audit_c", "rses", "asq"}
SHIPPED = shipped_knowledge_dir() / "instruments"


@pytest.fixture(scope="module")
def cat() -> dict[str, Instrument]:
    return load_instruments()


def asq(**answers: bool) -> dict[str, bool]:
    base = {"wish_dead": False, "better_off_dead": False, "thoughts": False, "attempt_ever": False}
    return {**base, **answers}


def mdq(yes: int, same_period: bool, impairment: str) -> dict[str, object]:
    return {
        "symptoms": [True] * yes + [False] * (13 - yes),
        "same_period": same_period,
        "impairment": impairment,
    }


# --- the catalogue -----------------------------------------------------------


def test_catalogue_has_every_contract_instrument(cat):
    assert set(cat) == CONTRACT_IDS
    for inst_id, inst in cat.items():
        assert inst.id == inst_id
        assert inst.source and inst.licence and inst.title and inst.name


def test_ranges(cat):
    expected = {
        "phq9": (0, 27), "gad7": (0, 21), "audit": (0, 40), "audit_c": (0, 12),
        "dast10": (0, 10), "pcl5": (0, 80), "asq": (0, 4), "mdq": (0, 13), "pdss": (0, 28),
        "mini_spin": (0, 12), "msi_bpd": (0, 10), "rses": (0, 30), "pgsi": (0, 27),
        "dar5": (5, 25), "k10": (10, 50),
    }  # fmt: skip
    assert {k: (v.min_total, v.max_total) for k, v in cat.items()} == expected


def test_item_text_only_where_the_licence_allows(cat):
    for inst in cat.values():
        texts = [item.text for item in inst.items]
        if inst.id in TEXT_ALLOWED:
            assert inst.item_text_allowed, inst.id
            assert all(texts), inst.id
        else:
            assert not inst.item_text_allowed, inst.id
            assert texts == [None] * len(texts), inst.id
            assert [item.label for item in inst.items] == [
                f"Item {n}" for n in range(1, len(texts) + 1)
            ]
            assert "not shipped" in inst.licence or "left out" in inst.licence, inst.id


def test_items_and_options(cat):
    phq9 = cat["phq9"]
    assert [i.number for i in phq9.items] == list(range(1, 10))
    assert phq9.items[8].label.startswith("Thoughts that you would be better off dead")
    assert [(o.value, o.label) for o in phq9.options][0] == (0, "Not at all")
    assert phq9.critical_items == [9]
    assert cat["audit"].allowed_values(9) == [0, 2, 4]
    assert cat["audit"].allowed_values(8) == [0, 1, 2, 3, 4]
    assert cat["k10"].allowed_values(1) == [1, 2, 3, 4, 5]
    assert [i.key for i in cat["asq"].items] == [
        "wish_dead", "better_off_dead", "thoughts", "attempt_ever", "thoughts_now",
    ]  # fmt: skip


def test_band_for_edges(cat):
    phq9 = cat["phq9"]
    assert isinstance(phq9.band_for(0), Band)
    assert [phq9.band_for(t).name for t in (4, 5, 9, 10, 14, 15, 19, 20, 27)] == [
        "minimal", "mild", "mild", "moderate", "moderate",
        "moderately_severe", "moderately_severe", "severe", "severe",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        phq9.band_for(28)
    with pytest.raises(ValueError):
        cat["k10"].band_for(9)


# --- worked examples ---------------------------------------------------------


def check(inst: Instrument, answers, total: int, band: str, flags=()) -> ScoreResult:
    result = inst.score(answers)
    assert isinstance(result, ScoreResult)
    assert (result.instrument, result.total, result.band, result.flags) == (
        inst.id,
        total,
        band,
        list(flags),
    )
    assert result.band_label == next(b.label for b in inst.bands if b.name == band)
    return result


def test_phq9(cat):
    inst = cat["phq9"]
    check(inst, [2, 3, 2, 2, 1, 2, 2, 1, 1], 16, "moderately_severe", ["item9_positive"])
    check(inst, [1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild")
    check(inst, [0, 0, 0, 0, 0, 0, 0, 0, 1], 1, "minimal", ["item9_positive"])
    check(inst, [3] * 8 + [0], 24, "severe")
    check(inst, [2, 2, 2, 2, 2, 1, 1, 1, 0], 13, "moderate")


def test_phq9_result_is_frozen(cat):
    result = cat["phq9"].score([0] * 9)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        result.total = 3  # type: ignore[misc]


def test_gad7(cat):
    inst = cat["gad7"]
    check(inst, [0, 0, 1, 1, 1, 1, 0], 4, "minimal")
    check(inst, [1, 1, 1, 1, 1, 0, 0], 5, "mild")
    check(inst, [1, 2, 1, 2, 1, 2, 1], 10, "moderate")
    check(inst, [3, 3, 3, 2, 2, 1, 1], 15, "severe")


def test_audit_zones(cat):
    inst = cat["audit"]
    check(inst, [3, 3, 2, 2, 1, 0, 1, 2, 0, 2], 16, "harmful")
    check(inst, [1, 0, 0, 0, 0, 0, 0, 0, 2, 0], 3, "low_risk")
    check(inst, [2, 1, 1, 1, 1, 0, 0, 0, 0, 2], 8, "hazardous")
    check(inst, [2, 1, 1, 1, 1, 1, 0, 0, 4, 4], 15, "hazardous")
    check(inst, [4, 4, 4, 2, 2, 0, 2, 2, 0, 0], 20, "possible_dependence")
    check(inst, [4] * 10, 40, "possible_dependence")


@pytest.mark.parametrize("item,bad", [(9, 1), (9, 3), (10, 1), (10, 3)])
def test_audit_items_9_and_10_take_only_0_2_4(cat, item, bad):
    answers = [0] * 10
    answers[item - 1] = bad
    with pytest.raises(InputError) as err:
        cat["audit"].score(answers)
    assert err.value.field == f"instruments.audit[{item}]"
    assert str(err.value) == (
        f"instruments.audit[{item}]: AUDIT item {item} takes 0, 2 or 4, got {bad}"
    )


def test_audit_item_1_to_8_range(cat):
    with pytest.raises(InputError) as err:
        cat["audit"].score([5] + [0] * 9)
    assert str(err.value) == "instruments.audit[1]: answer 5 is out of range 0-4 for AUDIT item 1"


def test_audit_c(cat):
    inst = cat["audit_c"]
    check(inst, [0, 1, 1], 2, "negative")
    result = check(inst, [1, 1, 1], 3, "borderline")
    assert "women" in result.band_label
    check(inst, [2, 1, 1], 4, "positive")
    check(inst, [4, 4, 4], 12, "positive")


def test_dast10_reverse_scores_item_3(cat):
    inst = cat["dast10"]
    # All "no": item 3 ("no" to a healthy ability) scores 1.
    r = check(inst, [0] * 10, 1, "low")
    assert r.item_scores == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    # Only item 3 "yes": nothing counts.
    check(inst, [0, 0, 1, 0, 0, 0, 0, 0, 0, 0], 0, "none")
    r = check(inst, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0], 2, "low")
    assert r.item_scores[:3] == [1, 1, 0]
    check(inst, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "moderate")
    check(inst, [1, 1, 0, 1, 1, 1, 0, 0, 0, 0], 6, "substantial")
    check(inst, [1] * 10, 9, "severe")
    check(inst, [1, 1, 0, 1, 1, 1, 1, 1, 1, 1], 10, "severe")


def test_pcl5_cut_off_at_31(cat):
    inst = cat["pcl5"]
    check(inst, [2] * 10 + [1] * 10, 30, "below_threshold")
    check(inst, [2] * 11 + [1] * 9, 31, "provisional_ptsd")
    check(inst, [0] * 20, 0, "below_threshold")
    check(inst, [4] * 20, 80, "provisional_ptsd")


def test_asq(cat):
    inst = cat["asq"]
    check(inst, asq(), 0, "negative")
    r = check(inst, asq(wish_dead=True, thoughts=True), 2, "positive", ["positive"])
    assert r.item_scores == [1, 0, 1, 0]
    check(inst, asq(attempt_ever=True, thoughts_now=False), 1, "positive",
          ["positive", "attempt_ever"])
    check(inst, asq(thoughts=True, thoughts_now=True), 1, "acute", ["positive", "acute"])
    check(
        inst,
        asq(wish_dead=True, better_off_dead=True, thoughts=True, attempt_ever=True),
        4,
        "positive",
        ["positive", "attempt_ever"],
    )


def test_asq_acuity_yes_alone_is_positive_and_acute(cat):
    check(cat["asq"], asq(thoughts_now=True), 0, "acute", ["positive", "acute"])


def test_asq_thoughts_now_may_be_absent_or_null(cat):
    assert cat["asq"].score(asq(wish_dead=True)).band == "positive"
    assert cat["asq"].score({**asq(), "thoughts_now": None}).band == "negative"


def test_mdq_three_part_rule(cat):
    inst = cat["mdq"]
    check(inst, mdq(7, False, "serious"), 7, "negative")
    check(inst, mdq(7, True, "minor"), 7, "negative")
    check(inst, mdq(7, True, "none"), 7, "negative")
    check(inst, mdq(7, True, "moderate"), 7, "positive", ["positive"])
    check(inst, mdq(13, True, "serious"), 13, "positive", ["positive"])
    check(inst, mdq(6, True, "serious"), 6, "negative")
    check(inst, mdq(0, False, "none"), 0, "negative")


def test_pdss(cat):
    inst = cat["pdss"]
    check(inst, [0, 0, 0, 0, 0, 0, 1], 1, "normal")
    check(inst, [1, 1, 0, 0, 0, 0, 0], 2, "borderline")
    check(inst, [1] * 7, 7, "slightly_ill")
    check(inst, [2, 2, 2, 2, 2, 0, 0], 10, "moderately_ill")
    check(inst, [2] * 7, 14, "markedly_ill")


def test_mini_spin(cat):
    check(cat["mini_spin"], [2, 2, 1], 5, "below_threshold")
    check(cat["mini_spin"], [2, 2, 2], 6, "probable_social_anxiety")


def test_msi_bpd(cat):
    check(cat["msi_bpd"], [1] * 6 + [0] * 4, 6, "negative")
    check(cat["msi_bpd"], [1] * 7 + [0] * 3, 7, "positive")


def test_rses_reverses_items_2_5_6_8_9(cat):
    inst = cat["rses"]
    assert inst.reverse_items == [2, 5, 6, 8, 9]
    # Agrees strongly with every positive statement, disagrees strongly with every negative one.
    r = check(inst, [3, 0, 3, 3, 0, 0, 3, 0, 0, 3], 30, "normal_range")
    assert r.item_scores == [3] * 10
    # "Strongly agree" to everything: 5 x 3 + 5 x 0.
    r = check(inst, [3] * 10, 15, "normal_range")
    assert r.item_scores == [3, 0, 3, 3, 0, 0, 3, 0, 0, 3]
    # Disagrees with the positive statements (1), agrees with the negative ones (2 -> 1).
    check(inst, [1, 2, 1, 1, 2, 2, 1, 2, 2, 1], 10, "low")
    check(inst, [2, 1, 1, 1, 2, 2, 2, 2, 2, 2], 14, "low")
    check(inst, [2, 1, 2, 1, 2, 2, 2, 2, 2, 2], 15, "normal_range")


def test_pgsi(cat):
    inst = cat["pgsi"]
    check(inst, [0] * 9, 0, "non_problem")
    check(inst, [1, 1] + [0] * 7, 2, "low_risk")
    check(inst, [1] * 7 + [0, 0], 7, "moderate_risk")
    check(inst, [1] * 8 + [0], 8, "problem")


def test_dar5(cat):
    check(cat["dar5"], [1] * 5, 5, "below_threshold")
    check(cat["dar5"], [2, 2, 2, 2, 3], 11, "below_threshold")
    check(cat["dar5"], [2, 2, 2, 3, 3], 12, "problem_anger")


def test_k10(cat):
    inst = cat["k10"]
    check(inst, [1] * 10, 10, "low")
    check(inst, [2] * 5 + [1] * 5, 15, "low")
    check(inst, [2] * 6 + [1] * 4, 16, "moderate")
    check(inst, [3] * 7 + [1] * 3, 24, "high")
    check(inst, [3] * 10, 30, "very_high")


# --- input errors ------------------------------------------------------------


def error_of(inst: Instrument, answers, **kw) -> InputError:
    with pytest.raises(InputError) as err:
        inst.score(answers, **kw)
    assert not isinstance(err.value, KnowledgeError)
    return err.value


def test_wrong_count(cat):
    err = error_of(cat["audit"], [0] * 9)
    assert err.field == "instruments.audit"
    assert str(err) == "instruments.audit: expected 10 answers, got 9"
    assert error_of(cat["phq9"], [0] * 10).message == "expected 9 answers, got 10"


def test_out_of_range_names_instrument_and_item(cat):
    err = error_of(cat["phq9"], [0, 0, 5, 0, 0, 0, 0, 0, 0])
    assert err.field == "instruments.phq9[3]"
    assert str(err) == "instruments.phq9[3]: answer 5 is out of range 0-3 for PHQ-9 item 3"
    err = error_of(cat["k10"], [1] * 9 + [0])
    assert str(err) == "instruments.k10[10]: answer 0 is out of range 1-5 for K10 item 10"
    assert error_of(cat["gad7"], [0, -1, 0, 0, 0, 0, 0]).field == "instruments.gad7[2]"


@pytest.mark.parametrize("inst_id,n", [("phq9", 9), ("msi_bpd", 10), ("dast10", 10)])
def test_bool_is_not_an_int(cat, inst_id, n):
    answers: list[object] = [0] * n
    answers[1] = True
    err = error_of(cat[inst_id], answers)
    assert err.field == f"instruments.{inst_id}[2]"
    assert "got true" in err.message and f"{cat[inst_id].name} item 2" in err.message


@pytest.mark.parametrize("bad", [1.0, "2", None, [1]])
def test_non_integers_rejected(cat, bad):
    err = error_of(cat["gad7"], [0, 0, 0, bad, 0, 0, 0])
    assert err.field == "instruments.gad7[4]"


def test_field_prefix(cat):
    err = error_of(cat["phq9"], [0] * 8 + [4], field_prefix="intake.instruments.phq9")
    assert err.field == "intake.instruments.phq9[9]"


def test_wrong_shape(cat):
    assert error_of(cat["phq9"], {"a": 1}).field == "instruments.phq9"
    assert error_of(cat["phq9"], "012301230").field == "instruments.phq9"
    assert error_of(cat["asq"], [True, False, True, False]).field == "instruments.asq"
    assert error_of(cat["mdq"], [True] * 13).field == "instruments.mdq"


def test_asq_errors(cat):
    err = error_of(cat["asq"], {**asq(), "foo": True})
    assert err.field == "instruments.asq.foo"
    assert str(err).startswith("instruments.asq.foo: unknown ASQ answer 'foo'")
    err = error_of(cat["asq"], {**asq(), "wish_dead": 1})
    assert err.field == "instruments.asq.wish_dead"
    assert "ASQ item 1 (wish_dead) takes true or false, got 1" in err.message
    answers = asq()
    del answers["attempt_ever"]
    err = error_of(cat["asq"], answers)
    assert err.field == "instruments.asq.attempt_ever"
    assert "ASQ item 4" in err.message
    err = error_of(cat["asq"], {**asq(), "thoughts_now": "yes"})
    assert err.field == "instruments.asq.thoughts_now"
    assert "ASQ item 5" in err.message


def test_mdq_errors(cat):
    inst = cat["mdq"]
    err = error_of(inst, {**mdq(7, True, "serious"), "symptoms": [True] * 12})
    assert err.field == "instruments.mdq.symptoms"
    assert "expected 13" in err.message
    symptoms: list[object] = [True] * 13
    symptoms[3] = 1
    err = error_of(inst, {**mdq(7, True, "serious"), "symptoms": symptoms})
    assert err.field == "instruments.mdq.symptoms[4]"
    assert "MDQ item 4" in err.message
    err = error_of(inst, mdq(7, True, "severe"))
    assert err.field == "instruments.mdq.impairment"
    assert "none, minor, moderate, serious" in err.message
    err = error_of(inst, {**mdq(7, True, "serious"), "same_period": "yes"})
    assert err.field == "instruments.mdq.same_period"
    err = error_of(inst, {**mdq(7, True, "serious"), "family": True})
    assert err.field == "instruments.mdq.family"
    assert "unknown MDQ answer 'family'" in err.message
    answers = mdq(7, True, "serious")
    del answers["same_period"]
    assert error_of(inst, answers).field == "instruments.mdq.same_period"


# --- the loader --------------------------------------------------------------


def clinic_copy(tmp_path: Path, inst_id: str, edit=None, name: str | None = None) -> Path:
    folder = tmp_path / "clinic" / "instruments"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name or inst_id}.toml"
    shutil.copy(SHIPPED / f"{inst_id}.toml", target)
    if edit:
        target.write_text(edit(target.read_text(encoding="utf-8")), encoding="utf-8")
    return target


def line_of(path: Path, pattern: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.search(pattern, line):
            return number
    raise AssertionError(pattern)


def knowledge_error(tmp_path: Path) -> KnowledgeError:
    with pytest.raises(KnowledgeError) as err:
        load_instruments([tmp_path / "clinic"])
    return err.value


def test_override_by_id_replaces_the_shipped_one(tmp_path):
    clinic_copy(
        tmp_path,
        "phq9",
        lambda t: t.replace('label = "Moderate (10-14)"', 'label = "Moderate, clinic wording"'),
    )
    catalog = load_instruments([tmp_path / "clinic"])
    assert set(catalog) == CONTRACT_IDS
    assert catalog["phq9"].band_for(12).label == "Moderate, clinic wording"
    assert catalog["phq9"].score([2] * 6 + [0] * 3).band_label == "Moderate, clinic wording"
    # The shipped catalogue is untouched.
    assert load_instruments()["phq9"].band_for(12).label == "Moderate (10-14)"


def test_later_extra_dir_wins(tmp_path):
    first = tmp_path / "a" / "instruments"
    second = tmp_path / "b" / "instruments"
    for folder, title in ((first, "First"), (second, "Second")):
        folder.mkdir(parents=True)
        text = (SHIPPED / "gad7.toml").read_text(encoding="utf-8")
        text = text.replace(
            'title = "Generalized Anxiety Disorder 7-item scale"', f'title = "{title}"'
        )
        (folder / "gad7.toml").write_text(text, encoding="utf-8")
    assert load_instruments([tmp_path / "a", tmp_path / "b"])["gad7"].title == "Second"
    assert load_instruments([tmp_path / "b", tmp_path / "a"])["gad7"].title == "First"


def test_extra_dir_without_instruments_folder_is_fine(tmp_path):
    assert set(load_instruments([tmp_path])) == CONTRACT_IDS


def test_clinic_can_add_a_scoring_only_instrument(tmp_path):
    folder = tmp_path / "clinic" / "instruments"
    folder.mkdir(parents=True)
    (folder / "who5.toml").write_text(
        """
id = "who5"
name = "WHO-5"
title = "WHO-5 Well-Being Index"
source = "Clinic test entry"
licence = "Scoring only"
item_text_allowed = false
options = [{ value = 0, label = "At no time" }, { value = 5, label = "All of the time" }]

[scoring]
kind = "sum"
items = 5
min_total = 0
max_total = 25

[[bands]]
name = "low"
label = "Low"
min = 0
max = 12

[[bands]]
name = "ok"
label = "OK"
min = 13
max = 25
""",
        encoding="utf-8",
    )
    inst = load_instruments([tmp_path / "clinic"])["who5"]
    assert [item.label for item in inst.items] == [f"Item {n}" for n in range(1, 6)]
    assert inst.score([5, 5, 0, 0, 0]).band == "low"
    assert error_of(inst, [1, 0, 0, 0, 0]).message == "WHO-5 item 1 takes 0 or 5, got 1"


def test_overlapping_bands(tmp_path):
    path = clinic_copy(
        tmp_path,
        "phq9",
        lambda t: t.replace(
            'label = "Moderate (10-14)"\nmin = 10', 'label = "Moderate (10-14)"\nmin = 9'
        ),
    )
    err = knowledge_error(tmp_path)
    assert err.file == str(path)
    assert err.entry == "phq9"
    assert err.line == line_of(path, r"^min = 9$")
    assert "overlaps" in err.message and "moderate" in err.message
    assert str(err).startswith(f"{path}:{err.line}: phq9.bands[2].min: ")


def test_gap_between_bands(tmp_path):
    path = clinic_copy(
        tmp_path,
        "gad7",
        lambda t: t.replace(
            'label = "Severe (15-21)"\nmin = 15', 'label = "Severe (15-21)"\nmin = 16'
        ),
    )
    err = knowledge_error(tmp_path)
    assert "gap" in err.message
    assert (err.file, err.entry, err.line) == (str(path), "gad7", line_of(path, r"^min = 16$"))


def test_bands_must_reach_max_total(tmp_path):
    path = clinic_copy(tmp_path, "gad7", lambda t: t.replace("max = 21", "max = 20"))
    err = knowledge_error(tmp_path)
    assert "end at 20" in err.message
    assert err.entry == "gad7" and err.file == str(path) and err.line is not None


def test_unknown_key(tmp_path):
    path = clinic_copy(
        tmp_path, "pcl5", lambda t: t.replace("[scoring]\n", "[scoring]\ncolour = 1\n")
    )
    err = knowledge_error(tmp_path)
    assert err.message == "unknown key 'colour'"
    assert (err.file, err.entry, err.line) == (str(path), "pcl5", line_of(path, r"^colour = 1$"))
    assert err.field == "pcl5.scoring.colour"


def test_unknown_key_in_a_band(tmp_path):
    path = clinic_copy(
        tmp_path, "k10", lambda t: t.replace("max = 21\n", "max = 21\ncolor = 'x'\n")
    )
    err = knowledge_error(tmp_path)
    assert err.message == "unknown key 'color'"
    assert err.line == line_of(path, r"^color = 'x'$")


def test_wrong_type(tmp_path):
    path = clinic_copy(tmp_path, "dar5", lambda t: t.replace("min = 12", 'min = "twelve"'))
    err = knowledge_error(tmp_path)
    assert err.entry == "dar5" and err.line == line_of(path, r'^min = "twelve"$')


def test_missing_key(tmp_path):
    clinic_copy(tmp_path, "pgsi", lambda t: t.replace("item_text_allowed = false\n", ""))
    err = knowledge_error(tmp_path)
    assert "item_text_allowed" in err.message and err.entry == "pgsi"


def test_item_text_when_not_allowed(tmp_path):
    path = clinic_copy(
        tmp_path,
        "phq9",
        lambda t: t.replace("item_text_allowed = true", "item_text_allowed = false"),
    )
    err = knowledge_error(tmp_path)
    assert "item_text_allowed is false" in err.message
    assert err.line == line_of(path, r"^text = \"Little interest")


def test_declared_range_must_match_the_items(tmp_path):
    path = clinic_copy(tmp_path, "k10", lambda t: t.replace("min_total = 10", "min_total = 0"))
    err = knowledge_error(tmp_path)
    assert "10-50" in err.message and err.line == line_of(path, r"^min_total = 0$")


def test_file_name_must_match_id(tmp_path):
    clinic_copy(tmp_path, "phq9", name="myphq")
    err = knowledge_error(tmp_path)
    assert "file name" in err.message and err.entry == "phq9"


def test_invalid_toml(tmp_path):
    path = clinic_copy(tmp_path, "phq9", lambda t: t.replace('name = "PHQ-9"', "name = PHQ-9"))
    err = knowledge_error(tmp_path)
    assert err.file == str(path) and err.line == line_of(path, r"^name = PHQ-9$")


def test_flag_band_must_name_a_declared_flag(tmp_path):
    path = clinic_copy(
        tmp_path, "asq", lambda t: t.replace('when_flag = "acute"', 'when_flag = "urgent"')
    )
    err = knowledge_error(tmp_path)
    assert "urgent" in err.message and err.line == line_of(path, r'^when_flag = "urgent"$')


def test_kind_flags_must_be_declared(tmp_path):
    clinic_copy(
        tmp_path,
        "mdq",
        lambda t: t.replace('name = "positive"\ndescription', 'name = "pos"\ndescription'),
    )
    err = knowledge_error(tmp_path)
    assert err.entry == "mdq" and "declare exactly those" in err.message


def test_asq_item_flag_is_raised_by_a_yes_to_its_question(cat):
    inst = cat["asq"]
    assert "attempt_ever" in inst.score(asq(attempt_ever=True)).flags
    assert "attempt_ever" not in inst.score(asq(wish_dead=True, thoughts=True)).flags


def test_asq_added_flag_must_name_one_item_answered_yes(tmp_path):
    clinic_copy(tmp_path, "asq", lambda t: t.replace("item = 4\nat_least = 1\n", ""))
    err = knowledge_error(tmp_path)
    assert err.entry == "asq" and "names one item" in err.message


def test_asq_built_in_flags_stay_required(tmp_path):
    clinic_copy(
        tmp_path,
        "asq",
        lambda t: t.replace('name = "acute"\ndescription', 'name = "urgent"\ndescription'),
    )
    err = knowledge_error(tmp_path)
    assert err.entry == "asq" and "positive, acute" in err.message


def test_no_ui_or_engine_imports():
    code = (
        "import sys, planwise.clinical.instrument_files as m; m.load_instruments();"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('textual', 'durable')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    src = Path(__file__).resolve().parent.parent / "src"
    done = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": str(src)}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_documented_example_file_loads(tmp_path):
    doc = Path(__file__).resolve().parent.parent / "docs" / "instruments.md"
    block = re.search(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert block is not None
    folder = tmp_path / "clinic" / "instruments"
    folder.mkdir(parents=True)
    (folder / "who5.toml").write_text(block.group(1), encoding="utf-8")
    inst = load_instruments([tmp_path / "clinic"])["who5"]
    result = inst.score([5, 5, 5, 0, 5])
    assert (result.total, result.band, result.flags) == (20, "ok", ["item5_high"])
