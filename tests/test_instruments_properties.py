"""Property tests: bands cover every total once; any valid answers score in range."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planwise.clinical.instrument_files import load_instruments
from planwise.clinical.instruments import Instrument
from planwise.errors import InputError

CATALOG = load_instruments()
IDS = sorted(CATALOG)


def valid_answers(inst: Instrument) -> st.SearchStrategy:
    if inst.kind == "asq":
        required = {
            item.key: st.booleans() for item in inst.items if item.number != inst.scoring.acute_item
        }
        acute_key = inst.item(inst.scoring.acute_item).key
        return st.fixed_dictionaries(required, optional={acute_key: st.booleans() | st.none()})
    if inst.kind == "mdq":
        return st.fixed_dictionaries(
            {
                "symptoms": st.lists(
                    st.booleans(), min_size=inst.scoring.items, max_size=inst.scoring.items
                ),
                "same_period": st.booleans(),
                "impairment": st.sampled_from(inst.scoring.impairment_levels),
            }
        )
    return st.tuples(
        *(st.sampled_from(inst.allowed_values(n)) for n in range(1, inst.scoring.items + 1))
    ).map(list)


@pytest.mark.parametrize("inst_id", IDS)
def test_every_total_falls_in_exactly_one_plain_band(inst_id):
    inst = CATALOG[inst_id]
    plain = [b for b in inst.bands if b.when_flag is None]
    for total in range(inst.min_total, inst.max_total + 1):
        hits = [b.name for b in plain if b.min <= total <= b.max]
        assert len(hits) == 1, (inst_id, total, hits)
        assert inst.band_for(total).name == hits[0]
    assert min(b.min for b in plain) == inst.min_total
    assert max(b.max for b in plain) == inst.max_total


@pytest.mark.parametrize("inst_id", IDS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_valid_answers_score_in_range(inst_id, data):
    inst = CATALOG[inst_id]
    answers = data.draw(valid_answers(inst))
    result = inst.score(answers)
    assert inst.min_total <= result.total <= inst.max_total
    assert sum(result.item_scores) == result.total
    assert result.band == inst.band_for(result.total, result.flags).name
    assert result.band_label == inst.band_for(result.total, result.flags).label
    assert set(result.flags) <= {f.name for f in inst.flags}
    if inst.kind == "sum":
        assert len(result.item_scores) == inst.scoring.items
        for n, (answer, scored) in enumerate(zip(answers, result.item_scores, strict=True), 1):
            low, high = inst.allowed_values(n)[0], inst.allowed_values(n)[-1]
            assert scored == (low + high - answer if n in inst.reverse_items else answer)
        # Without flags the band is the plain band of the total.
        if not result.flags:
            assert result.band == inst.band_for(result.total).name


@settings(max_examples=200, deadline=None)
@given(answers=valid_answers(CATALOG["phq9"]))
def test_phq9_item9_flag_exactly_when_item9_above_zero(answers):
    result = CATALOG["phq9"].score(answers)
    assert ("item9_positive" in result.flags) == (answers[8] > 0)


@settings(max_examples=200, deadline=None)
@given(answers=valid_answers(CATALOG["asq"]))
def test_asq_flags(answers):
    result = CATALOG["asq"].score(answers)
    counted = [answers[k] for k in ("wish_dead", "better_off_dead", "thoughts", "attempt_ever")]
    acute = answers.get("thoughts_now") is True
    assert result.total == sum(counted)
    assert ("acute" in result.flags) == acute
    assert ("positive" in result.flags) == (any(counted) or acute)
    expected = "acute" if acute else ("positive" if any(counted) else "negative")
    assert result.band == expected


@settings(max_examples=300, deadline=None)
@given(answers=valid_answers(CATALOG["mdq"]))
def test_mdq_positive_only_when_all_three_parts_hold(answers):
    result = CATALOG["mdq"].score(answers)
    rule = (
        sum(answers["symptoms"]) >= 7
        and answers["same_period"]
        and answers["impairment"] in ("moderate", "serious")
    )
    assert (result.band == "positive") == rule
    assert (result.flags == ["positive"]) == rule


@pytest.mark.parametrize("inst_id", [i for i in IDS if CATALOG[i].kind == "sum"])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_disallowed_answer_is_named_by_item(inst_id, data):
    inst = CATALOG[inst_id]
    answers = data.draw(valid_answers(inst))
    n = data.draw(st.integers(1, inst.scoring.items))
    bad = data.draw(
        st.integers(-10, 20).filter(lambda v: v not in inst.allowed_values(n))
        | st.booleans()
        | st.floats(allow_nan=False)
    )
    answers[n - 1] = bad
    with pytest.raises(InputError) as err:
        inst.score(answers)
    assert err.value.field == f"instruments.{inst_id}[{n}]"
    assert f"{inst.name} item {n}" in err.value.message
