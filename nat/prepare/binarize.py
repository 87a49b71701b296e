"""Binarize the prepared pieces with the real fairseq-preprocess and our dictionaries."""
import os
import re

from nat import fairseq_cli
from nat.errors import UserError

_SENTS = re.compile(r"\[(\w+)\] (.+?): (\d+) sents, (\d+) tokens, ([\d.]+)% replaced")


def binarize(cfg, build, files, expected):
    """fairseq-preprocess the pieces with our dictionaries; raise unless every sentence of every
    file arrived; returns fairseq's <unk> percentage per file (it counts </s> as a token)."""
    langs = {"src": cfg.source_lang, "tgt": cfg.target_lang}
    prefix = {s: os.path.join(build, "pieces", s) for s in files["splits"]}
    args = ["--source-lang", langs["src"], "--target-lang", langs["tgt"],
            "--trainpref", prefix["train"], "--validpref", prefix["valid"],
            "--destdir", os.path.join(build, "bin"), "--workers", cfg.workers,
            "--srcdict", os.path.join(build, files["dict"]["src"])]
    if "test" in prefix:
        args += ["--testpref", prefix["test"]]
    args += ["--joined-dictionary"] if cfg.joint else [
        "--tgtdict", os.path.join(build, files["dict"]["tgt"])]
    log = os.path.join(build, "logs", "preprocess.log")
    out = fairseq_cli.run_command("fairseq-preprocess", args, log_path=log)
    seen, replaced = {}, {}
    for lang, path, sents, _, percent in _SENTS.findall(out):
        seen[os.path.basename(path)] = int(sents)
        replaced[os.path.basename(path)] = float(percent)
    for split, n in expected.items():
        for lang in langs.values():
            name = f"{split}.{lang}"
            if seen.get(name) != n:
                raise UserError(f"fairseq-preprocess binarized {seen.get(name)} sentences of "
                                f"{name}, expected {n} (log: {log})")
    files["logs"] = {"preprocess": os.path.join("logs", "preprocess.log")}
    return replaced
