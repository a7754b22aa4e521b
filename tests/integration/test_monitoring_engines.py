"""The two monitoring engines agree: a window aggregated by Spark on local[2] (rows never leave the
executors) gives the same monitoring rows as the pandas engine reading it batch by batch, on a
window with the awkward cases: numbers stored as text with blanks, NaN, booleans, unseen levels,
labels for part of the rows, and another window in the same output that must not be counted."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from mlrecipes.io.monitoring_table import spark_window, window_batches
from mlrecipes.io.sources import SparkConfig
from mlrecipes.monitoring import counts, reference, window
from mlrecipes.monitoring.spark_counts import window_counts

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime (17)"),
]

WHEN, OTHER = "2026-03-31T00:00:00+00:00", "2026-02-28T00:00:00+00:00"


def _frame(rows: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    charges = rng.uniform(18, 119, rows) + shift
    total = [f"{v:.2f}" for v in charges * rng.integers(1, 72, rows)]
    frame = pd.DataFrame(
        {
            "customerID": [f"C{seed}-{i}" for i in range(rows)],
            "MonthlyCharges": np.where(rng.random(rows) < 0.03, np.nan, charges),
            "TotalCharges": total,
            "tenure": rng.integers(0, 72, rows),
            "Contract": rng.choice(["Month-to-month", "One year", "Two year", None], rows),
            "Paperless": rng.random(rows) < 0.6,
        }
    )
    frame.loc[::97, "TotalCharges"] = " "
    return frame


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = _frame(4000, 1, 0.0)
    rng = np.random.default_rng(2)
    ref = reference.reference_summary(
        base, [c for c in base.columns if c != "customerID"], ["customerID"],
        rng.random(4000) < 0.3, rng.beta(2, 5, 4000), threshold=0.2675,
    )  # fmt: skip
    month = _frame(5000, 3, 12.0)
    month.loc[::40, "Contract"] = "Three year"  # a level the reference never had
    month["predicted_score"] = rng.beta(2.2, 5, 5000)
    earlier = _frame(3000, 4, 0.0).assign(predicted_score=rng.beta(2, 5, 3000))
    out = tmp_path_factory.mktemp("engines") / "scores"
    out.mkdir()
    for i, (frame, when) in enumerate(((month, WHEN), (earlier, OTHER))):
        frame = frame.assign(scored_at=pd.Timestamp(when).tz_convert("UTC"))
        frame.to_parquet(out / f"part-{i}.parquet", index=False)
    labels = (
        month[["customerID"]].iloc[::2].assign(**{counts.LABEL: (rng.random(2500) < 0.3) * 1.0})
    )
    return {"reference": ref, "scores": out, "labels": labels}


def _rows(ref: dict, found: counts.WindowCounts) -> dict[tuple[str, str, str], tuple]:
    thresholds = window.Thresholds()
    rows = window.input_rows(ref, found, thresholds)
    rows += window.performance_rows(ref, found.grid, thresholds, measured=True)
    return {(r.kind, r.column, r.metric): (r.value, r.status) for r in rows}


def test_spark_and_pandas_engines_give_the_same_monitoring_rows(scored: dict) -> None:
    from mlrecipes.io.spark import spark_session

    ref, labels = scored["reference"], scored["labels"]
    columns, score_summary = reference.columns_of(ref), reference.scores_of(ref)
    pandas_side = counts.WindowCounts()
    for batch in window_batches(scored["scores"], WHEN, batch_rows=1024):
        keys = batch.select(["customerID"]).to_pandas()
        known = keys.merge(labels, on="customerID", how="left")[counts.LABEL]
        pandas_side.add(
            counts.batch_counts(batch, columns, score_summary, 0.2675, known.to_numpy(dtype=float))
        )
    os.environ.setdefault("MLRECIPES_SPARK_MASTER", "local[2]")
    spark = spark_session(SparkConfig(master="local[2]"), "test-monitor-engines")
    frame = spark_window(spark, scored["scores"], WHEN)
    spark_side = window_counts(
        frame, columns, score_summary, 0.2675, spark.createDataFrame(labels), ["customerID"]
    )
    assert pandas_side.rows == spark_side.rows == 5000  # the other window is not counted
    assert pandas_side.grid.labelled_rows == spark_side.grid.labelled_rows == 2500
    for name in columns:
        a, b = pandas_side.columns[name], spark_side.columns[name]
        assert (a.rows, a.nulls) == (b.rows, b.nulls), name
        assert a.levels == b.levels, name
        assert (a.bins is None) == (b.bins is None) and (
            a.bins is None or np.array_equal(a.bins, b.bins)
        ), name
    expected, got = _rows(ref, pandas_side), _rows(ref, spark_side)
    assert expected.keys() == got.keys()
    for key, (value, status) in expected.items():
        assert got[key][0] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        assert got[key][1] == status, key
    # the window has what the scenario needs to be meaningful
    assert expected[("drift", "Contract", "unseen_share")][0] == pytest.approx(125 / 3875, 0.05)
    assert expected[("drift", "MonthlyCharges", "psi")][1] != "ok"
    assert ("performance", "", "roc_auc") in expected
    assert pandas_side.columns["TotalCharges"].nulls == len(range(0, 5000, 97))
