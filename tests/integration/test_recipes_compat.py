"""A recipe written for MLflow Recipes regression/v1 runs unchanged under mlrecipes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, cli, registered_versions

pytestmark = pytest.mark.slow


@pytest.fixture
def regression_recipe(tmp_path: Path) -> Path:
    from sklearn.datasets import load_diabetes

    root = tmp_path / "diabetes_recipe"
    shutil.copytree(FIXTURES / "recipes_regression_v1", root)
    frame = load_diabetes(as_frame=True).frame  # ships with scikit-learn: no download
    (root / "data").mkdir()
    frame.to_csv(root / "data" / "diabetes.csv")  # index column first, as the loader expects
    return root


def test_regression_v1_recipe_runs_unchanged(regression_recipe: Path) -> None:
    result = cli("run", "--profile", "local", cwd=regression_recipe)
    assert result.returncode == 0, result.stderr
    status = json.loads(
        cli(
            "inspect", "--profile", "local", "--step", "evaluate", "--json", cwd=regression_recipe
        ).stdout
    )
    assert status["model_validation_status"] == "VALIDATED"
    test = status["metrics"]["test"]
    assert test["root_mean_squared_error"] < 80
    assert "weighted_mean_squared_error" in test and "r2_score" in test
    card = json.loads((regression_recipe / ".mlrecipes/local/steps/evaluate/card.json").read_text())
    plots = next(t for t in card["tabs"] if t["name"] == "Model Performance Plots")
    titles = [b.get("title") for b in plots["blocks"] if b["kind"] == "image"]
    assert titles == ["Predicted vs actual (test)", "Residuals (test)"]
    assert registered_versions(regression_recipe, "diabetes_regressor") == ["1"]
    assert (regression_recipe / "metadata" / "mlflow" / "mlartifacts").is_dir()
    assert not (regression_recipe / "mlruns").exists()


def test_regression_model_returns_predictions(
    regression_recipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    import pandas as pd

    assert cli("run", "--profile", "local", cwd=regression_recipe).returncode == 0
    uri = f"sqlite:///{regression_recipe / 'metadata/mlflow/mlruns.db'}"
    # (mlflow.set_tracking_uri would export MLFLOW_TRACKING_URI for every later test)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", None)
    monkeypatch.setattr("mlflow.tracking._model_registry.utils._registry_uri", None)
    rows = pd.read_csv(regression_recipe / "data" / "diabetes.csv", index_col=0).drop(
        columns=["target"]
    )
    predictions = mlflow.pyfunc.load_model("models:/diabetes_regressor@challenger").predict(
        rows.head(4)
    )
    assert len(predictions) == 4 and all(20 < p < 400 for p in predictions)
