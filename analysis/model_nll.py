"""Per-sentence NLL of reference pairs under an AR teacher and a NAT, scored in-process (fairseq).

Both checkpoints are loaded with fairseq's ``load_model_ensemble_and_task`` (safe loader and our
architectures registered by ``import fairseq_plugins``), the pairs are binarized by each model's
own task (``task.load_dataset`` on the text, so translation_lev prepends bos exactly as in
training), and each sentence is scored on its own row of a batch, in float64:

* AT (any fairseq encoder-decoder, e.g. ``transformer``): teacher-forced, the sum over the target
  tokens and eos of -log p(y_t | y_<t, x).
* ``nonautoregressive_transformer`` / ``nat_glat``: the decoder input fairseq builds at inference
  for the reference length L (bos, L-2 unk, eos; ``regenerate_length_beam`` with beam 1), and the
  sum over all L positions (bos and eos included, as the model is trained) of -log p(y_t | x, L);
  separately, the length NLL -log p(L | x) of the length predictor (infinite when L is outside
  its 256 classes).
* ``nat_ctc``: the CTC loss, -log of the sum over all alignments (target without bos/eos);
  ``nat_dag``: -log of the sum over all DAG paths (bos/eos included; emissions and links in
  float32 as the model computes them, the path sum in float64).  Neither has a length model.

Batches are length-sorted by ``token_batches`` (nat.distill) and split to ``batch_size``
sentences; padding is masked, so values agree across batch sizes to float64 rounding.
NLLs are returned in nats; ``summary`` converts to bits.
"""
import contextlib
import math
import os
import tempfile
import warnings

import numpy as np

from nat import compat
from nat.errors import UserError

AT_MODELS = ("transformer",)             # plus any other fairseq encoder-decoder (teacher-forced)
NAT_MODELS = ("nonautoregressive_transformer", "nat_glat", "nat_ctc", "nat_dag")
KINDS = {"nonautoregressive_transformer": "length", "nat_glat": "length", "nat_ctc": "ctc",
         "nat_dag": "dag"}
SCORING = {
    "at": "teacher-forced sum of -log p(y_t|y_<t,x) over target tokens + eos",
    "length": "sum over the L reference positions (bos, tokens, eos) of -log p(y_t|x,L), decoder "
              "input as at inference for length L; length NLL -log p(L|x) separately",
    "ctc": "CTC loss: -log sum over alignments of the upsampled decoder (target without "
           "bos/eos); no length model",
    "dag": "DAG loss: -log sum over paths from the first to the last vertex (bos/eos included); "
           "no length model",
}
DEFAULT_BATCH_SIZE = 64
MAX_TOKENS = 8000


def _registered_name(model):
    from fairseq.models import MODEL_REGISTRY

    return next((name for name, cls in MODEL_REGISTRY.items() if cls is type(model)),
                type(model).__name__)


def _supported():
    return (f"AT: {', '.join(AT_MODELS)} (fairseq encoder-decoders); NAT: "
            f"{', '.join(NAT_MODELS)}")


