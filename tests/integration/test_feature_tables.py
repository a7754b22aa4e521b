"""The feature-store flow end to end, through the real CLI: the features step builds the tables,
ingest builds the training set by point-in-time lookup, the model records its lineage, and
batch scoring looks features up by key with the model's own spec."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable
from mlflow.tracking import MlflowClient

from tests.conftest import REAL_DATA, cli, copy_template

pytestmark = pytest.mark.slow
PROFILE = "local_features"
MODEL = "churn_features_model"


def inspect(root: Path, step: str, profile: str = PROFILE, env: dict | None = None) -> dict:
    result = cli("inspect", "--profile", profile, "--step", step, "--json", cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def full_row_scores(root: Path, db: str, model: str, store: str, keys: pd.DataFrame) -> pd.Series:
    """The registered model's scores on the full feature rows of ``keys`` (each customer's
    latest snapshot, read straight from the feature table)."""
    import mlflow.pyfunc

    from mlrecipes.tracking.uris import scoped_uris

    uri = f"sqlite:///{root / 'metadata/mlflow' / db}"
    table = DeltaTable(str(root / "data/feature_store" / store / "churn_features")).to_pandas()
    latest = table.sort_values("snapshot_date").drop_duplicates("customerID", keep="last")
    full = keys.merge(latest, on="customerID")
    full["snapshot_date"] = full["snapshot_date"].dt.tz_localize(None)
    with scoped_uris(uri, uri):
        loaded = mlflow.pyfunc.load_model(f"models:/{model}/1")
    return pd.Series(loaded.predict(full)["predicted_score"].to_numpy(), index=full["customerID"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_template(tmp_path_factory.mktemp("fs") / "churn", rows=10)
    made = cli(
        "sample-data", "--months", "2", "--rows", "2500", "--seed", "5",
        "--out", "data/telco_snapshots", cwd=root,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    result = cli("run", "--profile", PROFILE, cwd=root)
    assert result.returncode == 0, result.stderr
    assert "Ran: features, ingest, split" in result.stdout
    return root


def test_the_features_step_builds_both_tables(trained: Path) -> None:
    features = inspect(trained, "features")
    tables = {t["name"]: t for t in features["tables"]}
    assert set(tables) == {"churn_features", "churn_labels"}
    for table in tables.values():
        assert table["rows"] == 5000 and table["version"] == 1
        assert table["primary_keys"] == ["customerID"] and table["timestamp_key"] == "snapshot_date"
        assert Path(table["location"]).is_relative_to(trained / "data" / "feature_store" / PROFILE)
    data = DeltaTable(tables["churn_features"]["location"]).to_pandas()
    assert {"tenure_band", "num_services", "charge_ratio"} <= set(data.columns)
    assert data["TotalCharges"].dtype == "float64" and "Churn" not in data
    labels = DeltaTable(tables["churn_labels"]["location"]).to_pandas()
    assert list(labels.columns) == ["customerID", "snapshot_date", "Churn"]


def test_training_reads_by_point_in_time_and_records_lineage(trained: Path) -> None:
    ingest = inspect(trained, "ingest")
    assert ingest["rows"] == 5000 and ingest["missing_lookups"] == {"churn_features": 0}
    (read,) = ingest["lineage"]
    assert read["table"] == "churn_features" and read["version"] == 1
    assert "charge_ratio" in read["features"] and read["location"].endswith("churn_features")
    # every row got the features of its own month, not the other month's
    rows = pd.read_parquet(
        trained / ".mlrecipes" / PROFILE / "steps/ingest/outputs/dataset.parquet"
    )
    assert "snapshot_date" not in rows  # excluded: the lookup time is not a feature
    # the training set keeps the spine's row order: the labels table gives each row its month
    from mlrecipes.features.delta_store import DeltaFeatureStore

    store = DeltaFeatureStore(trained / "data" / "feature_store" / PROFILE)
    spine = store.read_table("churn_labels")
    assert list(rows["customerID"]) == list(spine["customerID"])
    rows["snapshot_date"] = spine["snapshot_date"].to_numpy()
    table = store.read_table("churn_features")
    merged = rows.merge(table, on=["customerID", "snapshot_date"], suffixes=("", "_table"))
    assert len(merged) == 5000 and (merged["tenure"] == merged["tenure_table"]).all()

    register = inspect(trained, "register")
    uri = f"sqlite:///{trained / 'metadata/mlflow/local_features.db'}"
    version = MlflowClient(uri, uri).get_model_version(MODEL, register["registered_model_version"])
    assert version.tags["mlrecipes.feature_table.0.name"] == "churn_features"
    assert version.tags["mlrecipes.feature_table.0.version"] == "1"
    assert version.tags["mlrecipes.feature_table.0.location"] == read["location"]
    run = MlflowClient(uri, uri).get_run(version.run_id)
    assert run.data.tags["mlrecipes.feature_table.0.version"] == "1"
    spec_files = list((trained / "metadata").rglob("feature_spec.json"))
    assert spec_files, "the model carries its feature spec"
    spec = json.loads(spec_files[0].read_text())
    assert spec["tables"][0]["table"] == "churn_features" and spec["label"] == "Churn"


def test_scoring_by_key_gives_the_scores_of_the_full_rows(trained: Path) -> None:
    snapshots = sorted((trained / "data" / "telco_snapshots").glob("*.csv"))
    keys = pd.read_csv(snapshots[-1])[["customerID"]].head(300)
    keys.to_csv(trained / "data" / "keys.csv", index=False)
    result = cli(
        "run", "--profile", PROFILE, "--step", "predict",
        "--var", "SCORING_KEYS_LOCATION=data/keys.csv", cwd=trained,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    predict = inspect(trained, "predict")
    assert predict["rows_scored"] == 300 and predict["model_version"] == "1"
    scored = DeltaTable(str(trained / "data/scores/churn_local_features")).to_pandas()
    expected = full_row_scores(trained, "local_features.db", MODEL, PROFILE, keys)
    got = scored.set_index("customerID").loc[expected.index, "predicted_score"]
    assert len(expected) == 300 and (got - expected).abs().max() < 1e-9


def test_score_batch_from_python_matches_the_pipeline(trained: Path) -> None:
    """The notebook API: FeatureEngineeringClient.score_batch looks the features up by the
    model's spec and predicts, as the inference pipeline does."""
    from mlrecipes.features import FeatureEngineeringClient

    keys = pd.read_csv(trained / "data" / "keys.csv")
    fe = FeatureEngineeringClient(root=trained / "data" / "feature_store" / PROFILE)
    uri = f"sqlite:///{trained / 'metadata/mlflow/local_features.db'}"
    scored = fe.score_batch(f"models:/{MODEL}@champion", keys, tracking_uri=uri)
    assert list(scored["customerID"]) == list(keys["customerID"])
    assert {"charge_ratio", "predicted_score", "predicted_label"} <= set(scored.columns)
    expected = full_row_scores(trained, "local_features.db", MODEL, PROFILE, keys)
    got = scored.set_index("customerID").loc[expected.index, "predicted_score"]
    assert (got - expected).abs().max() < 1e-9


