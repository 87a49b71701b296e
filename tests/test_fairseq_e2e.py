"""The real fairseq CLIs with our plugins: preprocess -> train -> generate, every id once."""
import os

import pytest

from nat import fairseq_cli
from nat.errors import UserError
from nat.textio import count_lines


def test_teacher_generate_returns_every_id_once(tiny_teacher, toy_data_bin, toy_corpus):
    n = count_lines(os.path.join(toy_corpus, "test.src"))
    outputs = {}
    for batch_size in (1, 7, 50):  # 7 and 50 are not multiples of fairseq's default 8
        result = fairseq_cli.generate(toy_data_bin, tiny_teacher, expected=n,
                                      batch_size=batch_size, beam=3,
                                      extra=["--max-len-a", "0", "--max-len-b", "30"])
        assert len(result.hypotheses) == n
        outputs[batch_size] = result.best()
    assert outputs[1] == outputs[7] == outputs[50]


def test_nat_vanilla_tiny_trains_and_generates(toy_data_bin, toy_corpus, tmp_path):
    save = str(tmp_path / "nat")
    fairseq_cli.run_tool("fairseq-train", [
        toy_data_bin, "--user-dir", fairseq_cli.PLUGIN_DIR, "--task", "translation_lev",
        "--criterion", "nat_loss", "--noise", "full_mask", "--arch", "nat_vanilla_tiny",
        "--optimizer", "adam", "--lr", "1e-3", "--max-tokens", "2000", "--max-update", "30",
        "--save-dir", save, "--no-epoch-checkpoints", "--cpu", "--log-format", "simple",
        "--num-workers", "0", "--seed", "1"], log_path=str(tmp_path / "train.log"))
    n = count_lines(os.path.join(toy_corpus, "test.src"))
    result = fairseq_cli.generate(toy_data_bin, os.path.join(save, "checkpoint_last.pt"),
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
