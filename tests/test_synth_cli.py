"""nat-synth command line: the contract's flags, outputs, and one-line errors."""
import json
import os

import pytest

from data_scripts.synth_cli import main

FILES = [f"{split}.{ext}" for split in ("train", "valid", "test")
         for ext in ("src", "tgt", "lang", "align")] + \
    ["test.ref.xa", "test.ref.xb", "test.ref.xc", "lexicon.json", "truth.json"]


def test_cli_writes_every_output(tmp_path, capsys):
    out = str(tmp_path / "corpus")
    main(["--out", out, "--mode", "deterministic", "--mix", "0.4,0.4,0.2", "--seed", "2",
          "--train", "50", "--valid", "7", "--test", "9", "--preset", "small", "--nouns", "20",
          "--quiet"])
    assert sorted(os.listdir(out)) == sorted(FILES)
    for split, n in (("train", 50), ("valid", 7), ("test", 9)):
        for ext in ("src", "tgt", "lang", "align"):
            with open(os.path.join(out, f"{split}.{ext}")) as handle:
                assert len(handle.read().splitlines()) == n
    truth = json.load(open(os.path.join(out, "truth.json")))
    assert truth["seed"] == 2 and truth["mode"] == "deterministic"
    assert truth["settings"]["nouns"] == 20 and truth["settings"]["max_len"] == 15
    for split in ("train", "valid", "test"):
        assert set(truth[split]) >= {"h_lang_given_src", "h_tgt_given_src",
                                     "sum_token_entropy", "total_correlation"}


@pytest.mark.parametrize("args, message", [
    (["--mix", "0.5,0.3,0.3"], "--mix must sum to 1"),
    (["--mix", "0.5,0.5"], "--mix needs 3 values"),
    (["--mix", "1.2,-0.2,0"], "non-negative"),
    (["--train", "-1"], "argument --train: must be a positive integer (>= 1), got -1"),
    (["--train", "0"], "argument --train: must be a positive integer (>= 1), got 0"),
    (["--test", "-5"], "argument --test: must be a non-negative integer (>= 0), got -5"),
    (["--mode", "hash"], "unknown --mode 'hash'"),
    (["--preset", "huge"], "invalid choice"),
    (["--max-len", "2"], "length range"),
    (["--synonym-rate", "1.5"], "--synonym-rate must lie in [0, 1]"),
])
def test_bad_arguments_give_a_one_line_error(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["--out", str(tmp_path / "x"), "--train", "5", "--valid", "1", "--test", "1",
              "--quiet"] + args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nat-synth: error: ")
    assert message in err
    assert not os.path.exists(tmp_path / "x" / "train.src")