def test_a_new_month_appends_a_snapshot_and_retrains_on_it(trained: Path) -> None:
    from mlrecipes.sample_data.telco import generate_snapshots

    months = generate_snapshots(2500, 3, seed=5)
    third = months[months["snapshot_date"] == months["snapshot_date"].max()]
    third.to_csv(trained / "data" / "telco_snapshots" / "telco_2026-03.csv", index=False)
    result = cli("run", "--profile", PROFILE, cwd=trained)
    assert result.returncode == 0, result.stderr
    features = inspect(trained, "features")
    tables = {t["name"]: t for t in features["tables"]}
    assert tables["churn_features"]["version"] == 2 and tables["churn_features"]["rows"] == 7500
    assert features["rows_written"]["churn_features"] == 2500  # only the new month
    assert len(features["skipped_snapshots"]) == 2
    assert inspect(trained, "ingest")["lineage"][0]["version"] == 2


def test_another_profile_cannot_use_this_profiles_store(trained: Path) -> None:
    profile = (trained / "profiles" / f"{PROFILE}.yaml").read_text()
    (trained / "profiles" / "other.yaml").write_text(
        profile.replace("churn-local-features", "churn-other").replace(
            "local_features.db", "other.db"
        )
    )
    result = cli("run", "--profile", "other", cwd=trained)
    assert result.returncode == 1
    assert "belongs to profile 'local_features'" in result.stderr
    assert "MLRECIPES_ALLOW_SHARED_ROOTS" in result.stderr
    (trained / "profiles" / "other.yaml").unlink()


