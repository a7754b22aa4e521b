"""Drift of a scoring window against a reference, per column (pure numpy/scipy).

The reference is summarised once (:func:`summarize`): numeric columns by their quantile bin
edges and the share of reference rows in each bin, categorical columns by their level shares,
both with their null rate. A window is then compared through counts only
(``mlrecipes.monitoring.counts``), which is what lets a Spark engine aggregate a window on the
executors and hand back a few numbers: the statistics below never see rows.

- numeric: PSI on the reference's quantile bins (10 by default);
- categorical: PSI and Jensen-Shannon distance over the levels, and the share of the window in
  levels the reference never had;
- both: the change in null rate.

The PSI's usual reading (< 0.1 stable, 0.1-0.25 moderate, > 0.25 significant) depends on the bin
count and sample size; the thresholds are configurable per column and the bin count is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlrecipes.stats import text_numbers

EPSILON = 1e-4  # share given to an empty bin, so PSI stays finite (a common convention)
UNSEEN = "__unseen__"


@dataclass(frozen=True)
class ColumnSummary:
    name: str
    kind: str  # "numeric" | "categorical"
    rows: int
    null_rate: float
    edges: list[float] = field(default_factory=list)  # numeric: inner bin edges
    shares: list[float] = field(default_factory=list)  # numeric: share per bin (non-null)
    levels: dict[str, float] = field(default_factory=dict)  # categorical: share per level

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "null_rate": self.null_rate,
            "edges": self.edges,
            "shares": self.shares,
            "levels": self.levels,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSummary:
        return cls(**data)


@dataclass(frozen=True)
class Drift:
    column: str
    metric: str  # "psi" | "js_distance" | "unseen_share" | "null_rate_change"
    value: float


def is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def numbers_in_text(values: pd.Series) -> pd.Series | None:
    """A text column holding numbers, as numbers; monitoring tolerates 1% of stray values."""
    return text_numbers.numbers_in_text(values, min_share=0.99)


def summarize(values: pd.Series, bins: int = 10, max_levels: int = 50) -> ColumnSummary:
    """The reference summary of one column (quantile bins, or level shares); numbers stored as
    text are summarised as numbers, blanks as missing."""
    values = numbers_in_text(values) if numbers_in_text(values) is not None else values
    rows = len(values)
    nulls = int(values.isna().sum())
    present = values.dropna()
    null_rate = nulls / rows if rows else 0.0
    if is_numeric(values):
        data = present.to_numpy(dtype=float)
        edges = np.unique(np.quantile(data, np.linspace(0, 1, bins + 1)[1:-1])) if len(data) else []
        counts = np.bincount(np.searchsorted(edges, data, side="right"), minlength=len(edges) + 1)
        shares = counts / max(counts.sum(), 1)
        return ColumnSummary(
            str(values.name), "numeric", rows, null_rate, [float(e) for e in edges],
            [float(x) for x in shares],
        )  # fmt: skip
    counts = present.astype(str).value_counts()
    if len(counts) > max_levels:  # the long tail shares one bucket
        tail = counts.iloc[max_levels - 1 :].sum()
        counts = pd.concat([counts.iloc[: max_levels - 1], pd.Series({"__other__": tail})])
    shares = counts / max(counts.sum(), 1)
    return ColumnSummary(
        str(values.name), "categorical", rows, null_rate, levels={str(k): float(v) for k, v in shares.items()}
    )  # fmt: skip


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two share vectors over the same bins."""
    e = np.clip(np.asarray(expected, dtype=float), EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=float), EPSILON, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(expected: np.ndarray, actual: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2: 0 identical, 1 disjoint), scipy's."""
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(expected, actual, base=2))


def column_drift(
    summary: ColumnSummary, window_rows: int, window_nulls: int, counts: Any
) -> list[Drift]:
    """Every drift metric of one column from a window's counts (rows per reference bin for a
    numeric column, rows per reference level, folded, for a categorical one)."""
    null_change = (window_nulls / window_rows if window_rows else 0.0) - summary.null_rate
    out = [Drift(summary.name, "null_rate_change", float(null_change))]
    if summary.kind == "numeric":
        counts = np.asarray(counts, dtype=float)
        if counts.sum() > 0:
            out.append(Drift(summary.name, "psi", psi(np.asarray(summary.shares), counts)))
        return out
    levels = list(summary.levels)
    expected = np.array([summary.levels[lv] for lv in levels] + [0.0])
    actual = np.array([counts.get(lv, 0) for lv in levels] + [counts.get(UNSEEN, 0)], dtype=float)
    total = actual.sum()
    if total > 0:
        out.append(Drift(summary.name, "psi", psi(expected, actual)))
        out.append(Drift(summary.name, "js_distance", js_distance(expected, actual / total)))
        out.append(Drift(summary.name, "unseen_share", float(actual[-1] / total)))
    return out


def status(value: float, warn: float, alert: float) -> str:
    """``ok``, ``warn`` or ``alert`` for a drift value against its thresholds (absolute)."""
    magnitude = abs(value)
    if magnitude >= alert:
        return "alert"
    if magnitude >= warn:
        return "warn"
    return "ok"
