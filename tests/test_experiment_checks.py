"""The literature's predictions (``nat.experiment.checks``) on hand-made numbers.

Whether the predictions hold on a real run is the report's and the benchmark's business: a tiny
training run's BLEU moves with the CPU's float rounding (CI was red on another machine for it).
What is deterministic is the logic that turns numbers into ✓ / ✗ / not measurable, tested here.
"""
import pytest

from nat.experiment import checks


def results(teacher=90.0, raw=(20.0, 0.6), distilled=(80.0, 0.1), complexity=(1.6, 0.4),
            sampled=None):
    """A results dict: the teacher, a vanilla NAT on raw / distilled data (BLEU, mixing), the two
    corpora's mode cross-entropy, optionally a sampled corpus."""
    models = [{"name": "teacher_beam5", "family": "teacher", "train_data": "raw",
               "bleu": teacher, "mixed_sentence_rate": 0.0}]
    for data, (bleu, mixing) in (("raw", raw), ("distilled", distilled)):
        models.append({"name": f"vanilla_{data}", "family": "vanilla", "train_data": data,
                       "bleu": bleu, "mixed_sentence_rate": mixing})
    corpora = [{"name": "raw", "method": None, "mode_cross_entropy_bits": complexity[0]},
               {"name": "distilled", "method": "seqkd",
                "mode_cross_entropy_bits": complexity[1]}]
    if sampled is not None:
        corpora.append({"name": "sample", "method": "sample", "mode_cross_entropy_bits": sampled})
    return {"models": models, "corpora": corpora,
            "config": {"nat": [{"name": "vanilla", "arch": "nat_vanilla_tiny"}]}}


def test_every_claim_holds_on_the_literatures_numbers():
    found = checks.predictions(results(sampled=1.0))
    assert len(found) == 5 and all(p["holds"] is True for p in found), found
    details = [p["detail"] for p in found]
    assert details[:3] == ["80.0 vs 20.0", "0.100 vs 0.600", "0.400 vs 1.600 bits"]
    assert details[4] == "90.0 vs best NAT vanilla_distilled 80.0"


@pytest.mark.parametrize("change, claim", [
    ({"distilled": (21.9, 0.1)}, 0),          # a gain under the 2-BLEU margin
    ({"distilled": (80.0, 0.31)}, 1),         # mixing not under half of raw's 0.6
    ({"complexity": (0.9, 0.9)}, 2),          # distilled corpus not less complex
    ({"sampled": 0.3}, 3),                    # sampling kept less than Seq-KD
    ({"teacher": 79.0}, 4),                   # a NAT above the teacher
])
def test_each_claim_fails_on_its_own_counterexample(change, claim):
    base = dict(sampled=1.0)
    base.update(change)
    found = checks.predictions(results(**base))
    assert [p["holds"] for p in found] == [i != claim for i in range(5)], found


def test_margin_is_inclusive_at_exactly_two_bleu():
    found = checks.predictions(results(distilled=(22.0, 0.1)))
    assert found[0]["holds"] is True


def test_a_broken_teacher_makes_distillation_claims_not_measurable():
    """The report once printed '✓ lower complexity: -0.000 vs 1.638' for a corpus distilled by a
    teacher with BLEU 0."""
    found = checks.predictions(results(teacher=0.0, raw=(0.5, 0.6), distilled=(3.0, 0.0),
                                       complexity=(1.638, -0.0), sampled=1.0))
    distillation, last = found[:-1], found[-1]
    assert len(distillation) == 4
    for p in distillation:
        assert p["holds"] is None
        assert p["detail"].startswith("not measurable (teacher BLEU 0.0 < 10")
    # the measured numbers are still shown, after the reason
    assert distillation[2]["detail"].endswith("measured -0.000 vs 1.638 bits")
    assert last["claim"].startswith("the teacher") and last["holds"] is False


def test_threshold_is_the_teachers_beam_bleu():
    at = checks.predictions(results(teacher=checks.MIN_TEACHER_BLEU, raw=(1.0, 0.6),
                                    distilled=(5.0, 0.1)))
    below = checks.predictions(results(teacher=checks.MIN_TEACHER_BLEU - 0.1, raw=(1.0, 0.6),
                                       distilled=(5.0, 0.1)))
    assert at[0]["holds"] is True and below[0]["holds"] is None


def test_missing_mixing_is_not_measured_not_failed():
    res = results(raw=(20.0, None), distilled=(80.0, None), complexity=(None, None))
    res["data"] = {"labels": None}
    found = checks.predictions(res)
    assert [p["holds"] for p in found] == [True, None, None, True]
    assert found[1]["detail"] == found[2]["detail"] == checks.NOT_MEASURED