def load(path, data_bin, role, flag):
    """``(model, task, kind, info)`` of one checkpoint, float64 and in eval mode; ``role`` is
    'at' or 'nat' (what ``flag`` on the command line must hold); ``kind``: at, length, ctc, dag."""
    import torch

    with compat.fairseq_logging_kept():
        import fairseq_plugins  # noqa: F401  registers our architectures, installs nat.compat
        from fairseq import checkpoint_utils
        from fairseq.models import FairseqEncoderDecoderModel
        from fairseq.models.nat import FairseqNATModel

    from nat.distill import teacher

    if not os.path.isdir(data_bin):
        raise UserError(f"--data-bin {data_bin}: not a directory")
    try:                      # any file can be passed: every failure to load is one line
        # hash, arch, languages, dictionaries (sizes checked against the embeddings); a file
        # that is no checkpoint fails here, before fairseq builds anything
        described = teacher.describe([path], data_bin, flag=flag)
        overrides = {"data": data_bin, "source_lang": described.source_lang,
                     "target_lang": described.target_lang}
        with compat.fairseq_logging_kept(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)     # hydra's deprecation notices
            models, _, task = checkpoint_utils.load_model_ensemble_and_task(
                [path], arg_overrides=overrides)
    except UserError:
        raise
    except Exception as err:                                # noqa: BLE001
        raise UserError(f"{flag}: cannot load {path} as a fairseq checkpoint "
                        f"({teacher.load_failure(err)})") from None
    model = models[0]
    name = _registered_name(model)
    if isinstance(model, FairseqNATModel):
        kind = KINDS.get(name)
    elif isinstance(model, FairseqEncoderDecoderModel):
        kind = "at"
    else:
        kind = None
    wanted_ok = kind == "at" if role == "at" else kind in ("length", "ctc", "dag")
    if not wanted_ok:
        raise UserError(f"{flag} {path}: model {name!r} (arch {described.archs[0]}) is not a "
                        f"supported {'AR' if role == 'at' else 'NAT'} model; supported: "
                        f"{_supported()}")
    model.eval()
    model.to(torch.float64)
    info = {"path": path, "sha256": described.sha256[0], "arch": described.archs[0],
            "model": name, "scoring": SCORING[kind], "source_lang": described.source_lang,
            "target_lang": described.target_lang}
    return model, task, kind, info


@contextlib.contextmanager
def _task_cfg(task, **values):
    old = {k: task.cfg[k] for k in values}
    for k, v in values.items():
        task.cfg[k] = v
    try:
        yield
    finally:
        for k, v in old.items():
            task.cfg[k] = v


def pairs_dataset(task, source, target, split="nat_analyze_score"):
    """The task's own dataset of the pairs (lists of lines), binarized in memory ('raw' impl)."""
    src_lang, tgt_lang = task.cfg.source_lang, task.cfg.target_lang
    with tempfile.TemporaryDirectory(prefix="nat-analyze-nll-") as tmp:
        for lang, lines in ((src_lang, source), (tgt_lang, target)):
            path = os.path.join(tmp, f"{split}.{src_lang}-{tgt_lang}.{lang}")
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.writelines(line + "\n" for line in lines)
        with _task_cfg(task, data=tmp, dataset_impl="raw"):
            task.load_dataset(split)
    dataset = task.datasets.pop(split)
    if len(dataset) != len(source):
        raise UserError(f"the {len(source)} pairs to score became {len(dataset)} after "
                        f"binarization (a line holds a line-breaking character)")
    return dataset


def batches(dataset, batch_size, max_tokens=MAX_TOKENS):
    """Index batches, length-sorted (longest first), each at most ``batch_size`` sentences."""
    from nat.distill.backend_fairseq import token_batches

    lengths = [max(int(s), int(t)) for s, t in zip(dataset.src_sizes, dataset.tgt_sizes)]
    out = []
    for batch in token_batches(lengths, max_tokens):
        out += [batch[k:k + batch_size] for k in range(0, len(batch), batch_size)]
    return out


def _token_nll(logits, target, pad):
    import torch

    lprobs = torch.log_softmax(logits.to(torch.float64), -1)
    nll = -lprobs.gather(-1, target[:, :, None]).squeeze(-1)
    return nll.masked_fill(target.eq(pad), 0.0).sum(1)


def score_at(model, sample, pad):
    """Teacher-forced NLL (nats) per row of a collated translation sample."""
    logits = model(**sample["net_input"])[0]
    return {"nll": _token_nll(logits, sample["target"], pad)}


def nat_inference_input(model, target):
    """The decoder input fairseq builds at inference for each row's length (bos, unk..., eos)."""
    from fairseq.iterative_refinement_generator import DecoderOut

    out = DecoderOut(output_tokens=target, output_scores=target.new_zeros(target.shape).double(),
                     attn=None, step=0, max_step=0, history=None)
    return model.regenerate_length_beam(out, 1).output_tokens


