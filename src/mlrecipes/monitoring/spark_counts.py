"""A window's counts by Spark aggregations (for windows scored by predict's Spark engine).

Three jobs, each returning a few hundred numbers to the driver, never the rows:
1. one ``agg``: rows, nulls per column, and per numeric column the rows at or above each
   reference bin edge (a bin's count is the difference of two neighbours);
2. one ``groupBy`` over every categorical column at once (exploded to (column, level) pairs);
3. one ``groupBy`` of the score grid cell: rows, summed score, and of the labelled rows
   (labels joined by key on the executors): count, positives, summed score.
The result is the same :class:`WindowCounts` the pandas engine builds, so every statistic after it
is shared (a test checks both engines agree on ``local[2]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlrecipes.monitoring.counts import GRID, LABEL, ColumnCounts, ScoreGrid, WindowCounts
from mlrecipes.monitoring.drift import ColumnSummary


def _numeric(F: Any, frame: Any, name: str) -> Any:
    """The Spark form of ``counts._numbers``: text trimmed and parsed, junk as null."""
    column = F.col(f"`{name}`")
    kind = dict(frame.dtypes)[name]
    if kind in ("string", "boolean"):
        column = F.trim(column.cast("string")).try_cast("double")  # junk as null (ANSI mode)
    return F.nanvl(column.cast("double"), F.lit(None).cast("double"))  # NaN as null


def _text(F: Any, frame: Any, name: str) -> Any:
    """Levels as pandas' ``astype(str)`` spells them (booleans are True / False)."""
    column = F.col(f"`{name}`")
    if dict(frame.dtypes)[name] == "boolean":
        return F.when(column, F.lit("True")).when(~column, F.lit("False"))
    return column.cast("string")


def _at_or_above(F: Any, value: Any, edges: list[float], prefix: str) -> list[Any]:
    return [F.sum(F.when(value >= float(e), 1).otherwise(0)).alias(f"{prefix}{i}") for i, e in enumerate(edges)]  # fmt: skip


def _bins(row: Any, prefix: str, present: int, edges: list[float]) -> np.ndarray:
    above = [int(row[f"{prefix}{i}"] or 0) for i in range(len(edges))]
    cumulative = [present, *above, 0]
    return np.array([cumulative[i] - cumulative[i + 1] for i in range(len(edges) + 1)])


def window_counts(
    frame: Any,
    columns: dict[str, ColumnSummary],
    score_summary: ColumnSummary,
    threshold: float,
    labels: Any | None = None,
    keys: list[str] | None = None,
    score_column: str = "predicted_score",
) -> WindowCounts:
    """The counts of a window held in a Spark DataFrame; ``labels`` (a Spark DataFrame of the
    keys and ``LABEL``: 1.0 positive, 0.0 negative) joins by ``keys``."""
    from pyspark.sql import functions as F

    present = {n: s for n, s in columns.items() if n in frame.columns}
    numeric = {n: s for n, s in present.items() if s.kind == "numeric"}
    categorical = {n: s for n, s in present.items() if s.kind == "categorical"}
    score = F.col(f"`{score_column}`").cast("double")

    exprs = [F.count(F.lit(1)).alias("rows")]
    for i, (name, summary) in enumerate(numeric.items()):
        value = _numeric(F, frame, name)
        exprs.append(F.sum(F.when(value.isNull(), 1).otherwise(0)).alias(f"n{i}"))
        exprs += _at_or_above(F, value, summary.edges, f"b{i}_")
    for i, name in enumerate(categorical):
        exprs.append(F.sum(F.when(F.col(f"`{name}`").isNull(), 1).otherwise(0)).alias(f"c{i}"))
    exprs += _at_or_above(F, score, score_summary.edges, "s_")
    totals = frame.agg(*exprs).first()
    rows = int(totals["rows"])

    out = WindowCounts(rows=rows)
    for i, (name, summary) in enumerate(numeric.items()):
        nulls = int(totals[f"n{i}"] or 0)
        bins = _bins(totals, f"b{i}_", rows - nulls, summary.edges)
        out.columns[name] = ColumnCounts(rows, nulls, bins=bins)
    for i, name in enumerate(categorical):
        out.columns[name] = ColumnCounts(rows, int(totals[f"c{i}"] or 0))
    out.scores = ColumnCounts(rows, 0, bins=_bins(totals, "s_", rows, score_summary.edges))

    if categorical:
        pairs = F.explode(
            F.array(*[F.struct(F.lit(n).alias("c"), _text(F, frame, n).alias("v")) for n in categorical])
        ).alias("p")  # fmt: skip
        levels = (
            frame.select(pairs).select("p.c", "p.v").where(F.col("v").isNotNull())
            .groupBy("c", "v").count().collect()
        )  # fmt: skip
        for item in levels:
            out.columns[item["c"]].levels[item["v"]] = int(item["count"])

    out.grid = _grid(F, frame, score, threshold, labels, keys or [])
    return out


def _grid(
    F: Any, frame: Any, score: Any, threshold: float, labels: Any | None, keys: list[str]
) -> ScoreGrid:
    from mlrecipes.stats.keys import spark_normalised_key

    # keys compared as the labels' side was normalised (mlrecipes.stats.keys)
    matched = [spark_normalised_key(F, F.col(f"`{k}`")).alias(k) for k in keys]
    scored = frame.select(*matched, score.alias("p")) if labels is not None else frame.select(score.alias("p"))  # fmt: skip
    label = F.lit(None).cast("double")
    if labels is not None:
        compared = [spark_normalised_key(F, F.col(f"`{k}`")).alias(k) for k in keys]
        labels = labels.select(*compared, F.col(LABEL))  # both sides by the one rule
        scored = scored.join(labels, on=keys, how="left")
        label = F.col(LABEL).cast("double")
    cell = F.greatest(F.least(F.floor(F.col("p") * GRID), F.lit(GRID - 1)), F.lit(0)).cast("long")
    index = cell * 2 + F.when(F.col("p") >= float(threshold), 1).otherwise(0)
    known = label.isNotNull()
    found = (
        scored.groupBy(index.alias("i"))
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum("p").alias("score_sum"),
            F.sum(F.when(known, 1).otherwise(0)).alias("labelled"),
            F.sum(F.when(known, label).otherwise(0.0)).alias("positives"),
            F.sum(F.when(known, F.col("p")).otherwise(0.0)).alias("labelled_score_sum"),
        )
        .collect()
    )
    grid = ScoreGrid()
    for item in found:
        i = int(item["i"])
        for name in ("rows", "score_sum", "labelled", "positives", "labelled_score_sum"):
            getattr(grid, name)[i] += float(item[name] or 0.0)
    return grid
