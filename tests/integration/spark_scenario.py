"""One scenario, run by the pandas engine and by the Spark engines on each back end (local,
a standalone cluster, Spark Connect, Sail): the features step and the point-in-time training
set, then batch scoring and monitoring of one month. Each back end's outputs must equal the
pandas engine's: the same rows, values within 1e-9, the same statuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from deltalake import DeltaTable

from mlrecipes.features.delta_store import DeltaFeatureStore
from mlrecipes.sample_data.telco import generate, generate_snapshots
from tests.conftest import cli, copy_template

FEATURES_PROFILE = "local_features"
WHEN = "2026-02-28T00:00:00"


def features_root(folder: Path) -> Path:
    """A template copy with two monthly snapshots of 1,500 customers as the features source."""
    root = copy_template(folder, rows=10)
    snapshots = root / "data" / "snapshots"
    snapshots.mkdir()
    for date, frame in generate_snapshots(1500, 2, seed=11).groupby("snapshot_date"):
        frame.to_parquet(snapshots / f"telco_{date[:7]}.parquet", index=False)
    return root


def feature_outputs(root: Path, engine: str, env: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The feature tables and the training set the ingest step builds with ``engine``."""
    result = cli(
        "run", "--profile", FEATURES_PROFILE, "--step", "ingest",
        "--var", "FEATURES_SOURCE_FORMAT=parquet",
        "--var", "FEATURES_SOURCE_LOCATION=data/snapshots",
        "--var", f"FEATURES_ENGINE={engine}",
        cwd=root, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    store = DeltaFeatureStore(root / "data" / "feature_store" / FEATURES_PROFILE)
    keys = ["customerID", "snapshot_date"]
    out = {
        name: store.read_table(name).sort_values(keys).reset_index(drop=True)
        for name in ("churn_features", "churn_labels")
    }
    out["training"] = pd.read_parquet(
        root / ".mlrecipes" / FEATURES_PROFILE / "steps/ingest/outputs/dataset.parquet"
    )
    return out


def assert_same_features(expected: dict, got: dict) -> None:
    for name in ("churn_features", "churn_labels", "training"):
        assert len(expected[name]) == len(got[name]) > 0, name
        pd.testing.assert_frame_equal(expected[name], got[name], check_dtype=False, obj=name)


def trained_root(folder: Path) -> Path:
    """The template trained on 3,000 generated customers (champion v1), and a month to score."""
    root = copy_template(folder, rows=3000)
    trained = cli("run", "--profile", "local", cwd=root)
    assert trained.returncode == 0, trained.stderr[-3000:]
    generate(2000, 301).drop(columns=["Churn"]).to_csv(root / "data" / "month.csv", index=False)
    return root


def scoring_outputs(
    root: Path, engine: str, name: str, env: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """One month scored and monitored with ``engine``, into outputs of its own: the scores, the
    monitoring table's rows, and predict's status."""
    result = cli(
        "run", "--profile", "local", "--step", "monitor",
        "--var", "SCORING_DATA_LOCATION=data/month.csv", "--var", f"SCORING_TIME={WHEN}",
        "--var", f"SCORING_ENGINE={engine}",
        "--var", f"SCORING_OUTPUT_LOCATION=data/scores/{name}",
        "--var", f"MONITORING_TABLE_LOCATION=data/monitoring/{name}",
        cwd=root, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    status = cli("inspect", "--profile", "local", "--step", "predict", "--json", cwd=root)
    scores = DeltaTable(str(root / "data" / "scores" / name)).to_pandas()
    table = DeltaTable(str(root / "data" / "monitoring" / name)).to_pandas()
    return scores, table, json.loads(status.stdout)


def assert_same_scores(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    a = expected.set_index("customerID").sort_index()
    b = got.set_index("customerID").sort_index()
    assert a.index.equals(b.index) and len(a) == 2000
    assert sorted(a.columns) == sorted(b.columns)
    for column in ("predicted_score_No", "predicted_score_Yes", "predicted_score"):
        assert (a[column] - b[column]).abs().max() < 1e-9, column
    assert (a["predicted_label"] == b["predicted_label"]).all()
    assert (a["model_version"] == b["model_version"]).all()


def assert_same_monitoring(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    key = ["kind", "column", "metric"]
    joined = expected.merge(got, on=key, suffixes=("_pandas", "_spark"))
    assert len(joined) == len(expected) == len(got) > 40
    assert np.allclose(joined["value_pandas"], joined["value_spark"], rtol=1e-9, atol=1e-9,
                       equal_nan=True)  # fmt: skip
    assert (joined["status_pandas"] == joined["status_spark"]).all()
