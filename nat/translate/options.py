"""``nat-translate``'s settings: the one place their defaults live."""
from dataclasses import dataclass

from nat.cli import arg, positive_int

BACKENDS = ("onnxruntime", "torch")
LONG_LINES = ("truncate", "error")


@dataclass
class TranslateConfig:
    model: str = arg("a nat-export directory (runs with ONNX Runtime) or a NAT checkpoint "
                     "(runs with torch)")
    input: str = arg("text file to translate, one sentence per line ('-' = stdin)", "-")
    output: str = arg("where translations go, one per input line ('-' = stdout)", "-")
    backend: str = arg("onnxruntime for an export directory, torch for a checkpoint "
                       "(default: chosen by --model)", None, choices=BACKENDS)
    data_bin: str = arg("torch backend: directory with the dictionaries (default: the "
                        "checkpoint's recorded data directory)", None)
    threads: int = arg("intra-op threads of the runtime", 1, type=positive_int)
    max_tokens: int = arg("most padded source tokens per batch", 4096, type=positive_int)
    batch_size: int = arg("most sentences per batch", 64, type=positive_int)
    long_lines: str = arg("a line longer than the encoder's positions: truncate it (counted) "
                          "or stop with an error", "truncate", choices=LONG_LINES)
    chunk: int = arg("lines read and translated at a time (memory stays flat)", 20000,
                     type=positive_int)
    progress: bool = arg("show a progress bar on stderr", False)
