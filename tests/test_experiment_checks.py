"""The literature's predictions (``nat.experiment.checks``) on hand-made numbers.

Whether the predictions hold on a real run is the report's and the benchmark's business: a tiny
training run's BLEU moves with the CPU's float rounding (CI was red on another machine for it).
What is deterministic is the logic that turns numbers into ✓ / ✗ / not measurable, tested here.
"""
import pytest

from nat.experiment import checks, teacher_check


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
    # so is the teacher's own claim: nothing that depends on the teacher gets a verdict
    assert last["claim"].startswith("the teacher") and last["holds"] is None


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


def check_of(test_bleu=40.0, test_at_cap=3, distilled_at_cap=100, lines=1000):
    return {"test_bleu": test_bleu, "test_mixed_sentence_rate": 0.1,
            "test_at_length_cap": test_at_cap, "test_lines": 100, "valid_loss": 4.0,
            "valid_bleu": 20.0, "best_valid_bleu": 21.0, "validated_at": 2000,
            "distilled_at_length_cap": {"distilled": {"lines": lines,
                                                      "at_cap": distilled_at_cap}}}


@pytest.mark.parametrize("found, reason", [
    (check_of(), None),
    (check_of(test_bleu=2.0), "test BLEU 2.0 < 10"),
    # the quick preset's teacher on a 24k-pair real corpus: 11,216 of 18,436 outputs at the cap
    (check_of(distilled_at_cap=11216, lines=18436),
     "11216 of 18436 outputs of corpus distilled stop at the length cap"),
    (check_of(test_at_cap=51), "51 of 100 test outputs stop at the length cap"),
    (check_of(test_at_cap=50, distilled_at_cap=500), None),   # half is not "most"
])
def test_degenerate_teacher_reasons(found, reason):
    got = teacher_check.degenerate(found)
    assert (got is None) if reason is None else got.startswith(reason), got


def test_a_degenerate_teacher_withholds_every_verdict_even_with_good_bleu():
    """A teacher whose outputs mostly stop at the length cap distils junk even when its test
    BLEU clears the threshold: every claim is 'not measurable (degenerate teacher: ...)'."""
    numbers = results()
    numbers["teacher_check"] = dict(check_of(distilled_at_cap=900))
    numbers["teacher_check"]["degenerate"] = teacher_check.degenerate(
        numbers["teacher_check"])
    found = checks.predictions(numbers)
    assert found and all(p["holds"] is None for p in found)
    assert all(p["detail"].startswith("not measurable (degenerate teacher: 900 of 1000")
               for p in found)
    assert checks.predictions(results())[0]["holds"] is True  # the same numbers otherwise


def test_teacher_check_summary_reads_the_curve_and_the_test_outputs():
    numbers = results(teacher=35.0)
    numbers["models"][0].update(at_length_cap=2, test_lines=500)
    numbers["curves"] = {"teacher": [{"updates": 250, "loss": 7.0, "bleu": 3.0},
                                     {"updates": 500, "loss": 5.0, "bleu": 12.5},
                                     {"updates": 750, "loss": 5.1, "bleu": 11.0}]}
    found = teacher_check.summary(numbers, {"distilled": (40, 1000)})
    assert found["valid_bleu"] == 11.0 and found["best_valid_bleu"] == 12.5
    assert found["valid_loss"] == 5.1 and found["validated_at"] == 750
    assert found["test_bleu"] == 35.0 and found["test_at_length_cap"] == 2
    assert found["distilled_at_length_cap"] == {"distilled": {"lines": 1000, "at_cap": 40}}
    assert found["degenerate"] is None
    text = "\n".join(teacher_check.section({"teacher_check": found}))
    assert "BLEU 11.0 (greedy, one reference; best 12.5) after 750 updates" in text
    assert "degenerate" not in text
