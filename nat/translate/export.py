"""``nat-export``: a NAT checkpoint to a self-contained ONNX model directory.

::

    DIR/encoder.onnx  decoder.onnx     the two halves (``nat.translate.graphs``), dynamic batch
                                        and lengths; int8: weights quantized by ONNX Runtime
    DIR/dict.src.txt  dict.tgt.txt     the fairseq dictionaries
    DIR/spm/src.model tgt.model        sentencepiece models, when the data was prepared with one
    DIR/manifest.json                  checkpoint sha256, model, opset, precision, decode
                                        settings, special ids, file hashes, tool versions

Export checks itself: the fp32 graphs decode a probe batch with ONNX Runtime and must give the
torch path's tokens (``nat.translate.graphs.run_torch``).  int8 uses ONNX Runtime's dynamic
quantization (int8 weights of every MatMul/Gemm, activations quantized per batch).
"""
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np

from nat.cli import arg
from nat.errors import UserError
from nat.hashing import file_sha256
from nat.textio import write_json_atomic

TOOL = "nat-export"
FORMAT = 1
OPSET = 17
ENCODER, DECODER = "encoder.onnx", "decoder.onnx"
AXES_SRC = {0: "batch", 1: "src_len"}


@dataclass
class ExportConfig:
    checkpoint: str = arg("fairseq NAT checkpoint (.pt): vanilla, GLAT, CTC, CTC+GLAT or DAG",
                          positional=True)
    out: str = arg("output directory (replaced if it holds a previous export)")
    data_bin: str = arg("directory with dict.SRC.txt and dict.TGT.txt (default: the data "
                        "directory the checkpoint was trained on)", None)
    prepared: str = arg("a nat-prepare directory: its data-bin, sentencepiece models and text "
                        "normalization go with the model", None)
    int8: bool = arg("quantize the weights to int8 (ONNX Runtime dynamic quantization)", False)
    decode_strategy: str = arg("DAG only: greedy or lookahead (default: the checkpoint's)",
                               None, choices=("greedy", "lookahead"))


def _spm_files(cfg):
    """``(data_bin, {"src": model, "tgt": model} or {}, normalization rule or None)``."""
    if cfg.prepared is None:
        return cfg.data_bin, {}, None
    from nat.prepare.layout import load_prepared

    corpus = load_prepared(cfg.prepared)
    return corpus.data_bin, corpus.spm_models, corpus.manifest.get("settings", {}).get(
        "normalization")


def _dag_settings(model, strategy):
    from nat.translate.graphs import DAG_STRATEGIES

    chosen = strategy or getattr(model.args, "decode_strategy", None) or "lookahead"
    if chosen not in DAG_STRATEGIES:
        raise UserError(f"decode strategy {chosen!r} is torch-only (nat-translate --backend "
                        f"torch); pass --decode-strategy greedy or lookahead to export")
    dedup = getattr(model.args, "decode_dedup", None)
    return {"strategy": chosen, "dedup": True if dedup is None else bool(dedup)}


def _probe(vocab_size, max_len=12):
    """A right-padded probe batch of varied lengths (ids above the specials)."""
    rng = np.random.default_rng(0)
    lengths = [max_len, 3, 7, 1, 10]
    src = np.full((len(lengths), max_len + 1), 1, dtype=np.int64)
    for row, n in enumerate(lengths):
        src[row, :n] = rng.integers(4, vocab_size, n)
        src[row, 0] = 0                                  # bos, as translation_lev reads
        src[row, n] = 2
    return src


def _export_graphs(model, kind, strategy, work):
    import torch

    from nat.translate import graphs, search

    src = torch.from_numpy(_probe(len(model.encoder.dictionary)))
    enc = graphs.EncoderGraph(model)
    dec = graphs.DecoderGraph(model, strategy or "lookahead")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")             # tracer notes on fairseq's Python branches
        encoder_out, embedding, lengths = enc(src)
        prev = torch.from_numpy(search.placeholder(lengths.numpy(), kind, model.pad, model.unk,
                                                   model.bos, model.eos))
        torch.onnx.export(
            enc, (src,), os.path.join(work, ENCODER), input_names=["src_tokens"],
            output_names=["encoder_out", "encoder_embedding", "lengths"], opset_version=OPSET,
            dynamic_axes={"src_tokens": AXES_SRC, "encoder_out": {0: "src_len", 1: "batch"},
                          "encoder_embedding": AXES_SRC, "lengths": {0: "batch"}},
            dynamo=False)
        outputs = ["tokens", "scores"] + (["successor"] if kind == "dag" else [])
        axes_tgt = {0: "batch", 1: "tgt_len"}
        torch.onnx.export(
            dec, (src, encoder_out, embedding, prev), os.path.join(work, DECODER),
            input_names=["src_tokens", "encoder_out", "encoder_embedding", "prev_tokens"],
            output_names=outputs, opset_version=OPSET,
            dynamic_axes={"src_tokens": AXES_SRC, "encoder_out": {0: "src_len", 1: "batch"},
                          "encoder_embedding": AXES_SRC, "prev_tokens": axes_tgt,
                          **{name: axes_tgt for name in outputs}},
            dynamo=False)
    return src.numpy()


