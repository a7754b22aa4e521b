"""One scoring window's monitoring rows (pure): drift per column, prediction drift, estimated and
measured performance, each with its threshold and status. The monitor step writes them to the
monitoring table; ``mlrecipes retrain`` reads them back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlrecipes.monitoring import drift, performance
from mlrecipes.monitoring.counts import ErrorSums, ScoreGrid, WindowCounts, drift_of
from mlrecipes.monitoring.reference import columns_of, is_regression, score_column, scores_of

# kinds of rows in the monitoring table
DRIFT, PREDICTION_DRIFT, ESTIMATED, MEASURED = (
    "drift",
    "prediction_drift",
    "estimated_performance",
    "performance",
)


# the metrics graded by their drop from the holdout (the others are reported, ungraded)
GRADED = ("roc_auc", "f1_score")


@dataclass(frozen=True)
class Thresholds:
    """warn / alert levels: drift metrics by value, performance by its drop from the holdout."""

    drift: tuple[float, float] = (0.1, 0.25)  # PSI and Jensen-Shannon distance
    unseen_share: tuple[float, float] = (0.05, 0.1)
    null_rate_change: tuple[float, float] = (0.05, 0.1)
    prediction_drift: tuple[float, float] = (0.1, 0.25)
    performance_drop: tuple[float, float] = (0.03, 0.05)  # roc_auc and f1_score
    error_increase: tuple[float, float] = (0.1, 0.2)  # regression errors, relative to holdout
    columns: dict[str, tuple[float, float]] = field(default_factory=dict)  # drift, per column

    def for_drift(self, column: str, metric: str) -> tuple[float, float]:
        if metric == "unseen_share":
            return self.unseen_share
        if metric == "null_rate_change":
            return self.null_rate_change
        return self.columns.get(column, self.drift)


@dataclass(frozen=True)
class Row:
    kind: str
    column: str
    metric: str
    value: float
    threshold: float | None
    status: str  # ok | warn | alert | info

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "status": self.status,
        }


def _graded(kind: str, column: str, metric: str, value: float, levels: tuple[float, float]) -> Row:
    warn, alert = levels
    return Row(kind, column, metric, value, alert, drift.status(value, warn, alert))


def input_rows(
    reference: dict[str, Any], counts: WindowCounts, thresholds: Thresholds
) -> list[Row]:
    """Drift of each input column, and of the scores, from a window's counts."""
    rows = [
        _graded(DRIFT, d.column, d.metric, d.value, thresholds.for_drift(d.column, d.metric))
        for d in drift_of(columns_of(reference), counts)
    ]
    bins = counts.scores.bins
    if bins is not None and bins.sum():
        value = drift.psi(np.asarray(scores_of(reference).shares), bins)
        rows.append(
            _graded(
                PREDICTION_DRIFT, score_column(reference), "psi", value, thresholds.prediction_drift
            )
        )
    return rows


def performance_rows(
    reference: dict[str, Any], grid: ScoreGrid, thresholds: Thresholds, measured: bool
) -> list[Row]:
    """Estimated performance (always), measured performance (``measured``: from the grid's
    labelled rows), each graded by its drop from the model's holdout values."""
    holdout = reference["holdout"]
    rows: list[Row] = []
    parts = [(ESTIMATED, grid.estimated())]
    if measured:
        parts.append((MEASURED, grid.measured()))
    for kind, values in parts:
        drops = performance.drop(holdout, values)
        for metric, value in values.items():
            if metric in drops and metric in GRADED:
                warn, alert = thresholds.performance_drop
                status = drift.status(max(drops[metric], 0.0), warn, alert)
                rows.append(Row(kind, "", metric, value, holdout[metric] - alert, status))
            else:
                rows.append(Row(kind, "", metric, value, None, "info"))
    return rows


def error_rows(reference: dict[str, Any], errors: ErrorSums, thresholds: Thresholds) -> list[Row]:
    """A regression window's measured errors, each graded by how much larger (relative) it is
    than on the model's holdout. No estimate: a regression model's output carries no confidence
    to estimate its error from before the outcomes arrive."""
    holdout = reference["holdout"]
    values = errors.measured()
    increases = performance.increase(holdout, values)
    warn, alert = thresholds.error_increase
    rows = []
    for metric, value in values.items():
        if metric in increases:
            status = drift.status(max(increases[metric], 0.0), warn, alert)
            rows.append(Row(MEASURED, "", metric, value, holdout[metric] * (1 + alert), status))
    return rows


def window_performance(
    reference: dict[str, Any], counts: WindowCounts, thresholds: Thresholds, measured: bool
) -> list[Row]:
    """Performance rows of a window, by the kind of model its reference describes."""
    if is_regression(reference):
        return error_rows(reference, counts.errors, thresholds) if measured else []
    return performance_rows(reference, counts.grid, thresholds, measured)


def alerts(rows: list[Row]) -> list[str]:
    """One line per alert, for people (the card, the run's result line, the trigger's reason)."""
    out = []
    for row in rows:
        if row.status != "alert":
            continue
        where = f" {row.column}" if row.column else ""
        out.append(f"{row.kind}{where}: {row.metric} {row.value:.3f}")
    return out
