"""MLflow Recipes projects run unchanged and give MLflow Recipes 2.22.5's results.

The fixtures under tests/fixtures/compat were run by MLflow Recipes itself
(tests/fixtures/compat/generate.py); the expected files hold its split row ids (in file order),
its validation and test metrics, and its registered model's output on the test split.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FIXTURES, cli, registered_versions

pytestmark = pytest.mark.slow

COMPAT = FIXTURES / "compat"
SPLIT_ARTIFACTS = {"training_data": "train", "validation_data": "validation", "test_data": "test"}


def expected(name: str) -> dict:
    return json.loads((COMPAT / "expected" / f"{name}.json").read_text())


def run_fixture(name: str, work: Path) -> Path:
    root = work / name
    shutil.copytree(COMPAT / name, root, ignore=shutil.ignore_patterns("__pycache__"))
    trained = cli("run", "--profile", "local", cwd=root)
    assert trained.returncode == 0, trained.stderr
    scored = cli("run", "--profile", "local", "--step", "predict", cwd=root)
    assert scored.returncode == 0, scored.stderr
    return root


@pytest.fixture(scope="module")
def trips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_fixture("regression_trips", tmp_path_factory.mktemp("compat"))


@pytest.fixture(scope="module")
def customers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_fixture("classification_two_csv", tmp_path_factory.mktemp("compat"))


def split_frame(root: Path, split: str) -> pd.DataFrame:
    return pd.read_parquet(root / f".mlrecipes/local/steps/split/outputs/{split}.parquet")


def evaluate_status(root: Path) -> dict:
    out = cli("inspect", "--profile", "local", "--step", "evaluate", "--json", cwd=root)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def assert_same_splits(root: Path, name: str) -> None:
    for artifact, split in SPLIT_ARTIFACTS.items():
        ours = split_frame(root, split)["row_id"].tolist()
        assert ours == expected(name)["splits"][artifact], f"{split} rows differ"


def assert_same_metrics(root: Path, name: str) -> None:
    metrics = evaluate_status(root)["metrics"]
    theirs = expected(name)["metrics"]
    assert theirs, "the fixture holds no metrics"
    for key, value in theirs.items():
        prefix, metric = key.split("_", 1)
        ours = metrics["test" if prefix == "test" else "validation"]
        assert metric in ours, f"{key}: MLflow Recipes logged it, mlrecipes did not"
        assert ours[metric] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def registered_predictions(root: Path, model_name: str, monkeypatch: pytest.MonkeyPatch) -> object:
    import mlflow

    uri = f"sqlite:///{root / 'metadata/mlflow/mlruns.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", None)
    monkeypatch.setattr("mlflow.tracking._model_registry.utils._registry_uri", None)
    model = mlflow.pyfunc.load_model(f"models:/{model_name}/1")
    target = "fare_amount" if "trips" in model_name else "churned"
    return model.predict(split_frame(root, "test").drop(columns=[target]))


def test_regression_splits_like_mlflow_recipes(trips: Path) -> None:
    """Datetime columns from parquet, a null target, ints, floats, strings, booleans."""
    assert_same_splits(trips, "regression_trips")


def test_regression_metrics_like_mlflow_recipes(trips: Path) -> None:
    assert_same_metrics(trips, "regression_trips")
    assert evaluate_status(trips)["model_validation_status"] == "VALIDATED"


def test_regression_registered_model_predicts_like_mlflow_recipes(
    trips: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert registered_versions(trips, "compat_trips") == ["1"]
    ours = registered_predictions(trips, "compat_trips", monkeypatch)
    theirs = expected("regression_trips")["test_predictions"]["prediction"]
    assert list(pd.Series(ours)) == pytest.approx(theirs, rel=1e-6)


def test_regression_batch_scoring_keeps_every_input_column(trips: Path) -> None:
    source = pd.read_parquet(trips / "data" / "trips.parquet")
    scored = pd.read_parquet(trips / "data" / "scored_trips")
    assert len(scored) == len(source)
    assert list(scored.columns[: len(source.columns)]) == list(source.columns)
    assert {"prediction", "model_name", "model_version", "scored_at"} <= set(scored.columns)
    # the mutating transformer dropped columns of its own copy only
    assert scored["row_id"].tolist() == source["row_id"].tolist()
    assert scored["pickup_datetime"].notna().all()


def test_two_csv_ingest_splits_like_mlflow_recipes(customers: Path) -> None:
    """Two files listed out of name order, read in name order keeping each file's index."""
    assert_same_splits(customers, "classification_two_csv")


def test_hinge_classifier_gets_the_label_metrics_of_mlflow_recipes(customers: Path) -> None:
    assert_same_metrics(customers, "classification_two_csv")
    status = evaluate_status(customers)
    assert set(status["skipped_metrics"]) == {"roc_auc", "precision_recall_auc", "log_loss"}
    assert "predict_proba" in status["skipped_metrics"]["roc_auc"]
    card = json.loads((customers / ".mlrecipes/local/steps/evaluate/card.json").read_text())
    tab = next(t for t in card["tabs"] if t["name"] == "Model Performance (Test)")
    titles = [b.get("title") for b in tab["blocks"]]
    assert "Metrics not computed" in titles


