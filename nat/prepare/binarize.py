"""Binarize the prepared pieces with the real fairseq-preprocess and our dictionaries."""
import os

from nat import fairseq_cli
from nat.errors import UserError


def binarize(cfg, build, files, expected):
    """fairseq-preprocess the pieces with our dictionaries; raise unless every sentence of every
    file arrived (``fairseq_cli.preprocess`` checks each file; ``expected`` is its line count);
    returns fairseq's <unk> percentage per file (it counts </s> as a token)."""
    prefix = {s: os.path.join(build, "pieces", s) for s in files["splits"]}
    replaced = fairseq_cli.preprocess(
        os.path.join(build, "bin"), prefix, cfg.source_lang, cfg.target_lang,
        srcdict=os.path.join(build, files["dict"]["src"]),
        tgtdict=None if cfg.joint else os.path.join(build, files["dict"]["tgt"]),
        joined=cfg.joint, workers=cfg.workers,
        log_path=os.path.join(build, "logs", "preprocess.log"))
    for split, n in expected.items():
        for lang in (cfg.source_lang, cfg.target_lang):
            if f"{split}.{lang}" not in replaced:
                raise UserError(f"fairseq-preprocess did not binarize {split}.{lang} "
                                f"({n} sentences expected)")
    files["logs"] = {"preprocess": os.path.join("logs", "preprocess.log")}
    return replaced
