"""Issue 15, items 6 and 7: ``lstm_student_tiny`` (fairseq's ``lstm``) and ``cmlm_tiny``
(fairseq's ``cmlm_transformer``, mask-predict) through the real fairseq-train and
fairseq-generate on the toy data.

Both train a few updates with the session's NATs (background_runs.nat_recipes, one process);
every decoding runs in the session's fairseq worker (``generate_many``, every id checked).
Invariants, never a BLEU margin: the LSTM decodes every id with beam 1 and 5; the CMLM decodes
every id with ``--iter-decode-max-iter`` 0, 1, 3 and 9, each sentence for exactly N+1 passes
(``CMLM_DECODE``), no ``<unk>`` left, the predicted length kept by every pass, and the same
hypotheses at batch 1 as at batch 64."""
import re

import pytest

from background_runs import EXTRA_UPDATES
from nat import fairseq_cli

N_TEST = 60                       # nat.toy.write_toy_corpus default
ITERATIONS = (0, 1, 3, 9)         # --iter-decode-max-iter N: N+1 passes (1, 2, 4, 10)
AT_BATCH_1 = 3                    # also decoded at batch 1 (9 takes 2.5x as long there)
_STEP = re.compile(r"^I-(\d+)\t(\d+)$", re.M)
_SCORES = re.compile(r"^P-(\d+)\t(.*)$", re.M)
_LOSS = re.compile(r"train_inner \|.* loss=([0-9.]+)")


@pytest.fixture(scope="module")
def trained(all_nat_models):
    """``{arch: (checkpoint, train log)}``, trained with the session's NATs in one process
    (``background_runs.nat_recipes``)."""
    return {arch: all_nat_models[arch] for arch in ("lstm_student_tiny", "cmlm_tiny")}


@pytest.fixture(scope="module")
def decoded(trained, toy_data_bin, tmp_path_factory, fairseq_worker):
    """``{key: GenerateResult}``: the LSTM at beam 1 and 5, the CMLM at every iteration count
    (batch 64) and at ``AT_BATCH_1`` also at batch 1, all in the session's fairseq worker."""
    lstm, cmlm = trained["lstm_student_tiny"][0], trained["cmlm_tiny"][0]
    runs = {("lstm", beam): dict(data_bin=toy_data_bin, checkpoint=lstm, expected=N_TEST,
                                 beam=beam, batch_size=64) for beam in (1, 5)}
    for n, batch in [(n, 64) for n in ITERATIONS] + [(AT_BATCH_1, 1)]:
        runs[("cmlm", n, batch)] = dict(
            data_bin=toy_data_bin, checkpoint=cmlm, expected=N_TEST, task="translation_lev",
            beam=1, batch_size=batch, extra=["--iter-decode-max-iter", str(n), "--print-step",
                                             *fairseq_cli.CMLM_DECODE])
    results = fairseq_cli.generate_many(list(runs.values()),
                                        str(tmp_path_factory.mktemp("cmlm_lstm_decode")),
                                        pool=fairseq_worker)
    return dict(zip(runs, results))


@pytest.mark.parametrize("arch, model", [("lstm_student_tiny", "LSTMModel"),
                                         ("cmlm_tiny", "CMLMNATransformerModel")])
def test_trains_through_fairseq_train(trained, arch, model):
    _, log = trained[arch]
    assert f"model: {model}" in log
    losses = [float(x) for x in _LOSS.findall(log)]
    assert len(losses) == EXTRA_UPDATES // 5
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("beam", [1, 5])
def test_lstm_decodes_every_id(decoded, beam):
    result = decoded[("lstm", beam)]                       # every id 0..N-1 checked
    assert len(result.hypotheses) == N_TEST
    assert result.command[result.command.index("--beam") + 1] == str(beam)
    assert any(h.strip() for h in result.best())


@pytest.mark.parametrize("n", ITERATIONS)
def test_cmlm_runs_exactly_n_plus_one_passes(decoded, n):
    result = decoded[("cmlm", n, 64)]
    steps = {int(i): int(s) for i, s in _STEP.findall(result.stdout)}
    assert steps == {i: n for i in range(N_TEST)}         # --print-step: the last pass, 0-based
    assert not any("<unk>" in h for h in result.best())    # no mask left behind
    assert any(h.strip() for h in result.best())


def test_cmlm_passes_keep_the_predicted_length(decoded):
    """Mask-predict re-predicts tokens, never the length: every pass count decodes the same
    number of ids per sentence (fairseq's P- line scores each one, specials included)."""
    def lengths(n):
        scores = _SCORES.findall(decoded[("cmlm", n, 64)].stdout)
        return {int(i): len(line.split()) for i, line in scores}

    assert len(lengths(0)) == N_TEST
    assert all(lengths(n) == lengths(0) for n in ITERATIONS)


def test_cmlm_batch_invariant(decoded):
    """Three re-maskings (each sorts a sentence's scores, pads included), and each sentence
    decoded alone gives what it gives in one batch of all 60."""
    one, many = decoded[("cmlm", AT_BATCH_1, 1)], decoded[("cmlm", AT_BATCH_1, 64)]
    assert one.best() == many.best()