def test_hinge_classifier_model_returns_labels_and_decision_scores(
    customers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = registered_predictions(customers, "compat_customers", monkeypatch)
    assert isinstance(ours, pd.DataFrame)
    assert list(ours.columns) == ["predicted_label", "predicted_decision_function"]
    assert (
        ours["predicted_label"].tolist()
        == expected("classification_two_csv")["test_predictions"]["prediction"]
    )
    # the positive side of the decision function is the second class ("yes")
    assert ((ours["predicted_decision_function"] > 0) == (ours["predicted_label"] == "yes")).all()


def test_hinge_classifier_batch_scoring(customers: Path) -> None:
    scored = pd.read_parquet(customers / "data" / "scored_customers")
    rows = sum(len(pd.read_csv(p)) for p in (customers / "data").glob("customers_*.csv"))
    assert len(scored) == rows
    assert {"row_id", "plan", "churned", "predicted_label", "predicted_decision_function"} <= set(
        scored.columns
    )


def test_probability_criterion_on_a_hinge_classifier_is_a_config_error(tmp_path: Path) -> None:
    root = tmp_path / "customers"
    shutil.copytree(COMPAT / "classification_two_csv", root)
    recipe = root / "recipe.yaml"
    recipe.write_text(
        recipe.read_text().replace(
            "        threshold: 0.3\n",
            "        threshold: 0.3\n      - metric: roc_auc\n        threshold: 0.6\n",
        )
    )
    out = cli("run", "--profile", "local", cwd=root)
    assert out.returncode == 1
    assert "steps.evaluate.validation_criteria[1].metric: roc_auc" in out.stderr
    assert "SGDClassifier has no predict_proba" in out.stderr
    assert registered_versions(root, "compat_customers") == []


def test_a_titanic_project_with_model_registry_uri_runs_in_one_run_with_mlflow_recipes_metrics(
    tmp_path: Path,
) -> None:
    """#27: the key MLflow's templates suggest (`model_registry.uri`) is a warning, not a
    refusal, and text columns with blanks (a custom loader's NaN) reach the transformer as MLflow
    Recipes handed them, through parquet: one `mlrecipes run` gives MLflow Recipes 2.22.5's
    metrics and splits."""
    root = tmp_path / "titanic_registry_uri"
    shutil.copytree(
        COMPAT / "titanic_registry_uri", root, ignore=shutil.ignore_patterns("__pycache__")
    )
    strict = cli("run", "--profile", "local", "--strict", cwd=root)
    assert strict.returncode == 1 and "model_registry.uri: unknown key" in strict.stderr
    assert registered_versions(root, "compat_titanic") == []
    ran = cli("run", "--profile", "local", "--step", "register", cwd=root)
    assert ran.returncode == 0, ran.stderr
    assert (
        "warning: profiles/local.yaml:7: model_registry.uri: unknown key; expected one of "
        "registry_uri, model_name (ignored, as MLflow Recipes ignored it; --strict refuses it)"
    ) in ran.stderr
    assert_same_splits(root, "titanic_registry_uri")
    assert_same_metrics(root, "titanic_registry_uri")
    assert registered_versions(root, "compat_titanic") == ["1"]


def test_an_mlflow_pipelines_project_runs_every_step(tmp_path: Path) -> None:
    """#27, 4: a pipeline.yaml of MLflow Pipelines (1.27 to 2.0), which MLflow Recipes 2.22 and
    mlrecipes both refused ("no recipe.yaml"), runs as the recipe it became, with a note."""
    root = tmp_path / "taxi"
    shutil.copytree(
        FIXTURES / "pipelines_regression", root, ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "data").mkdir()
    shutil.copy2(COMPAT / "regression_trips" / "data" / "trips.parquet", root / "data")
    trained = cli("run", "--profile", "local", cwd=root)
    assert trained.returncode == 0, trained.stderr
    assert (
        "note: pipeline.yaml (an MLflow Pipelines project; there is no recipe.yaml)"
        in trained.stderr
    )
    assert "data.custom_loader_method -> steps.ingest.loader_method" in trained.stderr
    assert "registered taxi_fare_regressor v1 @challenger" in trained.stdout
    assert "warning" not in trained.stderr  # model_registry.uri was the Pipelines key: read
    metrics = evaluate_status(root)["metrics"]["test"]
    assert metrics["weighted_mean_squared_error"] >= metrics["root_mean_squared_error"] ** 2 * 0.9
    split = {name: len(split_frame(root, name)) for name in ("train", "validation", "test")}
    source = pd.read_parquet(root / "data" / "trips.parquet")
    kept = source[(source["fare_amount"] > 0) & (source["trip_distance"] < 400)]
    assert sum(split.values()) == len(kept)  # process_splits cleaned every split
    scored = cli("run", "--profile", "local", "--step", "predict", cwd=root)
    assert scored.returncode == 0, scored.stderr
    assert len(pd.read_parquet(root / "data" / "scored_trips")) == len(source)
