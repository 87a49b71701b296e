"""fairseq-preprocess through ``nat.fairseq_cli.preprocess``: fairseq's own preprocessing run in
this process gives the command's bytes, checks every sentence, and leaves this process's
logging and stdout as they were."""
import logging
import os

import pytest

from nat import fairseq_cli
from nat.errors import UserError

SPLITS = ("train", "valid", "test")


def binarized(dest):
    return {name: open(os.path.join(dest, name), "rb").read()
            for name in sorted(os.listdir(dest)) if not name.endswith(".log")}


def test_in_process_gives_the_commands_bytes(toy_corpus, tmp_path, capfd):
    prefixes = {s: os.path.join(toy_corpus, s) for s in SPLITS}
    handlers = list(logging.getLogger().handlers)
    log = tmp_path / "here.log"
    replaced = fairseq_cli.preprocess(str(tmp_path / "here"), prefixes, joined=True,
                                      log_path=str(log))
    assert capfd.readouterr().out == ""              # fairseq's log went to the log, not stdout
    assert logging.getLogger().handlers == handlers
    assert logging.getLogger("fairseq_cli.preprocess").handlers == []   # DEST/preprocess.log
    assert set(replaced) == {f"{s}.{lang}" for s in SPLITS for lang in ("src", "tgt")}
    text = log.read_text(encoding="utf-8")
    assert text.startswith(fairseq_cli.bin_path("fairseq-preprocess") + " --source-lang src")
    assert "train.src: " in text and "Wrote preprocessed data" in text
    fairseq_cli.run_command("fairseq-preprocess", fairseq_cli.preprocess_args(
        str(tmp_path / "command"), prefixes, joined=True))   # the console script, own process
    assert binarized(str(tmp_path / "here")) == binarized(str(tmp_path / "command"))
    assert len(binarized(str(tmp_path / "here"))) == 14     # 2 dictionaries, 3 splits x 2 x 2


def test_a_failure_is_one_line_naming_the_log(toy_corpus, tmp_path):
    with pytest.raises(UserError, match=r"^fairseq-preprocess failed with exit status 1: "
                                        r".*No such file.*\(log: .*bad\.log\)$"):
        fairseq_cli.preprocess(str(tmp_path / "bin"), {"train": str(tmp_path / "missing")},
                               log_path=str(tmp_path / "bad.log"))
    assert "Traceback" in (tmp_path / "bad.log").read_text(encoding="utf-8")
