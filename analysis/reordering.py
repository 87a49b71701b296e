"""Reordering from alignments: fuzzy reordering score (Talbot et al. 2011) and Kendall tau.

Both read one permutation per sentence: the aligned source words ordered by the mean position of
their target words (ties by source position); pi[k] = source rank of the k-th word in that order.
FRS = B/(n+1), B = adjacent steps pi[k+1] = pi[k]+1 counting the start and end sentinels.
Kendall tau = (concordant - discordant)/(pairs) of pi. Both are 1 for monotone alignments;
sentences with one aligned source word score 1 on both, sentences with none are skipped.
"""
import numpy as np


def permutation_arrays(links):
    """Flat permutations: (sentence of each element, source rank), ordered as in the target."""
    if len(links) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((links.tgt, links.src, links.sent))
    sent, src, tgt = links.sent[order], links.src[order], links.tgt[order]
    key = sent * (src.max() + 1) + src
    _, start, count = np.unique(key, return_index=True, return_counts=True)
    mean_tgt = np.add.reduceat(tgt.astype(float), start) / count
    g_sent, g_src = sent[start], src[start]
    # source rank of each group inside its sentence (groups are sorted by (sent, src))
    rank = np.arange(len(g_sent)) - np.searchsorted(g_sent, g_sent, side="left")
    group_order = np.lexsort((g_src, mean_tgt, g_sent))
    return g_sent[group_order], rank[group_order]


def permutations(links, n_sentences):
    """One list of source ranks per sentence (empty when nothing is aligned)."""
    perms = [[] for _ in range(n_sentences)]
    for s, r in zip(*(a.tolist() for a in permutation_arrays(links))):
        perms[s].append(r)
    return perms


def fuzzy_reordering_score(pi):
    n = len(pi)
    full = [-1] + list(pi) + [n]
    return sum(1 for a, b in zip(full, full[1:]) if b == a + 1) / (n + 1)


def kendall_tau(pi):
    n = len(pi)
    if n < 2:
        return 1.0
    concordant = sum(1 for a in range(n) for b in range(a + 1, n) if pi[a] < pi[b])
    pairs = n * (n - 1) // 2
    return (2 * concordant - pairs) / pairs


def sentence_scores(links):
    """Vectorised FRS and tau per aligned sentence, grouped by permutation length."""
    sent, rank = permutation_arrays(links)
    if len(sent) == 0:
        return np.zeros(0), np.zeros(0)
    sents, starts, sizes = np.unique(sent, return_index=True, return_counts=True)
    frs, tau = np.zeros(len(sents)), np.ones(len(sents))
    for n in np.unique(sizes).tolist():
        which = np.flatnonzero(sizes == n)
        perm = rank[starts[which][:, None] + np.arange(n)]            # (sentences, n)
        full = np.hstack([np.full((len(which), 1), -1), perm, np.full((len(which), 1), n)])
        frs[which] = (np.diff(full, axis=1) == 1).sum(axis=1) / (n + 1)
        if n > 1:
            a, b = np.triu_indices(n, 1)
            concordant = (perm[:, a] < perm[:, b]).sum(axis=1)
            tau[which] = (2 * concordant - len(a)) / len(a)
    return frs, tau


def reordering(links, n_sentences):
    """Corpus means of FRS and Kendall tau over sentences with at least one aligned source word."""
    frs, tau = sentence_scores(links)
    return {"fuzzy_reordering_score": float(frs.mean()) if len(frs) else float("nan"),
            "kendall_tau": float(tau.mean()) if len(tau) else float("nan"),
            "n_sentences": len(frs),
            "settings": {"permutation": "aligned source words by mean target position",
                         "average": "mean over sentences with >=1 link", "tau": "(C-D)/pairs"}}
