"""One scoring window's monitoring rows (pure): drift per column, prediction drift, estimated and
measured performance, each with its threshold and status. The monitor step writes them to the
monitoring table; ``mlrecipes retrain`` reads them back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlrecipes.monitoring import calibration, drift, performance
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
# the estimate's own rows: its interval's ends, and what it rests on
INTERVAL_LOW, INTERVAL_HIGH = "_interval_low", "_interval_high"
OUTSIDE = "scores_outside_holdout_range"
OUTSIDE_SHARE = 0.05  # more of the window than this outside the holdout's scores: unsupported
HOLDOUT_CALIBRATION = "holdout_calibration_error"
HOLDOUT_ERROR = "_holdout_error"  # the estimate's error on the holdout, per metric


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
    checked = reference.get("calibration")
    rows: list[Row] = []
    parts = [(ESTIMATED, grid.estimated(checked))]
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
    return rows + estimate_support_rows(checked, grid)


def estimate_support_rows(checked: dict[str, Any] | None, grid: ScoreGrid) -> list[Row]:
    """What the estimate rests on, as rows beside it: its interval (``LEVEL`` of the measured
    values fall in it if the scores read right), the share of the window scored outside the
    holdout's score range, and the holdout's calibration error against its bound. A ``warn``
    on either of the last two means the estimate is not supported (``estimate_caveats``)."""
    rows = []
    for metric, (low, high) in estimate_interval(checked, grid).items():
        rows.append(Row(ESTIMATED, "", f"{metric}{INTERVAL_LOW}", low, None, "info"))
        rows.append(Row(ESTIMATED, "", f"{metric}{INTERVAL_HIGH}", high, None, "info"))
    for metric, seen in ((checked or {}).get("holdout_estimate") or {}).items():
        rows.append(Row(ESTIMATED, "", f"{metric}{HOLDOUT_ERROR}", seen["error"], None, "info"))
    outside = grid.share_outside((checked or {}).get("score_range"))
    if outside == outside:  # not NaN
        status = "warn" if outside > OUTSIDE_SHARE else "ok"
        rows.append(Row(ESTIMATED, "", OUTSIDE, outside, OUTSIDE_SHARE, status))
    if checked and checked.get("checked"):
        error, bound = checked["calibration_error"], checked["calibration_error_bound"]
        status = "warn" if error > bound else "ok"
        rows.append(Row(ESTIMATED, "", HOLDOUT_CALIBRATION, error, bound, status))
    else:
        rows.append(Row(ESTIMATED, "", HOLDOUT_CALIBRATION, float("nan"), None, "warn"))
    return rows


def estimate_interval(
    checked: dict[str, Any] | None, grid: ScoreGrid
) -> dict[str, tuple[float, float]]:
    """The window's ``LEVEL`` interval (its own sampling spread, ``ScoreGrid.estimate_interval``)
    widened by the estimate's error on the holdout, towards the holdout's measured side: the
    holdout is where the reading of the scores could be checked against labels, and a model
    overconfident out of sample (its holdout too small for the calibration check to fail) shows
    there as an estimate above the measurement."""
    seen = (checked or {}).get("holdout_estimate") or {}
    out = {}
    for metric, (low, high) in grid.estimate_interval(checked).items():
        error = seen.get(metric, {}).get("error", 0.0)
        out[metric] = (low - max(error, 0.0), high + max(-error, 0.0))
    return out


def estimate_caveats(rows: list[Row], checked: dict[str, Any] | None = None) -> list[str]:
    """Why a window's estimate cannot be taken at face value, for people (empty: it can).
    ``checked`` (the reference's calibration) words the calibration caveat; without it the
    rows alone say it."""
    out = []
    for row in rows:
        if row.kind != ESTIMATED or row.status != "warn":
            continue
        if row.metric == OUTSIDE:
            out.append(
                f"{row.value:.0%} of the window is scored outside the holdout's score range "
                f"(more than {OUTSIDE_SHARE:.0%}): no label checked the scores there"
            )
        elif row.metric == HOLDOUT_CALIBRATION:
            out.append(_calibration_caveat(row, checked))
    return out


def _calibration_caveat(row: Row, checked: dict[str, Any] | None) -> str:
    if checked is not None:
        return calibration.unsupported(checked) or "calibration unsupported"
    if row.value != row.value:  # NaN: the holdout could not be checked
        return "the model's calibration was not checked on its holdout"
    return (
        f"not calibrated: the holdout's calibration error {row.value:.3f} is above the "
        f"{row.threshold:.3f} a calibrated model shows on as many rows"
    )


def interval_of(rows: list[Row], metric: str) -> tuple[float, float] | None:
    """The estimate's interval of ``metric`` from a window's rows, if it has one."""
    found = {r.metric: r.value for r in rows if r.kind == ESTIMATED}
    low, high = found.get(f"{metric}{INTERVAL_LOW}"), found.get(f"{metric}{INTERVAL_HIGH}")
    return None if low is None or high is None else (low, high)


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
