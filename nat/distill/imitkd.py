"""ImitKD (Lin et al. 2020, "Autoregressive Knowledge Distillation through Imitation Learning"):
the math of ``--criterion imitkd``, pure torch (the fairseq criterion is a thin layer on top).

DAgger for sequence distillation: at update i each sentence's decoder context is, with
probability beta_i, its gold prefix (in the authors' code the stand-in for the teacher's own
output, costly to generate), otherwise the student's own output, generated without gradient.
The teacher labels every position of every context and the student learns the labels, so it
is trained on the prefixes it meets at test time (exposure bias); beta = 1 is thus Word-KD with
hard labels on gold prefixes (the authors' hard-label code keeps the gold next word on gold
contexts instead).  The draw is per sentence: one Bernoulli(beta_i) per source sentence of the
batch, as in the authors' code.  beta_i starts at 1 and decays over N updates; with
p = min(i / N, 1):

    exponential      beta = b ** (-p)                     b = 200
    linear           beta = 1 - (1 - beta_end) * p        beta_end = 0
    inverse_sigmoid  beta = 1 / (1 + exp(k * (p - 1/2)))  k = 20

These are the formulas of the authors' code (github.com/asappresearch/imitkd,
generation/distillation.py, ``Seq2SeqDistillTrainer``, where ``exp_base`` is b and the sigmoid's
20 is k; its configs, e.g. configs/iwslt/transformer/imitkd.yaml, use the exponential with base
200: ``b_t = 200^(-t/N)`` in shared/notes/distillation.md, and sample the student's context in
eval mode from its 5 best tokens, our defaults).  Past N, beta stays at its value at N.

Labels: ``hard`` is the cross-entropy against the teacher's argmax (ImitKD); ``full`` is
KL(p_teacher || p_student) (ImitKD + Full: the authors' cross-entropy minus the teacher's entropy,
which does not depend on the student: the same gradients, and 0 for a student equal to the
teacher); ``topk`` is the same against the teacher's k most probable tokens, renormalised.  The
soft labels take a temperature T (both sides softened, loss times T^2, as Word-KD); hard labels
ignore it.
"""
import math

import torch
import torch.nn.functional as F

from nat.distill.word_kd_loss import topk_kd_kl, word_kd_kl

#: beta schedules, labels and student contexts of ``--criterion imitkd``
SCHEDULES = ("exponential", "linear", "inverse_sigmoid")
LABELS = ("hard", "full", "topk")
CONTEXTS = ("sample", "greedy")

#: the defaults of ``--criterion imitkd`` (one place)
SCHEDULE = "exponential"
EXP_BASE = 200.0          # b of the exponential schedule (the paper's)
SIGMOID_STEEPNESS = 20.0  # k of the inverse sigmoid (the authors' code)
BETA_END = 0.0            # beta at N of the linear schedule
TOPK = 8                  # k of ``topk`` labels
TEMPERATURE = 1.0
CONTEXT = "sample"
SAMPLE_TOPK = 5           # sample the student's context from its k best tokens (0: all)
MAX_LEN_A = 1.5           # a student context has at most a * target length + b tokens
MAX_LEN_B = 5


def mixing_probability(schedule, num_updates, decay_updates, exp_base=EXP_BASE,
                       steepness=SIGMOID_STEEPNESS, beta_end=BETA_END):
    """beta at update ``num_updates`` of a decay over ``decay_updates`` updates (module doc)."""
    if decay_updates <= 0:
        raise ValueError(f"the beta schedule needs decay updates >= 1, got {decay_updates}")
    p = min(max(num_updates, 0) / decay_updates, 1.0)
    if schedule == "exponential":
        if exp_base < 1:
            raise ValueError(f"exponential schedule: base {exp_base} must be >= 1")
        return exp_base ** (-p)
    if schedule == "linear":
        if not 0.0 <= beta_end <= 1.0:
            raise ValueError(f"linear schedule: final beta {beta_end} must be in [0, 1]")
        return 1.0 - (1.0 - beta_end) * p
    if schedule == "inverse_sigmoid":
        if steepness <= 0:
            raise ValueError(f"inverse sigmoid schedule: steepness {steepness} must be > 0")
        return 1.0 / (1.0 + math.exp(steepness * (p - 0.5)))
    raise ValueError(f"unknown beta schedule {schedule!r} (one of {', '.join(SCHEDULES)})")


def gold_rows(batch_size, beta, device=None):
    """Which sentences keep their gold context: one Bernoulli(``beta``) draw per sentence
    (all of them at beta = 1, none at beta = 0)."""
    return torch.rand(batch_size, device=device) < beta


