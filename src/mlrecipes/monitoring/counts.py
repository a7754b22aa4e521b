"""A scoring window as counts (pure numpy): what every monitoring statistic is computed from.

Both engines produce the same :class:`WindowCounts`: the pandas engine by adding up record batches
(memory stays flat whatever the window's size), the Spark engine by aggregations on the executors
(``mlrecipes.monitoring.spark_counts``), so a window's rows never come to the driver. Counts add
up, so a window read in batches gives exactly the counts of the whole window.

- per input column: rows, nulls, and rows per reference bin (numeric) or per level (categorical);
- the scores on the reference's score bins (prediction drift);
- the scores on a fixed grid (``GRID`` equal-width cells, each split at the model's cut-off), with
  the labels where they are known: the performance metrics, measured and estimated, come from it.

Grid metrics are exact for F1, positive rate and calibration error (their bins are unions of grid
cells); ROC AUC and top-decile lift treat scores within one 0.0001-wide cell as tied, which moves
them by well under 0.001 against the exact values (a unit test bounds it; at 0.001-wide cells the
estimate's error was 0.2% above NannyML's exact CBPE on real data, ``benchmarks/monitoring_quality.py``). That is the price of a
one-pass, fixed-memory window; the holdout's reference values stay exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mlrecipes.monitoring.calibration import DRAWS, LEVEL
from mlrecipes.monitoring.calibration import read as read_scores
from mlrecipes.monitoring.drift import UNSEEN, ColumnSummary, Drift, column_drift
from mlrecipes.stats.auc import roc_auc_from_counts

GRID = 10_000  # cells of the score grid over [0, 1]
CALIBRATION_BINS = 10  # equal-width bins of the calibration error (unions of grid cells)
LABEL = "__mlrecipes_positive"  # a labelled row's outcome (1.0 / 0.0), joined to scores by key


@dataclass
class ColumnCounts:
    rows: int = 0
    nulls: int = 0
    bins: np.ndarray | None = None  # numeric: rows per reference bin (nulls excluded)
    levels: dict[str, int] = field(default_factory=dict)  # categorical: rows per level

    def add(self, other: ColumnCounts) -> None:
        self.rows += other.rows
        self.nulls += other.nulls
        if other.bins is not None:
            self.bins = other.bins.copy() if self.bins is None else self.bins + other.bins
        for level, count in other.levels.items():
            self.levels[level] = self.levels.get(level, 0) + count

    def distribution(self) -> np.ndarray | dict[str, int]:
        return self.bins if self.bins is not None else self.levels


def grid_index(scores: np.ndarray, threshold: float) -> np.ndarray:
    """The grid cell of each score, split at the cut-off: cells ordered by score."""
    cell = np.clip(np.floor(scores * GRID), 0, GRID - 1).astype(np.int64)
    return 2 * cell + (scores >= threshold)


@dataclass
class ScoreGrid:
    """Per grid cell: rows and their summed score; of the labelled rows: count, positives and
    summed score."""

    rows: np.ndarray = field(default_factory=lambda: np.zeros(2 * GRID))
    score_sum: np.ndarray = field(default_factory=lambda: np.zeros(2 * GRID))
    labelled: np.ndarray = field(default_factory=lambda: np.zeros(2 * GRID))
    positives: np.ndarray = field(default_factory=lambda: np.zeros(2 * GRID))
    labelled_score_sum: np.ndarray = field(default_factory=lambda: np.zeros(2 * GRID))

    def add_scores(
        self, scores: np.ndarray, threshold: float, positive: np.ndarray | None = None
    ) -> None:
        """Add scores; ``positive`` is 1.0 / 0.0 for a labelled row and NaN for an unlabelled one."""
        index = grid_index(scores, threshold)
        size = 2 * GRID
        self.rows += np.bincount(index, minlength=size)
        self.score_sum += np.bincount(index, weights=scores, minlength=size)
        if positive is None:
            return
        known = ~np.isnan(positive)
        self.labelled += np.bincount(index[known], minlength=size)
        self.positives += np.bincount(index[known], weights=positive[known], minlength=size)
        self.labelled_score_sum += np.bincount(index[known], weights=scores[known], minlength=size)

    def add(self, other: ScoreGrid) -> None:
        for name in ("rows", "score_sum", "labelled", "positives", "labelled_score_sum"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def labelled_rows(self) -> int:
        return int(self.labelled.sum())

    @property
    def labelled_positives(self) -> int:
        return round(float(self.positives.sum()))

    def expected_positives(self, calibration: dict[str, Any] | None = None) -> np.ndarray:
        """Per cell, the positives its rows hold if the scores, read through the holdout's
        calibration (``mlrecipes.monitoring.calibration``), are the probabilities."""
        n = self.rows
        if not calibration or calibration.get("method") != "isotonic":
            return self.score_sum.copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, self.score_sum / np.maximum(n, 1), 0.0)
        return n * read_scores(calibration, mean)

    def estimated(self, calibration: dict[str, Any] | None = None) -> dict[str, float]:
        """CBPE (see ``performance``): each row is a positive with weight p, a negative with 1 - p."""
        n, s = self.rows, self.expected_positives(calibration)
        total = n.sum()
        out = _classification(s, n - s)
        out["positive_rate"] = float(s.sum() / total) if total else math.nan
        if total and 0 < s.sum() < total:
            out["roc_auc"] = roc_auc_from_counts(s, n - s)
            out["lift_top_decile"] = _lift(n, s)
        return out

    def estimate_interval(
        self, calibration: dict[str, Any] | None = None, draws: int = DRAWS, seed: int = 0
    ) -> dict[str, tuple[float, float]]:
        """Where ``LEVEL`` of the measured ROC AUC and F1 values fall if the estimate's reading
        of the scores holds: each cell's positives drawn (binomial) from its expected rate,
        the metric computed per draw. It is the window's own sampling spread, so a small window
        gets a wide interval; a change the scores cannot see (concept drift) lies outside it."""
        used = np.flatnonzero(self.rows > 0)  # empty cells add nothing: draw the others only
        n = self.rows[used]
        rate = np.clip(self.expected_positives(calibration)[used] / n, 0.0, 1.0)
        rng = np.random.default_rng(seed)
        pos = rng.binomial(n.astype(np.int64), rate, size=(draws, len(n))).astype(float)
        neg = n - pos
        above = used % 2 == 1
        tp, fp, fn = pos[:, above].sum(1), neg[:, above].sum(1), pos[:, ~above].sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
            total_pos = pos.sum(1)
            higher = total_pos[:, None] - np.cumsum(pos, axis=1)
            auc = (neg * (higher + 0.5 * pos)).sum(1) / (total_pos * neg.sum(1))
        tail = (1 - LEVEL) / 2
        out = {"f1_score": (float(np.quantile(f1, tail)), float(np.quantile(f1, 1 - tail)))}
        auc = auc[np.isfinite(auc)]
        if len(auc) == draws:  # both classes in every draw
            out["roc_auc"] = (float(np.quantile(auc, tail)), float(np.quantile(auc, 1 - tail)))
        return out

    def share_outside(self, score_range: list[float] | None) -> float:
        """The share of rows scored outside ``score_range`` (the holdout's), to the grid's
        resolution: a cell counts as outside when it lies wholly below the cell of the lowest
        holdout score or above the cell of the highest."""
        total = self.rows.sum()
        if not total or not score_range:
            return math.nan
        cell = np.arange(2 * GRID) // 2
        low, high = (min(int(v * GRID), GRID - 1) for v in score_range)
        return float(self.rows[(cell < low) | (cell > high)].sum() / total)

    def measured(self) -> dict[str, float]:
        """The labelled rows' metrics (AUC only when both classes are present)."""
        m, y = self.labelled, self.positives
        total = m.sum()
        out = _classification(y, m - y)
        out["positive_rate"] = float(y.sum() / total) if total else math.nan
        out["calibration_error"] = self._calibration_error()
        if 0 < y.sum() < total:
            out["roc_auc"] = roc_auc_from_counts(y, m - y)
        if y.sum() > 0:
            out["lift_top_decile"] = _lift(m, y)
        return out

    def _calibration_error(self) -> float:
        total = self.labelled.sum()
        if not total:
            return math.nan
        per_bin = 2 * GRID // CALIBRATION_BINS

        def binned(values: np.ndarray) -> np.ndarray:
            return values.reshape(CALIBRATION_BINS, per_bin).sum(axis=1)

        gap = np.abs(binned(self.positives) - binned(self.labelled_score_sum))
        return float(gap.sum() / total)


def _classification(positive: np.ndarray, negative: np.ndarray) -> dict[str, float]:
    """F1 at the cut-off: odd cells hold the scores at or above it."""
    above = np.arange(len(positive)) % 2 == 1
    tp, fp = positive[above].sum(), negative[above].sum()
    fn = positive[~above].sum()
    return {"f1_score": float(2 * tp / (2 * tp + fp + fn)) if (tp + fp + fn) > 0 else 0.0}


def _lift(rows: np.ndarray, positives: np.ndarray) -> float:
    """Positive rate in the top tenth by score over the overall rate; the cell the tenth ends
    in counts pro rata."""
    total = rows.sum()
    k = max(1.0, math.ceil(0.1 * total))
    taken, found = 0.0, 0.0
    for cell in range(len(rows) - 1, -1, -1):
        if rows[cell] == 0:
            continue
        take = min(rows[cell], k - taken)
        found += positives[cell] * take / rows[cell]
        taken += take
        if taken >= k:
            break
    return float((found / k) / (positives.sum() / total))


@dataclass
class ErrorSums:
    """A regression window's labelled rows: their count and summed squared and absolute errors
    (the measured errors, exact, from sums that add up batch by batch)."""

    labelled: int = 0
    squared: float = 0.0
    absolute: float = 0.0

    def add_predictions(self, predictions: np.ndarray, outcome: np.ndarray | None) -> None:
        if outcome is None:
            return
        known = ~np.isnan(outcome) & ~np.isnan(predictions)
        residual = predictions[known] - outcome[known]
        self.labelled += int(known.sum())
        self.squared += float(np.sum(residual**2))
        self.absolute += float(np.sum(np.abs(residual)))

    def add(self, other: ErrorSums) -> None:
        self.labelled += other.labelled
        self.squared += other.squared
        self.absolute += other.absolute

    def measured(self) -> dict[str, float]:
        if not self.labelled:
            return {}
        return {
            "root_mean_squared_error": math.sqrt(self.squared / self.labelled),
            "mean_absolute_error": self.absolute / self.labelled,
        }


@dataclass
class WindowCounts:
    rows: int = 0
    columns: dict[str, ColumnCounts] = field(default_factory=dict)
    scores: ColumnCounts = field(default_factory=ColumnCounts)  # on the reference's score bins
    grid: ScoreGrid = field(default_factory=ScoreGrid)
    errors: ErrorSums = field(default_factory=ErrorSums)  # regression windows
    input_source: str = "the scores table"  # where the input columns were counted

    def add(self, other: WindowCounts) -> None:
        self.rows += other.rows
        for name, counts in other.columns.items():
            self.columns.setdefault(name, ColumnCounts()).add(counts)
        self.scores.add(other.scores)
        self.grid.add(other.grid)
        self.errors.add(other.errors)


def _numbers(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A column as floats; text is trimmed and parsed, blanks and junk become NaN."""
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # junk among the numbers: parse value by value, junk as NaN
        return pd.to_numeric(pd.Series(text.to_pylist()), errors="coerce").to_numpy(dtype=float)


def _levels(column: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """Rows per level (nulls excluded), counted by Arrow: no Python object per row (a window of
    millions of rows in pandas' object columns fragments the heap until memory grows with it)."""
    import pyarrow.compute as pc

    if pa.types.is_boolean(column.type):  # spelled as pandas' astype(str) spells them
        column = pc.if_else(column, "True", "False")
    counted = pc.value_counts(
        pc.cast(column, pa.string()) if not pa.types.is_dictionary(column.type) else column
    )
    return {
        str(v): int(c)
        for v, c in zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True)
        if v is not None
    }  # fmt: skip


def bin_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    data = values[~np.isnan(values)]
    return np.bincount(
        np.searchsorted(np.asarray(edges), data, side="right"), minlength=len(edges) + 1
    )


def _column_counts(column: pa.Array | pa.ChunkedArray, summary: ColumnSummary) -> ColumnCounts:
    if summary.kind == "numeric":
        numbers = _numbers(column)
        nulls = int(np.isnan(numbers).sum())
        return ColumnCounts(len(column), nulls, bins=bin_counts(numbers, summary.edges))
    return ColumnCounts(len(column), column.null_count, levels=_levels(column))


def column_counts(values: pd.Series, summary: ColumnSummary) -> ColumnCounts:
    return _column_counts(pa.array(values, from_pandas=True), summary)


def fold_levels(levels: dict[str, int], summary: ColumnSummary) -> dict[str, int]:
    """Level counts keyed by the reference's levels: the rest under ``__other__`` when the
    reference had a long tail, else under ``UNSEEN``."""
    known = set(summary.levels)
    rest = "__other__" if "__other__" in known else UNSEEN
    out: dict[str, int] = {}
    for level, count in levels.items():
        key = level if level in known else rest
        out[key] = out.get(key, 0) + int(count)
    return out


def drift_of(columns: dict[str, ColumnSummary], counts: WindowCounts) -> list[Drift]:
    """Every drift metric of every reference column the window has."""
    found: list[Drift] = []
    for name, summary in columns.items():
        got = counts.columns.get(name)
        if got is None:
            continue
        distribution = (
            fold_levels(got.levels, summary) if summary.kind == "categorical" else got.bins
        )
        found.extend(column_drift(summary, got.rows, got.nulls, distribution))
    return found


def batch_counts(
    batch: pa.RecordBatch | pa.Table,
    columns: dict[str, ColumnSummary],
    score_summary: ColumnSummary | None = None,
    threshold: float = 0.5,
    positive: np.ndarray | None = None,
    score_column: str = "predicted_score",
    regression: bool = False,
) -> WindowCounts:
    """The counts of one Arrow batch of a window (``positive``: 1/0 per labelled row, NaN else;
    for a regression window, ``regression``, the outcome itself). A classifier's scores fill the
    score grid; a regression model's predictions, the error sums."""
    out = WindowCounts(rows=batch.num_rows)
    names = set(batch.schema.names)
    for name, summary in columns.items():
        if name in names:
            out.columns[name] = _column_counts(batch.column(name), summary)
    if score_summary is not None and score_column in names:
        scores = _numbers(batch.column(score_column))
        out.scores = ColumnCounts(len(scores), 0, bins=bin_counts(scores, score_summary.edges))
        if regression:
            out.errors.add_predictions(scores, positive)
        else:
            out.grid.add_scores(scores, threshold, positive)
    return out


def frame_counts(
    frame: pd.DataFrame,
    columns: dict[str, ColumnSummary],
    score_summary: ColumnSummary | None = None,
    threshold: float = 0.5,
    positive: np.ndarray | None = None,
    score_column: str = "predicted_score",
    regression: bool = False,
) -> WindowCounts:
    """The counts of a pandas frame (as an Arrow table: the same counting as a batch)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return batch_counts(
        table, columns, score_summary, threshold, positive, score_column, regression
    )