def score_nat(model, kind, sample, pad):
    """NAT NLL (nats) per row of a collated translation_lev sample (target with bos and eos)."""
    import torch
    import torch.nn.functional as F

    from nat import dag

    net = sample["net_input"]
    target = sample["target"]
    enc = model.encoder(net["src_tokens"], src_lengths=net["src_lengths"])
    if kind == "length":
        length_lp = model.decoder.forward_length(normalize=True, encoder_out=enc).double()
        cls = model.decoder.forward_length_prediction(length_lp, enc, target)
        length_nll = -length_lp.gather(1, cls[:, None]).squeeze(1)
        real = target.ne(pad).sum(1)
        if model.decoder.pred_length_offset:
            src_len = (~enc["encoder_padding_mask"][0]).sum(1) if enc["encoder_padding_mask"] \
                else torch.full_like(real, enc["encoder_out"][0].size(0))
            wanted = real - src_len + 128
        else:
            wanted = real
        length_nll = length_nll.masked_fill(wanted.ne(cls), math.inf)   # not representable
        dec_in = nat_inference_input(model, target)
        logits = model.decoder(normalize=False, prev_output_tokens=dec_in, encoder_out=enc,
                               step=0)
        return {"nll": _token_nll(logits, target, pad), "length_nll": length_nll}
    if kind == "ctc":
        dec_in = model.placeholder(model.decoder_lengths(enc))
        logits = model.decoder(normalize=False, prev_output_tokens=dec_in, encoder_out=enc)
        lprobs = torch.log_softmax(logits.to(torch.float64), -1).transpose(0, 1)
        tokens, lengths = model.ctc_target(target)
        nll = F.ctc_loss(lprobs, tokens, dec_in.ne(pad).sum(1), lengths,
                         blank=model.decoder.blank, reduction="none", zero_infinity=False)
        return {"nll": nll}
    if kind == "dag":
        dec_in, graph_lengths = model.graph(enc)
        lprobs, links = model.decoder.dag_forward(enc, dec_in)
        nll = dag.dag_loss(links, dag.gather_emissions(lprobs, target), target.ne(pad).sum(1),
                           graph_lengths, dtype=torch.float64)
        return {"nll": nll}
    raise ValueError(kind)


def score(model, task, kind, source, target, batch_size=DEFAULT_BATCH_SIZE, progress=False,
          desc="scoring"):
    """Per-sentence NLL arrays in nats, in input order: ``{'nll': ..., ['length_nll': ...],
    'target_tokens': ..., 'unknown_tokens': ...}`` (target tokens as the task binarizes them)."""
    import torch

    from analysis.progress import bar

    if batch_size < 1:
        raise UserError(f"batch size must be >= 1, got {batch_size}")
    dataset = pairs_dataset(task, source, target)
    limit = model.max_positions()
    too_long = [i for i in range(len(dataset))
                if dataset.src_sizes[i] > limit[0] or dataset.tgt_sizes[i] > limit[1]]
    if too_long:
        raise UserError(f"pair {too_long[0] + 1} is longer than the model's {limit} positions "
                        f"({len(too_long)} such pairs)")
    pad, unk = task.target_dictionary.pad(), task.target_dictionary.unk()
    n = len(dataset)
    out = {}
    tgt_tokens = np.zeros(n, dtype=np.int64)
    unknown = 0
    with torch.no_grad(), warnings.catch_warnings(), \
            bar(total=n, desc=desc, unit="sent", quiet=not progress) as b:
        # torch's notice about fairseq's float attn_mask beside a bool key_padding_mask
        warnings.filterwarnings("ignore", message=".*mismatched key_padding_mask")
        for batch in batches(dataset, batch_size):
            sample = dataset.collater([dataset[i] for i in batch])
            got = score_at(model, sample, pad) if kind == "at" else \
                score_nat(model, kind, sample, pad)
            ids = sample["id"].numpy()
            for key, values in got.items():
                out.setdefault(key, np.zeros(n))[ids] = values.double().numpy()
            tgt = sample["target"]
            tgt_tokens[ids] = tgt.ne(pad).sum(1).numpy()
            unknown += int(tgt.eq(unk).sum())
            b.update(len(batch))
    out["target_tokens"] = tgt_tokens
    out["unknown_target_tokens"] = unknown
    return out


