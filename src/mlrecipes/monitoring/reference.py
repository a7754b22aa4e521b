"""What a model is monitored against, computed when it is evaluated (pure): a summary of its
training data per input column, the distribution of its scores on the test split (its holdout),
its holdout metrics and its labels' cut-off. Stored with the model's run, so every later window
is compared with the model that scored it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlrecipes.monitoring import calibration, drift, performance

SCORE = "predicted_score"
PREDICTION = "prediction"  # a regression model's output column


def reference_summary(
    training: pd.DataFrame,
    feature_columns: list[str],
    id_columns: list[str],
    is_positive: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    bins: int = 10,
) -> dict[str, Any]:
    """The reference of one model (JSON-ready)."""
    columns = [c for c in feature_columns if c in training.columns and c not in id_columns]
    score_summary = drift.summarize(pd.Series(scores, name=SCORE), bins=bins)
    return {
        "columns": {c: drift.summarize(training[c], bins=bins).as_dict() for c in columns},
        "scores": score_summary.as_dict(),
        "holdout": performance.measured(is_positive, scores, threshold),
        "holdout_rows": len(scores),
        "threshold": threshold,
        "bins": bins,
        "calibration": _checked(is_positive, scores, threshold),
    }


def _checked(is_positive: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """The holdout's calibration verdict, with what the estimate says of the holdout itself."""
    verdict, read = calibration.judge(is_positive, scores)
    if verdict["checked"]:
        verdict["holdout_estimate"] = holdout_estimate(is_positive, scores, read, threshold)
    return verdict


def holdout_estimate(
    is_positive: np.ndarray, scores: np.ndarray, read: np.ndarray, threshold: float
) -> dict[str, dict[str, float]]:
    """The estimate run on the holdout, each row read as ``read`` (out of fold), against the
    holdout's labels: per graded metric, estimated, measured and their difference (the
    estimate's error where the answer is known; a window's interval is widened by it)."""
    from mlrecipes.monitoring.counts import GRID, ScoreGrid, grid_index

    p = np.asarray(scores, dtype=float)
    grid = ScoreGrid()
    grid.add_scores(p, threshold, np.asarray(is_positive, dtype=float))
    grid.score_sum = np.bincount(grid_index(p, threshold), weights=read, minlength=2 * GRID)
    estimated, measured = grid.estimated(), grid.measured()
    return {
        metric: {
            "estimated": estimated[metric],
            "measured": measured[metric],
            "error": estimated[metric] - measured[metric],
        }
        for metric in ("roc_auc", "f1_score")
        if metric in estimated and metric in measured
    }


def regression_reference(
    training: pd.DataFrame,
    feature_columns: list[str],
    id_columns: list[str],
    y: np.ndarray,
    predictions: np.ndarray,
    bins: int = 10,
) -> dict[str, Any]:
    """The reference of a regression model: its training columns, the distribution of its
    predictions on the test split (prediction drift), its holdout errors (JSON-ready)."""
    columns = [c for c in feature_columns if c in training.columns and c not in id_columns]
    return {
        "task": "regression",
        "score_column": PREDICTION,
        "columns": {c: drift.summarize(training[c], bins=bins).as_dict() for c in columns},
        "scores": drift.summarize(pd.Series(predictions, name=PREDICTION), bins=bins).as_dict(),
        "holdout": performance.errors(np.asarray(y, dtype=float), predictions),
        "holdout_rows": len(predictions),
        "threshold": None,
        "bins": bins,
    }


def is_regression(reference: dict[str, Any]) -> bool:
    return reference.get("task") == "regression"


def score_column(reference: dict[str, Any]) -> str:
    """The scores table's column the reference's score distribution describes."""
    return str(reference.get("score_column", SCORE))


def columns_of(reference: dict[str, Any]) -> dict[str, drift.ColumnSummary]:
    return {n: drift.ColumnSummary.from_dict(d) for n, d in reference["columns"].items()}


def scores_of(reference: dict[str, Any]) -> drift.ColumnSummary:
    return drift.ColumnSummary.from_dict(reference["scores"])
