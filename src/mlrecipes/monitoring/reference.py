"""What a model is monitored against, computed when it is evaluated (pure): a summary of its
training data per input column, the distribution of its scores on the test split (its holdout),
its holdout metrics and its labels' cut-off. Stored with the model's run, so every later window
is compared with the model that scored it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlrecipes.monitoring import drift, performance

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
