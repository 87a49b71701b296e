"""The real fairseq CLIs with our plugins: preprocess -> train -> generate, every id once."""
import os

import pytest

from nat import fairseq_cli
from nat.errors import UserError
from nat.textio import count_lines


def test_teacher_generate_returns_every_id_once(tiny_teacher, toy_data_bin, toy_corpus,
                                                tmp_path):
    """The fairseq-generate command, and several runs in one process (``generate_many``, what
    the experiment decodes with): the same hypotheses and scores at every batch size."""
    n = count_lines(os.path.join(toy_corpus, "test.src"))
    request = dict(data_bin=toy_data_bin, checkpoint=tiny_teacher, expected=n, beam=3,
                   extra=["--max-len-a", "0", "--max-len-b", "30"])
    # 7 and 50 are not multiples of fairseq's default 8
    cli = fairseq_cli.generate(**request, batch_size=50)
    many = fairseq_cli.generate_many(
        [dict(request, batch_size=b, log_path=str(tmp_path / f"b{b}.log")) for b in (1, 7, 50)],
        str(tmp_path))
    for result in [cli, *many]:
        assert len(result.hypotheses) == n
        assert result.best() == cli.best()
    # the same batch: the same scores to the last digit (other batches pad differently, so
    # scores may move in the 7th digit while the hypotheses stay the same)
    assert [h[0].score for h in many[2].hypotheses] == [h[0].score for h in cli.hypotheses]
    speed = fairseq_cli.parse_speed((tmp_path / "b50.log").read_text(encoding="utf-8"))
    assert speed["sentences"] == n and speed["sentences_per_second"] > 0
    assert many[0].command[:2] == ["fairseq-generate", toy_data_bin]


def test_nat_vanilla_tiny_trains_and_generates(nat_models, toy_data_bin, toy_corpus):
    """The session's nat_vanilla_tiny (fairseq-train with a ``Recipe``: ``nat_models`` in
    conftest.py, shared with test_nat_models_cli.py) decoded by the fairseq-generate command."""
    checkpoint, log = nat_models["nat_vanilla_tiny"]
    assert "--arch nat_vanilla_tiny" in log.splitlines()[0] and "done training" in log
    n = count_lines(os.path.join(toy_corpus, "test.src"))
    result = fairseq_cli.generate(toy_data_bin, checkpoint,
                                  expected=n, task="translation_lev", beam=1, batch_size=50,
                                  extra=["--iter-decode-max-iter", "0"])
    assert len(result.hypotheses) == n


def test_parse_generate_output_refuses_missing_ids():
    text = "S-0\ta b\nH-0\t-0.1\tA B\nD-0\t-0.1\tA B\nH-2\t-0.3\tC\n"
    with pytest.raises(UserError, match=r"returned 2 of 3 sentences \(missing ids \[1\]"):
        fairseq_cli.parse_generate_output(text, expected=3)


def test_parse_generate_output_restores_id_order():
    text = "H-1\t-0.2\tY\nH-0\t-0.1\tX\nD-1\t-0.2\ty\nD-0\t-0.1\tx\n"
    hyps = fairseq_cli.parse_generate_output(text, expected=2)
    assert [h[0].tokens for h in hyps] == ["X", "Y"]
    assert [h[0].detok for h in hyps] == ["x", "y"]
