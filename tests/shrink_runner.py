"""fairseq-train runs, then fairseq-generate runs, in this one process (test_shrink.py):
``python tests/shrink_runner.py TRAIN.json GENERATE.json``.

The first file is ``ddp_runner.py``'s list of fairseq-train command lines (``cli_main`` each),
the second ``nat.fairseq_batch``'s spec (``generate.main`` each): the real commands, with
fairseq imported once instead of once per command (about 5 s of CPU on this machine).
"""
import sys

import ddp_runner
from nat import fairseq_batch

if __name__ == "__main__":
    train, generate = sys.argv[1:]        # ddp_runner sets sys.argv for each fairseq-train run
    ddp_runner.main(train)
    sys.exit(fairseq_batch.main([generate]))