@pytest.mark.skipif(not REAL_DATA.is_file(), reason=f"real IBM Telco data not found at {REAL_DATA}")
def test_dev_profile_on_the_real_data(tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=10)
    env = {"CHURN_DATA_LOCATION": str(REAL_DATA)}
    result = cli("run", "--profile", "dev", cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    tables = {t["name"]: t for t in inspect(root, "features", "dev", env)["tables"]}
    assert tables["churn_features"]["rows"] == tables["churn_labels"]["rows"] == 7043
    assert inspect(root, "evaluate", "dev", env)["metrics"]["test"]["roc_auc"] > 0.8
    uri = f"sqlite:///{root / 'metadata/mlflow/dev.db'}"
    version = MlflowClient(uri, uri).get_model_version("dev.churn.churn_model", "1")
    assert version.tags["mlrecipes.feature_table.0.name"] == "churn_features"
    assert version.tags["mlrecipes.feature_table.0.version"] == str(
        tables["churn_features"]["version"]
    )
    keys = pd.read_csv(REAL_DATA)[["customerID"]]
    keys.to_csv(root / "keys.csv", index=False)
    scored = cli(
        "run", "--profile", "dev", "--step", "predict", cwd=root,
        env={**env, "CHURN_SCORING_KEYS_LOCATION": "keys.csv"},
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    by_key = DeltaTable(str(root / "data/scores/churn_dev")).to_pandas().set_index("customerID")
    expected = full_row_scores(root, "dev.db", "dev.churn.churn_model", "dev", keys)
    assert len(by_key) == len(expected) == 7043
    assert (by_key.loc[expected.index, "predicted_score"] - expected).abs().max() < 1e-9


@pytest.mark.skipif(
    shutil.which("java") is None, reason="the Spark engine needs a Java runtime (17)"
)
def test_the_spark_engine_builds_the_same_tables_and_training_set(tmp_path: Path) -> None:
    """Featurization as a Spark job and the point-in-time join in Spark, on local[2]: the same
    rows and values as the pandas engine."""
    from mlrecipes.features.delta_store import DeltaFeatureStore
    from mlrecipes.sample_data.telco import generate_snapshots

    results = {}
    for engine in ("pandas", "spark"):
        root = copy_template(tmp_path / engine, rows=10)
        folder = root / "data" / "snapshots"
        folder.mkdir()
        months = generate_snapshots(1500, 2, seed=11)
        for date, frame in months.groupby("snapshot_date"):
            frame.to_parquet(folder / f"telco_{date[:7]}.parquet", index=False)
        result = cli(
            "run", "--profile", PROFILE, "--step", "ingest",
            "--var", "FEATURES_SOURCE_FORMAT=parquet",
            "--var", "FEATURES_SOURCE_LOCATION=data/snapshots",
            "--var", f"FEATURES_ENGINE={engine}",
            cwd=root, env={"MLRECIPES_SPARK_MASTER": "local[2]"},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        store = DeltaFeatureStore(root / "data" / "feature_store" / PROFILE)
        keys = ["customerID", "snapshot_date"]
        results[engine] = {
            name: store.read_table(name).sort_values(keys).reset_index(drop=True)
            for name in ("churn_features", "churn_labels")
        }
        results[engine]["training"] = pd.read_parquet(
            root / ".mlrecipes" / PROFILE / "steps/ingest/outputs/dataset.parquet"
        )
    for name in ("churn_features", "churn_labels", "training"):
        pandas_side, spark_side = results["pandas"][name], results["spark"][name]
        assert len(pandas_side) == len(spark_side) > 0, name
        pd.testing.assert_frame_equal(pandas_side, spark_side, check_dtype=False, obj=name)
