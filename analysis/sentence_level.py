"""Sentence-level multimodality: a held-out mode classifier's cross-entropy bounds H(L|X) above.

C(d) conditions on one source word, so a language chosen by the whole sentence (deterministic
pairing) looks as multimodal as a random one. Any model q(L|x) scored on held-out pairs has expected
cross-entropy E[-log2 q(L|X)] >= H(L|X); a good classifier makes the bound tight. Here: multinomial
logistic regression (L2, L-BFGS) over source bag-of-words plus the first tokens by position,
trained on a random half and scored on the other half.
"""
import contextlib
import math

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from nat.errors import UserError

POSITIONS = 4
L2_GRID = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


def features(lines, index=None):
    """Binary sparse features; builds the feature index when ``index`` is None (training half)."""
    grow = index is None
    index = {} if grow else index
    rows, cols = [], []
    for r, line in enumerate(lines):
        toks = line.split()
        names = set(toks) | {f"@{p}={t}" for p, t in enumerate(toks[:POSITIONS])}
        for name in names:
            c = index.setdefault(name, len(index)) if grow else index.get(name)
            if c is not None:
                rows.append(r)
                cols.append(c)
    shape = (len(lines), max(len(index), 1))
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    return matrix, index


def _single_thread_blas():
    """L-BFGS-B's small dense steps run 10-20x slower when BLAS threads fight over shared cores."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                                  # optional: only a speed-up
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _fit(x, y, n_classes, l2, max_iter, start=None):
    n, f = x.shape
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0

    def loss_grad(theta):
        w = theta[:f * n_classes].reshape(f, n_classes)
        b = theta[f * n_classes:]
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        loss = -(onehot * logp).sum() / n + 0.5 * l2 * (w * w).sum()
        diff = (np.exp(logp) - onehot) / n
        grad = np.concatenate([(x.T @ diff + l2 * w).ravel(), diff.sum(axis=0)])
        return loss, grad

    if start is None:
        theta0 = np.zeros(f * n_classes + n_classes)
    else:
        theta0 = np.concatenate([start[0].ravel(), start[1]])
    with _single_thread_blas():
        res = scipy.optimize.minimize(loss_grad, theta0, jac=True, method="L-BFGS-B",
                                      options={"maxiter": max_iter})
    return res.x[:f * n_classes].reshape(f, n_classes), res.x[f * n_classes:]


def _log2_probs(x, w, b):
    logits = x @ w + b
    logits -= logits.max(axis=1, keepdims=True)
    return (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))) / math.log(2.0)


def select_l2(x, y, n_classes, grid, max_iter, rng):
    """L2 strength with the lowest cross-entropy on a 20% split of the training half only."""
    order = rng.permutation(x.shape[0])
    cut = max(1, int(0.8 * len(order)))
    fit, dev = order[:cut], order[cut:]
    if len(dev) == 0:
        return grid[0], {}
    scores, start = {}, None
    for l2 in sorted(grid, reverse=True):          # strong to weak, each warm-started
        w, b = start = _fit(x[fit], y[fit], n_classes, l2, max_iter, start)
        scores[l2] = float(-_log2_probs(x[dev], w, b)[np.arange(len(dev)), y[dev]].mean())
        if scores[l2] > min(scores.values()):      # weaker regularisation stopped helping
            break
    return min(scores, key=scores.get), scores


#: a held-out half needs at least two sentences, and so does the training half
MIN_LABELLED = 4


def mode_cross_entropy(sources, modes, seed=0, max_sentences=40000, l2_grid=L2_GRID, max_iter=200):
    """Held-out cross-entropy (bits) of the mode given the source, beside the prior-only baseline.

    ``modes`` labels each source (e.g. its target's language); sentences whose label is None are
    dropped. The L2 strength is chosen inside the training half; deterministic in ``seed``.
    """
    pairs = [(s, m) for s, m in zip(sources, modes) if m is not None]
    if len(pairs) < MIN_LABELLED:
        raise UserError(f"the mode classifier needs at least {MIN_LABELLED} labelled sentences, "
                        f"got {len(pairs)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))[:max_sentences]
    half = len(order) // 2
    train, held = [pairs[k] for k in order[:half]], [pairs[k] for k in order[half:]]
    classes = sorted({m for _, m in pairs})
    label = {c: k for k, c in enumerate(classes)}
    x_tr, index = features([s for s, _ in train])
    x_ev, _ = features([s for s, _ in held], index)
    y_tr = np.array([label[m] for _, m in train])
    y_ev = np.array([label[m] for _, m in held])
    l2, dev_scores = select_l2(x_tr, y_tr, len(classes), tuple(l2_grid), max_iter, rng)
    w, b = _fit(x_tr, y_tr, len(classes), l2, max_iter)
    logp = _log2_probs(x_ev, w, b)
    ce = float(-logp[np.arange(len(y_ev)), y_ev].mean())
    prior = (np.bincount(y_tr, minlength=len(classes)) + 0.5) / (len(y_tr) + 0.5 * len(classes))
    prior_ce = float(-np.log2(prior[y_ev]).mean())
    return {"cross_entropy_bits": ce, "prior_cross_entropy_bits": prior_ce,
            "accuracy": float((logp.argmax(axis=1) == y_ev).mean()),
            "n_train": len(train), "n_heldout": len(held), "classes": classes,
            "settings": {"unit": "bits", "model": "multinomial logistic regression",
                         "features": f"source bag-of-words + first {POSITIONS} tokens by position",
                         "l2": l2, "l2_grid": list(l2_grid),
                         "l2_dev_cross_entropy_bits": {str(k): v for k, v in dev_scores.items()},
                         "max_iter": max_iter, "split": "random halves",
                         "seed": seed, "max_sentences": max_sentences,
                         "bound": "upper bound on H(L|X) in expectation"}}
