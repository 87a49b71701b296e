"""``nat-shrink``: a smaller student made of the teacher's layers, or a NAT whose encoder and
embeddings are the teacher's; a checkpoint for ``fairseq-train --finetune-from-model``.

Examples::

    nat-shrink teacher.pt --encoder-layers 6 --decoder-layers 3 --out student.pt
    fairseq-train data-bin --user-dir fairseq_plugins --finetune-from-model student.pt \\
        --arch transformer --encoder-layers 6 --decoder-layers 3 ...
    nat-shrink teacher.pt --nat nat_ctc_tiny --data-bin data-bin --out nat_init.pt
"""
import json
import sys

from nat.cli import ArgumentParser, add_dataclass_arguments, command, config_from
from nat.distill.shrink_config import ShrinkConfig


def build_parser():
    p = ArgumentParser(prog="nat-shrink", description=__doc__.split("\n\n")[0])
    add_dataclass_arguments(p, ShrinkConfig)
    return p


def summary(record):
    """What stderr shows: the layers kept and the tensors copied or left fresh (the full
    record is OUT.json)."""
    fresh = sorted({".".join(k.split(".")[:3]) if ".layers." in k else k
                    for k in record["tensors"]["fresh"]})
    return {"student": record["student"], "kept_layers": record["kept_layers"],
            "layer_choice": record["layer_choice"], "copied_tensors": record["tensors"]["copied"],
            "fresh_tensors": len(record["tensors"]["fresh"]), "fresh": fresh,
            "fine_tune": " ".join(record["fine_tune"])}


@command("nat-shrink")
def main(argv=None):
    from nat.distill.shrink_checkpoint import run

    record = run(config_from(ShrinkConfig, build_parser().parse_args(argv)))
    print(json.dumps(summary(record), sort_keys=True), file=sys.stderr)
    return 0
