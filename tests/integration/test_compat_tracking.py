"""Where an MLflow Recipes project's runs go (#27, 3): ``tracking_uri: ""`` is MLflow's default
store, ``./mlruns`` under the recipe root, where MLflow Recipes put them (it handed the empty
value to ``mlflow.set_tracking_uri``); no ``tracking_uri`` at all is MLflow Recipes' own default,
``metadata/mlflow/mlruns.db``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import cli
from tests.integration.test_handoff import RECIPE, project

pytestmark = pytest.mark.slow


def recipe_with(root: Path, experiment: str) -> Path:
    project(root)
    (root / "recipe.yaml").write_text(
        RECIPE.replace(
            'experiment: {name: "handoff", tracking_uri: "sqlite:///metadata/mlflow/mlruns.db"}',
            experiment,
        )
    )
    return root


def test_an_empty_tracking_uri_is_the_mlruns_folder_as_in_mlflow_recipes(tmp_path: Path) -> None:
    root = recipe_with(tmp_path / "empty", 'experiment: {name: "titanic", tracking_uri: ""}')
    ran = cli("run", "--profile", "local", "--step", "train", cwd=root)
    assert ran.returncode == 0, ran.stderr
    assert not (root / "metadata" / "mlflow" / "mlruns.db").exists()
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow import MlflowClient

    client = MlflowClient((root / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("titanic")
    assert experiment is not None
    [run] = client.search_runs([experiment.experiment_id])
    assert 0.5 < run.data.metrics["training_roc_auc"] <= 1


def test_no_tracking_uri_is_mlflow_recipes_default_store(tmp_path: Path) -> None:
    root = recipe_with(tmp_path / "absent", 'experiment: {name: "titanic"}')
    ran = cli("run", "--profile", "local", "--step", "split", cwd=root)
    assert ran.returncode == 0, ran.stderr
    shown = cli("inspect", "--profile", "local", "--json", cwd=root)
    assert f"sqlite:///{root.resolve()}/metadata/mlflow/mlruns.db" in shown.stdout
    assert not (root / "mlruns").exists()
