"""How far a model's scores can be read as probabilities, judged on its holdout (pure).

The label-free estimate (``performance``, CBPE) reads a row scored p as a positive with
probability p. The holdout has labels, so the reference carries what it showed:

- a monotone map from score to the holdout's positive rate (isotonic regression), kept only when
  it reads the scores better than they read themselves *out of fold* (Brier score, 5 folds): a
  calibrated model keeps its scores, an uncalibrated one is read through the map (as NannyML's
  CBPE does; measured against it in ``benchmarks/monitoring_quality.py``);
- whether the probabilities so read are calibrated: their out-of-fold calibration error against
  the 95th percentile a perfectly calibrated model shows on as many rows (labels drawn from the
  scores themselves), so a small holdout is not failed for its sampling noise;
- the holdout's score range: a window scored outside it is read where no label checked the map.

Each is JSON-ready and stored with the model's monitoring reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FOLDS = 5
MIN_ROWS_PER_CLASS = 20  # fewer of either class: no map is fitted, the check says why
DRAWS = 400  # Bernoulli draws behind the calibration bound and a window's interval
LEVEL = 0.90  # a window's interval: where 90% of measured values fall if the reading holds


def ece(is_positive: np.ndarray, p: np.ndarray, bins: int = 10) -> np.ndarray:
    """Expected calibration error over equal-width bins; ``is_positive`` may be (draws, n)."""
    y = np.atleast_2d(np.asarray(is_positive, dtype=float))
    index = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    score = np.bincount(index, weights=p, minlength=bins)
    positives = np.stack([np.bincount(index, weights=row, minlength=bins) for row in y])
    return np.abs(positives - score).sum(axis=1) / len(p)


def _isotonic(scores: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, y)


def _out_of_fold(scores: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    out = np.empty(len(scores))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for fit_rows, held in folds.split(scores.reshape(-1, 1), y):
        out[held] = _isotonic(scores[fit_rows], y[fit_rows]).predict(scores[held])
    return out


def fit(is_positive: np.ndarray, scores: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """The holdout's verdict on its scores (see the module's docstring)."""
    return judge(is_positive, scores, seed)[0]


def judge(
    is_positive: np.ndarray, scores: np.ndarray, seed: int = 0
) -> tuple[dict[str, Any], np.ndarray]:
    """``fit``'s verdict, and the probability each holdout row is read as, out of fold (what
    the estimate would have said of the holdout without having seen its labels)."""
    y = np.asarray(is_positive, dtype=bool)
    p = np.asarray(scores, dtype=float)
    out: dict[str, Any] = {
        "score_range": [float(p.min()), float(p.max())] if len(p) else None,
        "holdout_rows": len(p),
    }
    fewest = int(min(y.sum(), (~y).sum()))
    if fewest < MIN_ROWS_PER_CLASS:
        reason = f"the holdout has {fewest} row(s) of one class (fewer than {MIN_ROWS_PER_CLASS})"
        return {**out, "method": "none", "checked": False, "reason": reason}, p
    oof = _out_of_fold(p, y.astype(float), seed)
    brier_scores, brier_map = float(np.mean((p - y) ** 2)), float(np.mean((oof - y) ** 2))
    mapped = brier_map < brier_scores
    read = oof if mapped else p
    bound = _calibrated_bound(read, np.random.default_rng(seed))
    error = float(ece(y, read)[0])
    out.update(
        method="isotonic" if mapped else "none",
        checked=True,
        brier_scores=brier_scores,
        brier_isotonic_out_of_fold=brier_map,
        calibration_error=error,
        calibration_error_bound=bound,
    )
    if mapped:
        fitted = _isotonic(p, y.astype(float))
        out["knots"] = [fitted.X_thresholds_.tolist(), fitted.y_thresholds_.tolist()]
    return out, read


def _calibrated_bound(p: np.ndarray, rng: np.random.Generator) -> float:
    """The 95th percentile of the calibration error of labels drawn from ``p`` itself (drawn in
    blocks: a million-row holdout would need gigabytes at once)."""
    block = max(1, min(DRAWS, 5_000_000 // max(len(p), 1)))
    errors = [
        ece(rng.random((min(block, DRAWS - done), len(p))) < p, p)
        for done in range(0, DRAWS, block)
    ]
    return float(np.quantile(np.concatenate(errors), 0.95))


def read(calibration: dict[str, Any] | None, scores: np.ndarray) -> np.ndarray:
    """The probabilities the estimate reads from ``scores``: through the holdout's map if it kept
    one, else the scores themselves."""
    scores = np.asarray(scores, dtype=float)
    if not calibration or calibration.get("method") != "isotonic":
        return scores
    x, y = calibration["knots"]
    return np.interp(scores, x, y)


def unsupported(calibration: dict[str, Any] | None) -> str | None:
    """Why the holdout cannot vouch for reading the scores as probabilities, or None."""
    if not calibration:
        return "the model's reference predates the calibration check (evaluate it again)"
    if not calibration.get("checked"):
        return f"calibration not checked: {calibration.get('reason')}"
    error, bound = calibration["calibration_error"], calibration["calibration_error_bound"]
    if error > bound:
        how = (
            "through the holdout's isotonic map"
            if calibration["method"] == "isotonic"
            else "as they are"
        )
        return (
            f"not calibrated: the scores read {how} miss the holdout's outcomes by {error:.3f} "
            f"(calibration error, out of fold), more than the {bound:.3f} a calibrated model "
            f"shows on {calibration['holdout_rows']} rows in 95% of draws"
        )
    return None
