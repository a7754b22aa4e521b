"""Metric vocabulary of the recipes: which names exist per task and which direction is better.

These are the names accepted by ``primary_metric`` and ``validation_criteria`` (MLflow Recipes' sets,
plus ``precision_recall_auc`` and ``r2_score``, which MLflow computes anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Task = Literal["classification/binary", "classification/multiclass", "regression"]

BUILTIN_METRICS: dict[str, dict[str, bool]] = {
    "classification/binary": {
        "true_negatives": True,
        "false_positives": False,
        "false_negatives": False,
        "true_positives": True,
        "recall_score": True,
        "precision_score": True,
        "f1_score": True,
        "accuracy_score": True,
        "roc_auc": True,
        "precision_recall_auc": True,
        "log_loss": False,
    },
    "classification/multiclass": {
        "recall_score": True,
        "precision_score": True,
        "f1_score_macro": True,
        "f1_score_micro": True,
        "accuracy_score": True,
        "roc_auc": True,
        "log_loss": False,
    },
    "regression": {
        "mean_absolute_error": False,
        "mean_squared_error": False,
        "root_mean_squared_error": False,
        "max_error": False,
        "mean_absolute_percentage_error": False,
        "r2_score": True,
    },
}

# Computed from predicted probabilities: skipped for classifiers without predict_proba.
PROBABILITY_METRICS = frozenset({"roc_auc", "precision_recall_auc", "log_loss"})

DEFAULT_PRIMARY_METRIC: dict[str, str] = {
    "classification/binary": "f1_score",
    "classification/multiclass": "f1_score_macro",
    "regression": "root_mean_squared_error",
}


@dataclass(frozen=True)
class CriterionResult:
    metric: str
    value: float | None
    threshold: float
    greater_is_better: bool

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        if self.greater_is_better:
            return self.value >= self.threshold
        return self.value <= self.threshold

    def describe(self) -> str:
        op = ">=" if self.greater_is_better else "<="
        shown = "missing" if self.value is None else f"{self.value:.4g}"
        verdict = "passed" if self.passed else "failed"
        return f"{self.metric} = {shown} (needs {op} {self.threshold:g}): {verdict}"


def check_criteria(
    metrics: dict[str, float],
    criteria: list[tuple[str, float]],
    directions: dict[str, bool],
) -> tuple[str, list[CriterionResult]]:
    """Decide VALIDATED / REJECTED / UNKNOWN from test metrics (pure)."""
    if not criteria:
        return "UNKNOWN", []
    results = [
        CriterionResult(name, metrics.get(name), threshold, directions.get(name, True))
        for name, threshold in criteria
    ]
    status = "VALIDATED" if all(r.passed for r in results) else "REJECTED"
    return status, results
