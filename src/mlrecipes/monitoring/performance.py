"""Performance: measured exactly here (a model's holdout, with scikit-learn), and for a scoring
window from its score grid (``mlrecipes.monitoring.counts``): measured once its labels arrive,
estimated before they do from the calibrated scores alone.

The estimate follows CBPE (confidence-based performance estimation, as NannyML describes it): a
row scored p is positive with probability p if the model is calibrated, so the expected
confusion matrix at the model's cut-off is (sum of p, sum of 1 - p) over the rows labelled
positive and negative; the expected ROC AUC counts every row once as a positive with weight p and
once as a negative with weight 1 - p. It is only as good as the calibration (the template
calibrates by default) and says nothing about concept drift the scores cannot see; it is
reported as an estimate, never mixed with measured values.
"""

from __future__ import annotations

import numpy as np

METRICS = ("roc_auc", "f1_score", "calibration_error", "lift_top_decile")
ERRORS = ("root_mean_squared_error", "mean_absolute_error")  # regression: lower is better


def _top_decile(scores: np.ndarray) -> np.ndarray:
    k = max(1, int(np.ceil(0.1 * len(scores))))
    return np.argsort(-scores, kind="stable")[:k]


def measured(is_positive: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """The window's metrics against its labels (AUC only when both classes are present)."""
    from sklearn.metrics import f1_score, roc_auc_score

    y = np.asarray(is_positive, dtype=bool)
    p = np.asarray(scores, dtype=float)
    out = {
        "f1_score": float(f1_score(y, p >= threshold, zero_division=0.0)),
        "calibration_error": calibration_error(y, p),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
    }
    if 0 < y.sum() < len(y):
        out["roc_auc"] = float(roc_auc_score(y, p))
    rate = y.mean() if len(y) else 0.0
    if rate > 0:
        out["lift_top_decile"] = float(y[_top_decile(p)].mean() / rate)
    return out


def calibration_error(is_positive: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the rows-weighted gap between mean score and positive rate
    over equal-width score bins."""
    y = np.asarray(is_positive, dtype=float)
    p = np.asarray(scores, dtype=float)
    if not len(p):
        return float("nan")
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(index):
        rows = index == b
        total += rows.sum() * abs(y[rows].mean() - p[rows].mean())
    return float(total / len(p))


def drop(reference: dict[str, float], window: dict[str, float]) -> dict[str, float]:
    """How much worse each metric is than on the champion's holdout (positive: worse)."""
    worse_when_higher = {"calibration_error"}
    out = {}
    for name, value in window.items():
        if name in reference and name in METRICS:
            diff = value - reference[name]
            out[name] = float(diff if name in worse_when_higher else -diff)
    return out


def errors(y: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """A regression model's errors on rows with known outcomes."""
    residual = np.asarray(predictions, dtype=float) - np.asarray(y, dtype=float)
    if not len(residual):
        return {}
    return {
        "root_mean_squared_error": float(np.sqrt(np.mean(residual**2))),
        "mean_absolute_error": float(np.mean(np.abs(residual))),
    }


def increase(reference: dict[str, float], window: dict[str, float]) -> dict[str, float]:
    """How much larger each error is than on the model's holdout, relative (0.2: 20% larger)."""
    return {
        name: float(value / reference[name] - 1.0)
        for name, value in window.items()
        if name in ERRORS and reference.get(name)
    }
