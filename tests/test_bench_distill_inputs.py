"""``nat-bench distill`` with your teacher times the same sentences on every side, or refuses.

It once decoded the data-bin's train split with fairseq-generate but handed nat-distill its own
toy corpus, and printed "identical 0.00%" and speed ratios of unrelated work.
"""
import os

import pytest

from nat.bench.cli import main


def error_line(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1, err
    return err[0]


def test_teacher_without_its_text_is_refused(tmp_path, capsys, tiny_teacher, toy_data_bin):
    line = error_line(capsys, ["distill", "--work", str(tmp_path), "--path", tiny_teacher,
                               "--data-bin", toy_data_bin])
    assert line == ("nat-bench: error: --path needs --source, --target: the data-bin's train "
                    "split is decoded, so nat-distill must read the same sentences")


def test_text_that_is_not_the_data_bins_train_split_is_refused(tmp_path, capsys, tiny_teacher,
                                                             toy_data_bin, toy_corpus):
    # the right number of lines, the wrong sentences: the train split reversed
    lines = open(os.path.join(toy_corpus, "train.src"), encoding="utf-8").read().splitlines()
    (tmp_path / "src").write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    (tmp_path / "tgt").write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    line = error_line(capsys, ["distill", "--work", str(tmp_path / "w"), "--path", tiny_teacher,
                               "--data-bin", toy_data_bin, "--source", str(tmp_path / "src"),
                               "--target", str(tmp_path / "tgt"), "--threads", "1",
                               # the check reads fairseq-generate's source lines: cheap decoding
                               "--beam", "1", "--max-len-b", "4"])
    assert line.startswith(f"nat-bench: error: --source {tmp_path / 'src'}:1 is not sentence 0 "
                           "of the data-bin's train split")
    assert not os.path.exists(tmp_path / "w" / "distill-fairseq")  # nothing else was run