def _quantize(work):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    for name in (ENCODER, DECODER):
        path = os.path.join(work, name)
        quantize_dynamic(path, path + ".int8", weight_type=QuantType.QInt8)
        os.replace(path + ".int8", path)


def _versions():
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "onnx", "onnxruntime", "ve-fairseq")}


def export(cfg):
    """Write the model directory ``cfg.out``; returns its manifest."""
    from nat.translate import checkpoint

    data_bin, spm, normalization = _spm_files(cfg)
    nat = checkpoint.load(cfg.checkpoint, data_bin or cfg.data_bin)
    model = nat.model
    if nat.kind != "dag" and cfg.decode_strategy:
        raise UserError(f"--decode-strategy is for DAG models; {nat.name} has one decoding")
    decode = _dag_settings(model, cfg.decode_strategy) if nat.kind == "dag" else {}
    if nat.kind == "ctc":
        decode = {"blank": model.decoder.blank}
    _check_out(cfg.out)
    parent = os.path.dirname(os.path.abspath(cfg.out))
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        probe = _export_graphs(model, nat.kind, decode.get("strategy"), work)
        agreement = _verify(model, nat.kind, decode, work, probe)
        if cfg.int8:
            _quantize(work)
        shutil.copyfile(nat.src_dict, os.path.join(work, "dict.src.txt"))
        shutil.copyfile(nat.tgt_dict, os.path.join(work, "dict.tgt.txt"))
        files = {"encoder": ENCODER, "decoder": DECODER, "src_dict": "dict.src.txt",
                 "tgt_dict": "dict.tgt.txt"}
        if spm:
            os.makedirs(os.path.join(work, "spm"))
            for side, path in spm.items():
                shutil.copyfile(path, os.path.join(work, "spm", f"{side}.model"))
                files[f"spm_{side}"] = os.path.join("spm", f"{side}.model")
        manifest = {
            "tool": TOOL, "format": FORMAT,
            "checkpoint": {"path": os.path.abspath(cfg.checkpoint), "sha256": nat.sha256},
            "model": nat.name, "arch": nat.arch, "kind": nat.kind, "opset": OPSET,
            "precision": "int8" if cfg.int8 else "fp32", "decode": decode,
            "languages": {"source": nat.source_lang, "target": nat.target_lang},
            "prepend_bos": nat.prepend_bos,
            "special": {"bos": model.bos, "pad": model.pad, "eos": model.eos, "unk": model.unk},
            "max_source_positions": int(model.encoder.max_positions()),
            "max_target_positions": int(model.decoder.max_positions()),
            "normalization": normalization,
            "verified_fp32": agreement,
            "files": files,
            "sha256": {name: file_sha256(os.path.join(work, path))
                       for name, path in files.items()},
            "versions": _versions(),
        }
        write_json_atomic(os.path.join(work, "manifest.json"), manifest)
        _replace_dir(work, cfg.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _verify(model, kind, decode, work, probe):
    """The probe batch through ONNX Runtime decodes to the torch path's ids: "N/N"."""
    import torch

    from nat.translate import graphs, search
    from nat.translate.runtime import OnnxGraphs

    def ids(lengths, outputs):
        return search.read_outputs(kind, lengths, outputs, model.pad, decode.get("blank"),
                                   decode.get("dedup", True))

    expected = ids(*graphs.run_torch(model, torch.from_numpy(probe),
                                     decode.get("strategy", "lookahead")))
    got = ids(*OnnxGraphs(work, threads=1).run(probe, kind, model.pad, model.unk, model.bos,
                                               model.eos))
    same = sum(np.array_equal(e, g) for e, g in zip(expected, got))
    if same != len(probe):
        raise UserError(f"export check failed: ONNX Runtime and torch decode "
                        f"{len(probe) - same} of {len(probe)} probe sentences differently")
    return f"{same}/{len(probe)}"


def _check_out(out):
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserError(f"--out {out}: exists and is not a directory")
    if os.path.isdir(out) and os.listdir(out):
        try:
            with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
                ours = json.load(f).get("tool") == TOOL
        except (OSError, ValueError):
            ours = False
        if not ours:
            raise UserError(f"--out {out}: not empty and not a previous nat-export; choose "
                            f"another directory")


def _replace_dir(work, out):
    """Move the finished ``work`` to ``out`` (a previous export there is replaced)."""
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.replace(work, out)