def next_tokens(logits, greedy=False, topk=0, banned=()):
    """One token per row of ``logits`` (B, V): the argmax, or a sample from the softmax over the
    ``topk`` best tokens (0: all); ``banned`` ids (pad, bos) are never chosen."""
    logits = logits.float()
    if banned:
        logits = logits.index_fill(-1, torch.tensor(list(banned), device=logits.device),
                                   float("-inf"))
    if greedy:
        return logits.argmax(-1)
    if 0 < topk < logits.size(-1):
        values, ids = logits.topk(topk, dim=-1)
        pick = torch.multinomial(F.softmax(values, dim=-1), 1)
        return ids.gather(-1, pick).squeeze(-1)
    return torch.multinomial(F.softmax(logits, dim=-1), 1).squeeze(-1)


def generate(step, max_lens, eos, pad, greedy=False, topk=SAMPLE_TOPK, banned=()):
    """The student's own outputs: ``(tokens (B, L), lengths (B,))``.

    ``step(prefix)`` gives the next-token logits (B, V) after ``prefix`` (B, t), which starts
    with ``eos`` (fairseq's start symbol); row b stops at its eos or after ``max_lens[b]``
    tokens (then without eos); tokens after a row's end are ``pad``.  ``lengths`` counts each
    row's tokens, its eos included.
    """
    batch = max_lens.size(0)
    prefix = torch.full((batch, 1), eos, dtype=torch.long, device=max_lens.device)
    done = torch.zeros(batch, dtype=torch.bool, device=max_lens.device)
    lengths = torch.zeros(batch, dtype=torch.long, device=max_lens.device)
    out = []
    for _ in range(int(max_lens.max())):
        token = next_tokens(step(prefix), greedy, topk, banned).masked_fill(done, pad)
        out.append(token)
        lengths += (~done).long()
        done |= token.eq(eos) | lengths.ge(max_lens)
        if bool(done.all()):
            break
        prefix = torch.cat([prefix, token[:, None]], dim=1)
    return torch.stack(out, dim=1), lengths


def context_of(tokens, lengths, eos, pad):
    """The decoder input that produced ``tokens`` (B, L) and where the student predicted:
    ``(prev_output_tokens, mask)``, prev = [eos, y_1 .. y_{m-1}] then pad (fairseq's shift),
    mask true at the m predicted positions of each row."""
    prev = torch.cat([tokens.new_full((tokens.size(0), 1), eos), tokens[:, :-1]], dim=1)
    mask = torch.arange(tokens.size(1), device=tokens.device)[None, :] < lengths[:, None]
    return prev.masked_fill(~mask, pad), mask


def merge_contexts(gold_prev, gold_mask, keep_gold, student_prev, student_mask, pad):
    """One batch: row b is the gold context where ``keep_gold[b]``, else the next student
    context (in order); both padded on the right to one width."""
    width = max(gold_prev.size(1), student_prev.size(1))
    prev = gold_prev.new_full((gold_prev.size(0), width), pad)
    mask = gold_mask.new_zeros((gold_prev.size(0), width))
    prev[keep_gold, :gold_prev.size(1)] = gold_prev[keep_gold]
    mask[keep_gold, :gold_mask.size(1)] = gold_mask[keep_gold]
    prev[~keep_gold, :student_prev.size(1)] = student_prev
    mask[~keep_gold, :student_mask.size(1)] = student_mask
    return prev, mask


def hard_nll(student_logits, teacher_logits, mask, reduce=True):
    """Cross-entropy of the student against the teacher's argmax, where ``mask`` is true."""
    labels = teacher_logits.detach().argmax(dim=-1, keepdim=True)
    nll = -F.log_softmax(student_logits.float(), dim=-1).gather(-1, labels).squeeze(-1)
    nll = nll.masked_fill(~mask, 0.0)
    return nll.sum() if reduce else nll


def imitkd_loss(student_logits, teacher_logits, mask, labels="hard", topk=TOPK,
                temperature=TEMPERATURE, reduce=True):
    """The ImitKD loss of logits (..., V) at the positions of ``mask``: summed, or per
    position."""
    if labels == "hard":
        return hard_nll(student_logits, teacher_logits, mask, reduce)
    if labels == "full":
        return word_kd_kl(student_logits, teacher_logits, mask, temperature, reduce)
    if labels == "topk":
        return topk_kd_kl(student_logits, teacher_logits, mask,
                          min(topk, student_logits.size(-1)), temperature, reduce)
    raise ValueError(f"unknown ImitKD labels {labels!r} (one of {', '.join(LABELS)})")
