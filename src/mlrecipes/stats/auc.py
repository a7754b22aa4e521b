"""ROC AUC, one definition in two input forms.

Both are the Mann-Whitney statistic, P(a positive outscores a negative) with ties counted half,
which is what ``sklearn.metrics.roc_auc_score`` computes. Written here because scikit-learn scores
one vector per call: the bootstrap and the permutation importance need hundreds of rows at once
(one ranking call), and monitoring holds counts per score cell, not the scores themselves.
"""

from __future__ import annotations

import numpy as np


def roc_auc_rows(is_positive: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``scores`` (rows, n) against labels (n,) shared by every row or
    (rows, n) of their own; NaN for a row whose labels hold one class only."""
    from scipy.stats import rankdata  # 0.8 s to import: only when an AUC is computed

    scores = np.atleast_2d(scores)
    truth = np.broadcast_to(np.asarray(is_positive, dtype=bool), scores.shape)
    ranks = rankdata(scores, axis=1)  # mid-ranks: ties count half
    n_pos = truth.sum(axis=1)
    n_neg = truth.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * truth).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def roc_auc_from_counts(positives: np.ndarray, negatives: np.ndarray) -> float:
    """ROC AUC from counts per score cell, cells in increasing score order (rows within one
    cell are ties). NaN when either class is absent. Counts may be fractional (expected counts)."""
    positives = np.asarray(positives, dtype=float)
    negatives = np.asarray(negatives, dtype=float)
    pairs = positives.sum() * negatives.sum()
    if pairs <= 0:
        return float("nan")
    higher = positives.sum() - np.cumsum(positives)  # positives in the cells above each cell
    return float(np.sum(negatives * (higher + 0.5 * positives)) / pairs)
