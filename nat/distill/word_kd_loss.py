"""Word-level KD term (Hinton et al. 2014; Kim & Rush 2016): KL(p_teacher || p_student) per
target position of the gold prefix, both softened by a temperature and scaled by T^2 so the
gradient size does not depend on T.  Pure torch; the fairseq criterion is a thin layer on top.
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
