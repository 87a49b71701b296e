"""``nat-translate``: translate text with a NAT, one output line per input line, in order.

    echo "a sentence" | nat-translate --model DIR            # a nat-export directory
    nat-translate --model checkpoint.pt --input test.src --output test.hyp --backend torch

Lines are read and translated ``--chunk`` at a time; a one-line summary (lines, empty lines,
truncated lines, sentences/s) goes to stderr.
"""
import argparse
import os
import sys
import time

from nat.cli import ArgumentParser, add_dataclass_arguments, command, config_from
from nat.translate.options import TranslateConfig


def build_parser():
    parser = ArgumentParser(prog="nat-translate", description=__doc__.split("\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=__doc__.split("\n", 1)[1])
    add_dataclass_arguments(parser, TranslateConfig)
    return parser


def chunks(handle, size):
    chunk = []
    for line in handle:
        chunk.append(line.rstrip("\n").rstrip("\r"))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _open(path, mode):
    """stdin/stdout for '-'; an output file is written as ``PATH.partial`` and renamed when
    every line is out, so a failed run never leaves a shorter file under the real name."""
    if path == "-":
        return sys.stdin if mode == "r" else sys.stdout
    if mode == "r":
        return open(path, encoding="utf-8")
    return open(path + ".partial", "w", encoding="utf-8", newline="\n")


@command("nat-translate")
def main(argv=None):
    from nat.textio import count_lines
    from nat.translate.translator import Translator

    cfg = config_from(TranslateConfig, build_parser().parse_args(argv))
    translator = Translator.open(cfg.model, backend=cfg.backend, threads=cfg.threads,
                                 data_bin=cfg.data_bin, max_tokens=cfg.max_tokens,
                                 batch_size=cfg.batch_size, long_lines=cfg.long_lines)
    total = count_lines(cfg.input) if cfg.progress and cfg.input != "-" else None
    bar = None
    if cfg.progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="line", file=sys.stderr, desc="nat-translate")
    start = time.perf_counter()
    source, target = _open(cfg.input, "r"), _open(cfg.output, "w")
    done = False
    try:
        for chunk in chunks(source, cfg.chunk):
            for line in translator.translate(chunk):
                target.write(line + "\n")
            target.flush()
            if bar is not None:
                bar.update(len(chunk))
        done = True
    finally:
        if bar is not None:
            bar.close()
        if source is not sys.stdin:
            source.close()
        if target is not sys.stdout:
            target.close()
            if done:
                os.replace(cfg.output + ".partial", cfg.output)
            else:
                os.remove(cfg.output + ".partial")
    stats, seconds = translator.stats, time.perf_counter() - start
    print(f"nat-translate: {stats.lines} lines ({stats.empty} empty, {stats.truncated} "
          f"truncated), {stats.batches} batches, {translator.backend.name}, "
          f"{stats.lines / max(seconds, 1e-9):.0f} lines/s", file=sys.stderr)
    return 0
