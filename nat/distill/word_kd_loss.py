"""Word-level KD term (Hinton et al. 2014; Kim & Rush 2016): KL(p_teacher || p_student) per
target position of the gold prefix, both softened by a temperature and scaled by T^2 so the
gradient size does not depend on T; and its top-k variant (``topk_kd_kl``: the teacher's k best
tokens, renormalised).  Pure torch; the fairseq criteria are thin layers on top.
"""
import torch
import torch.nn.functional as F


#: the defaults of ``--criterion word_kd`` and of the experiment's ``word_kd`` settings
ALPHA = 0.5        # weight a of the KL term: (1-a) NLL(gold) + a KL(teacher || student)
TEMPERATURE = 1.0  # softmax temperature of both distributions


def word_kd_kl(student_logits, teacher_logits, mask, temperature=1.0, reduce=True):
    """``T^2 * sum_v p_t(v) (log p_t(v) - log p_s(v))`` at positions where ``mask`` is true.

    Logits are ``(..., V)``; ``mask`` has the leading shape.  The teacher side carries no
    gradient.  Returns the sum over positions (``reduce``) or the per-position values.
    """
    t = float(temperature)
    log_s = F.log_softmax(student_logits.float() / t, dim=-1)
    with torch.no_grad():
        log_t = F.log_softmax(teacher_logits.detach().float() / t, dim=-1)
    kl = (log_t.exp() * (log_t - log_s)).sum(dim=-1) * (t * t)
    kl = kl.masked_fill(~mask, 0.0)
    return kl.sum() if reduce else kl


#: the default k of ``--criterion multilingual_word_kd`` (Tan et al. 2019's "top-K
#: distillation"): the authors' data loader's default (``distill_topk=4`` in their collate; the
#: paper's own value was not at hand)
TOPK = 4


def topk_kd_kl(student_logits, teacher_logits, mask, k=0, temperature=1.0, reduce=True):
    """``T^2 * sum_{v in top-k} q(v) (log q(v) - log p_s(v))`` where ``mask`` is true: the
    teacher keeps its ``k`` most probable tokens, renormalised at temperature T (``q =
    softmax(top-k logits / T)``, as Tan et al.'s code does); ``p_s`` is the student's full
    softmax at T.

    Logits are ``(..., V)``; ``mask`` has the leading shape; ``k = 0`` (or ``>= V``: the same
    value) is the full distribution.  No gradient reaches the teacher.  Returns the sum over
    positions (``reduce``) or the per-position values."""
    if not k:
        return word_kd_kl(student_logits, teacher_logits, mask, temperature, reduce)
    t = float(temperature)
    log_s = F.log_softmax(student_logits.float() / t, dim=-1)
    with torch.no_grad():
        top, index = teacher_logits.detach().float().topk(min(k, teacher_logits.size(-1)),
                                                          dim=-1)
        log_q = F.log_softmax(top / t, dim=-1)
    kl = (log_q.exp() * (log_q - log_s.gather(-1, index))).sum(dim=-1) * (t * t)
    kl = kl.masked_fill(~mask, 0.0)
    return kl.sum() if reduce else kl
