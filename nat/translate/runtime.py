"""Backends: a right-padded batch of source ids in, hypothesis ids per sentence out.

``OnnxBackend`` runs an exported directory with ONNX Runtime (the two graphs and the numpy glue
of ``nat.translate.search``).  ``TorchBackend`` runs a checkpoint through the model's own
fairseq decoding methods (``initialize_output_tokens``, ``forward_decoder``), i.e. what
``fairseq-generate --iter-decode-max-iter 0`` runs, minus its data loading and generator loop;
it also has what the export leaves out (DAG viterbi).  Both return ids with bos/eos/pad
removed, as fairseq's string step drops them.
"""
import os

import numpy as np

from nat.translate import search


class OnnxGraphs:
    """The two ONNX Runtime sessions of an export directory."""

    def __init__(self, directory, threads=1, providers=("CPUExecutionProvider",)):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # no arena: a large batch's activations (a DAG's B x 8S x V logits) are returned to the
        # system after the run instead of staying reserved by every session
        options.enable_cpu_mem_arena = False
        self.sessions = [ort.InferenceSession(os.path.join(directory, name), options,
                                              providers=list(providers))
                         for name in ("encoder.onnx", "decoder.onnx")]
        self.decoder_inputs = {i.name for i in self.sessions[1].get_inputs()}

    def run(self, src, kind, pad, unk, bos, eos, force_length=None):
        """``(decoder lengths, decoder outputs)`` for the right-padded int64 batch ``src``;
        ``force_length`` (vanilla/GLAT) replaces the predicted lengths (benchmarks)."""
        encoder_out, embedding, lengths = self.sessions[0].run(None, {"src_tokens": src})
        if force_length is not None and kind == "length":
            lengths = np.full_like(lengths, force_length)
        feed = {"src_tokens": src, "encoder_out": encoder_out, "encoder_embedding": embedding,
                "prev_tokens": search.placeholder(lengths, kind, pad, unk, bos, eos)}
        outputs = self.sessions[1].run(None, {k: v for k, v in feed.items()
                                              if k in self.decoder_inputs})
        return lengths, outputs


class OnnxBackend:
    name = "onnxruntime"

    def __init__(self, directory, manifest, threads=1, providers=("CPUExecutionProvider",)):
        self.graphs = OnnxGraphs(directory, threads, providers)
        self.kind, self.decode = manifest["kind"], manifest["decode"]
        special = manifest["special"]
        self.special = (special["pad"], special["unk"], special["bos"], special["eos"])
        self.max_positions = manifest["max_source_positions"]

    def translate_ids(self, src, force_length=None):
        pad, unk, bos, eos = self.special
        lengths, outputs = self.graphs.run(src, self.kind, pad, unk, bos, eos, force_length)
        hyps = search.read_outputs(self.kind, lengths, outputs, pad, self.decode.get("blank"),
                                   self.decode.get("dedup", True))
        return [search.strip(h, (bos, eos, pad)) for h in hyps]


class TorchBackend:
    name = "torch"

    def __init__(self, loaded, threads=1, decode_strategy=None, device="cpu"):
        import torch

        torch.set_num_threads(threads)
        self.model, self.kind, self.device = loaded.model.to(device), loaded.kind, device
        if decode_strategy:
            self.model.args.decode_strategy = decode_strategy
        self.max_positions = int(self.model.encoder.max_positions())

    def translate_ids(self, src, force_length=None):
        import torch

        model = self.model
        with torch.no_grad():
            tokens = torch.from_numpy(src).to(self.device)
            encoder_out = model.forward_encoder([tokens, tokens.ne(model.pad).sum(1)])
            out = model.initialize_output_tokens(encoder_out, tokens)
            if force_length is not None and self.kind == "length":
                prev = search.placeholder(np.full(len(src), force_length), "length",
                                          model.pad, model.unk, model.bos, model.eos)
                prev = torch.from_numpy(prev).to(self.device)
                out = out._replace(output_tokens=prev, output_scores=torch.zeros(
                    prev.shape, device=self.device))
            out = model.forward_decoder(out, encoder_out)
        specials = (model.bos, model.eos, model.pad)
        return [search.strip(row, specials) for row in out.output_tokens.cpu().numpy()]