def summary(at, nat, nat_kind, at_info, nat_info, batch_size, pairs_name):
    """Gap NLL_NAT - NLL_AT in bits per sentence with its standard error, over the pairs both
    models can score; the NAT's full NLL includes its length NLL where it has one."""
    bits = 1.0 / math.log(2.0)
    at_nll = at["nll"] * bits
    nat_tok = nat["nll"] * bits
    length = nat.get("length_nll")
    nat_len = length * bits if length is not None else np.zeros_like(nat_tok)
    nat_full = nat_tok + nat_len
    ok = np.isfinite(at_nll) & np.isfinite(nat_full)
    if not ok.any():
        raise UserError("no pair has a finite NLL under both models")

    def mean_se(x):
        x = x[ok]
        se = float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
        return {"value": float(x.mean()), "standard_error": se}

    gap = mean_se(nat_full - at_nll)
    result = {**gap, "n_sentences": int(ok.sum()), "n_unscorable": int((~ok).sum()),
              "mean_nll_bits": {"at": float(at_nll[ok].mean()),
                                "nat_tokens": float(nat_tok[ok].mean()),
                                "nat_length": float(nat_len[ok].mean()) if length is not None
                                else None,
                                "nat": float(nat_full[ok].mean())},
              "mean_target_tokens": {"at": float(at["target_tokens"][ok].mean()),
                                     "nat": float(nat["target_tokens"][ok].mean())},
              "unknown_target_tokens": at["unknown_target_tokens"]}
    if length is not None:
        result["without_length_nll"] = mean_se(nat_tok - at_nll)
    result["settings"] = {
        "unit": "bits per sentence", "source": "checkpoints", "pairs": pairs_name,
        "estimate": "mean NLL_NAT(y|x) - NLL_AT(y|x) on the same pairs; NLL_NAT = "
                    + ("-log p(L|x) - sum_t log p(y_t|x,L) (gold length L)"
                       if length is not None else "the model's marginal NLL"),
        "estimates": "TC(Y|X,M) (truth.json total_correlation_given_len) up to both "
                     "models' excess NLL" if length is not None else
                     "TC-like gap of a latent-alignment NAT (no exact truth counterpart)",
        "unscorable": "pairs with infinite NLL (length outside the predictor's range, target "
                      "longer than the CTC/DAG graph) are left out of every mean",
        "dtype": "float64" + (" (DAG emissions/links float32)" if nat_kind == "dag" else ""),
        "batch_size": batch_size, "device": "cpu", "at": at_info, "nat": nat_info}
    return result


def per_sentence_lines(at, nat):
    """TSV lines (header first) of the per-sentence NLLs in bits, for nll.tsv."""
    bits = 1.0 / math.log(2.0)
    length = nat.get("length_nll")
    lines = ["id\tat_nll_bits\tnat_nll_bits\tnat_token_nll_bits\tnat_length_nll_bits\t"
             "at_target_tokens\tnat_target_tokens"]
    for i in range(len(at["nll"])):
        ln = length[i] * bits if length is not None else 0.0
        tok = nat["nll"][i] * bits
        lines.append(f"{i}\t{at['nll'][i] * bits:.6f}\t{tok + ln:.6f}\t{tok:.6f}\t"
                     f"{ln if length is not None else float('nan'):.6f}\t"
                     f"{at['target_tokens'][i]}\t{nat['target_tokens'][i]}")
    return lines


def checkpoint_gap(at_path, nat_path, data_bin, source, target, batch_size=DEFAULT_BATCH_SIZE,
                   progress=False, pairs_name="corpus", threads=None):
    """Load both checkpoints, score the pairs, and return ``(gap dict, per-sentence lines)``."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    at_model, at_task, _, at_info = load(at_path, data_bin, "at", "--at-checkpoint")
    nat_model, nat_task, nat_kind, nat_info = load(nat_path, data_bin, "nat", "--nat-checkpoint")
    at = score(at_model, at_task, "at", source, target, batch_size, progress, "AT NLL")
    nat = score(nat_model, nat_task, nat_kind, source, target, batch_size, progress, "NAT NLL")
    gap = summary(at, nat, nat_kind, at_info, nat_info, batch_size, pairs_name)
    return gap, per_sentence_lines(at, nat)
