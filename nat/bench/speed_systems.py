"""The systems ``nat-bench speed`` times: each turns a list of source id lists into outputs.

* the AR teacher in CTranslate2 (beam 5 and greedy; fp32 = ``float32``, int8 = ``int8``
  compute type), converted once from the fairseq checkpoint;
* every NAT through ``nat-translate``'s two backends: ``torch`` (the checkpoint, fairseq's own
  decoding methods) and ``onnxruntime`` (the fp32 and int8 exports).

A system's ``run(sources, force)`` decodes one batch: ``sources`` are id lists ending with eos
(NAT sources also start with bos, as their task reads them), ``force`` a target length every
system is held to (AR: min = max decoding length; vanilla/GLAT: decoder length; CTC/DAG:
nothing to force, their decoder length is set by the source) or None.
"""
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class System:
    name: str
    family: str                 # "ar" or "nat"
    runtime: str                # ctranslate2 / torch / onnxruntime
    precision: str              # fp32 / int8
    run: Callable


def pad_batch(sources, pad=1):
    src = np.full((len(sources), max(len(s) for s in sources)), pad, dtype=np.int64)
    for row, ids in enumerate(sources):
        src[row, :len(ids)] = ids
    return src


def ct2_systems(checkpoint, data_bin, work, threads, device="cpu"):
    """Greedy and beam-5 CTranslate2 teachers in fp32 and int8."""
    import ctranslate2

    from nat.distill import backend_ct2, teacher
    from nat.translate.vocab import Vocabulary

    info = teacher.describe([checkpoint], data_bin)
    model_dir, _ = backend_ct2.convert_cached(info, os.path.join(work, "ct2"))
    symbols = Vocabulary.load(info.src_dict).symbols
    systems = []
    for precision, compute in (("fp32", "float32"), ("int8", "int8")):
        translator = ctranslate2.Translator(model_dir, device=device, compute_type=compute,
                                            intra_threads=threads, inter_threads=1)
        for beam in (1, 5):
            def run(sources, force, translator=translator, beam=beam):
                tokens = [[symbols[i] for i in ids[:-1]] for ids in sources]   # eos: CT2's
                options = {"beam_size": beam, "max_batch_size": len(tokens)}
                if force is not None:
                    options.update(min_decoding_length=force, max_decoding_length=force)
                return translator.translate_batch(tokens, **options)
            label = "greedy" if beam == 1 else f"beam {beam}"
            systems.append(System(f"teacher CTranslate2 {label}", "ar", "ctranslate2",
                                  precision, run))
    return systems


def onnx_providers(device):
    """ONNX Runtime providers for ``device``, or None when this onnxruntime cannot run there
    (the CPU wheel has no CUDA provider: onnxruntime-gpu has)."""
    import onnxruntime as ort

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return None


def nat_systems(name, checkpoint, data_bin, work, threads, prepared=None, device="cpu"):
    """``name`` through torch (fp32) and ONNX Runtime (fp32, int8): exports into ``work``
    (``prepared``: a nat-prepare directory whose sentencepiece models go with them); on a GPU
    without onnxruntime-gpu only the torch row."""
    from nat.translate import checkpoint as checkpoints
    from nat.translate import export, runtime
    from nat.translate.translator import read_manifest

    systems = []
    loaded = checkpoints.load(checkpoint, data_bin)
    torch_backend = runtime.TorchBackend(loaded, threads, device=device)
    systems.append(System(f"{name} torch", "nat", "torch", "fp32",
                          lambda s, f: torch_backend.translate_ids(pad_batch(s), f)))
    providers = onnx_providers(device)
    for precision in ("fp32", "int8") if providers else ():
        out = os.path.join(work, f"{name}-{precision}")
        if not os.path.isfile(os.path.join(out, "manifest.json")):
            export.export(export.ExportConfig(checkpoint=checkpoint, out=out, data_bin=data_bin,
                                              prepared=prepared, int8=precision == "int8"))
        backend = runtime.OnnxBackend(out, read_manifest(out), threads, providers)
        systems.append(System(f"{name} ONNX Runtime", "nat", "onnxruntime", precision,
                              lambda s, f, b=backend: b.translate_ids(pad_batch(s), f)))
    return systems
