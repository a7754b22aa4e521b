"""What re-runs after which change: content-hash cache keys, in process, with real MLflow."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from mlrecipes.execution.runner import Reporter
from mlrecipes.recipe import Recipe
from tests.conftest import copy_template

pytestmark = pytest.mark.slow


def ran(report) -> list[str]:
    return report.names("ran")


EVERY_STEP = ["ingest", "split", "transform", "train", "evaluate", "register", "deploy"]


@pytest.fixture(scope="module")
def recipe_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_template(tmp_path_factory.mktemp("cache") / "churn", rows=2500)
    report = Recipe("local", root=root, reporter=Reporter()).run()
    assert ran(report) == EVERY_STEP
    return root


def test_touching_the_data_without_change_reruns_nothing(recipe_root: Path) -> None:
    data = recipe_root / "data" / "telco_sample.csv"
    os.utime(data, (data.stat().st_atime + 10, data.stat().st_mtime + 10))
    assert ran(Recipe("local", root=recipe_root, reporter=Reporter()).run()) == []


def test_editing_train_py_reruns_exactly_train_evaluate_register(recipe_root: Path) -> None:
    train_py = recipe_root / "steps" / "train.py"
    train_py.write_text(train_py.read_text().replace('"C": 0.2', '"C": 0.3'))
    report = Recipe("local", root=recipe_root, reporter=Reporter()).run()
    assert ran(report) == ["train", "evaluate", "register", "deploy"]
    assert report.names("cached") == ["ingest", "split", "transform"]


def test_changing_the_experiment_name_reruns_only_tracked_steps(recipe_root: Path) -> None:
    profile = recipe_root / "profiles" / "local.yaml"
    profile.write_text(profile.read_text().replace('name: "churn-local"', 'name: "churn-renamed"'))
    recipe = Recipe("local", root=recipe_root, reporter=Reporter())
    assert ran(recipe.run()) == ["train", "evaluate", "register", "deploy"]
    run_id = recipe.status("train")["run_id"]
    run = recipe.get_artifact("run")
    assert run.info.run_id == run_id
    from mlflow.tracking import MlflowClient

    client = MlflowClient(recipe.status()["tracking_uri"])
    assert client.get_experiment(run.info.experiment_id).name == "churn-renamed"


def test_changing_one_data_value_reruns_from_ingest(recipe_root: Path) -> None:
    data = recipe_root / "data" / "telco_sample.csv"
    df = pd.read_csv(data, dtype={"TotalCharges": str}, keep_default_na=False)
    df.loc[5, "MonthlyCharges"] = df.loc[5, "MonthlyCharges"] + 1.0
    df.to_csv(data, index=False)
    report = Recipe("local", root=recipe_root, reporter=Reporter()).run()
    assert ran(report) == EVERY_STEP


def test_run_step_runs_only_its_ancestors(recipe_root: Path) -> None:
    recipe = Recipe("local", root=recipe_root, reporter=Reporter())
    recipe.clean("split")
    report = recipe.run("split")
    assert [o.step for o in report.outcomes] == ["ingest", "split"]
    assert ran(report) == ["split"]
    # split produced the same files, so nothing downstream is stale
    assert ran(recipe.run()) == []


def test_clean_step_and_artifacts(recipe_root: Path) -> None:
    recipe = Recipe("local", root=recipe_root, reporter=Reporter())
    assert isinstance(recipe.get_artifact("ingested_data"), pd.DataFrame)
    assert recipe.get_artifact("model") is not None
    recipe.clean("train")
    with pytest.warns(UserWarning, match="Re-run the 'train' step"):
        assert recipe.get_artifact("model") is None
    assert recipe.status("train")["steps"][0]["status"] == "NOT_RUN"
    assert ran(recipe.run()) == ["train", "evaluate", "register", "deploy"]


def test_running_a_recipe_does_not_change_the_environment(recipe_root: Path) -> None:
    before = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    recipe = Recipe("local", root=recipe_root, reporter=Reporter())
    recipe.clean("register")
    recipe.run()
    assert {k: os.environ.get(k) for k in before} == before


def test_a_new_process_can_rerun_steps_whose_inputs_are_pickled_user_code(
    recipe_root: Path,
) -> None:
    """The console script does not put the recipe root on sys.path; unpickling the transformer
    (train) and the fitted pipeline (evaluate) must still find steps/*.py."""
    from tests.conftest import cli

    recipe = Recipe("local", root=recipe_root, reporter=Reporter())
    recipe.clean("train")
    result = cli("run", "--profile", "local", cwd=recipe_root)
    assert result.returncode == 0, result.stderr
    assert "Ran: train, evaluate" in result.stdout
    recipe.clean("evaluate")
    result = cli("run", "--profile", "local", cwd=recipe_root)
    assert result.returncode == 0, result.stderr
    assert "Ran: evaluate" in result.stdout
