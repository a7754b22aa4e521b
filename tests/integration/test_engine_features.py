"""Engine features beyond the churn default: tuning, rebalancing, multiclass, parquet/delta ingest,
custom splits, non-validated registration, and a cached run that imports no MLflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from mlrecipes.execution.runner import Reporter
from mlrecipes.recipe import Recipe
from tests.conftest import copy_template, registered_versions

pytestmark = pytest.mark.slow


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def recipe(root: Path, **variables) -> Recipe:
    return Recipe("local", root=root, variables=variables, reporter=Reporter())


def test_tuning_with_hyperopt(tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=2000)
    edit(
        root / "recipe.yaml",
        "    rebalance_training_data: false\n",
        "    rebalance_training_data: false\n"
        "    tuning:\n      enabled: true\n      max_trials: 3\n      algorithm: hyperopt.tpe.suggest\n"
        "      parameters:\n        C:\n          distribution: loguniform\n          low: -4\n          high: 1\n"
        "        fit_intercept:\n          values: [true, false]\n",
    )
    r = recipe(root)
    r.run("train")
    best = r.get_artifact("best_parameters")
    assert "# tuned hyperparameters" in best and "C:" in best
    card = json.loads((root / ".mlrecipes/local/steps/train/card.json").read_text())
    trials_tab = next(t for t in card["tabs"] if t["name"] == "Tuning Trials")
    assert len(trials_tab["blocks"][1]["rows"]) == 3
    run = r.get_artifact("run")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(r.status()["tracking_uri"])
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert len(children) == 3 and all("roc_auc" in c.data.metrics for c in children)


def test_rebalancing_large_binary_training_sets(tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=7500)
    edit(root / "recipe.yaml", "rebalance_training_data: false", "rebalance_training_data: true")
    edit(root / "steps" / "train.py", '"class_weight": "balanced", ', "")
    r = recipe(root)
    r.run("train")
    params = r.get_artifact("run").data.params
    train_rows = len(r.get_artifact("training_data"))
    assert int(params["rebalanced_training_rows"]) < train_rows
    assert params["class_weight"].startswith("{")


MULTICLASS_RECIPE = """
recipe: "classification/v1"
target_col: "cultivar"
primary_metric: "f1_score_macro"
steps:
  ingest:
    using: parquet
    location: "data/wine.parquet"
  split:
    using: custom
    split_method: by_row_number
    post_split_method: keep_everything
  transform:
    transformer_method: scaler
  train:
    estimator_method: estimator_fn
    predict_prefix: "p_"
  evaluate:
    validation_criteria: []
  register:
    model_name: "wine.models.cultivar"
    allow_non_validated_model: {{ ALLOW }}
"""


def write_multiclass_recipe(root: Path) -> None:
    from sklearn.datasets import load_wine

    (root / "steps").mkdir(parents=True)
    (root / "profiles").mkdir()
    (root / "data").mkdir()
    (root / "recipe.yaml").write_text(MULTICLASS_RECIPE)
    (root / "profiles" / "local.yaml").write_text("ALLOW: false\nexperiment:\n  name: wine\n")
    wine = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    wine["cultivar"] = wine["cultivar"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    wine.to_parquet(root / "data" / "wine.parquet")
    (root / "steps" / "split.py").write_text(
        textwrap.dedent(
            """
            import numpy as np
            import pandas as pd

            def by_row_number(df):
                labels = np.array(["TRAINING"] * 6 + ["VALIDATION", "TEST"])
                return pd.Series(labels[np.arange(len(df)) % 8], index=df.index)

            def keep_everything(train, validation, test):
                return train, validation, test
            """
        )
    )
    (root / "steps" / "transform.py").write_text(
        "from sklearn.preprocessing import StandardScaler\n\ndef scaler():\n    return StandardScaler()\n"
    )
    (root / "steps" / "train.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n\n"
        "def estimator_fn(params=None):\n    return LogisticRegression(max_iter=1000)\n"
    )


def test_multiclass_custom_split_and_non_validated_registration(tmp_path: Path) -> None:
    root = tmp_path / "wine"
    write_multiclass_recipe(root)
    r = recipe(root)
    with pytest.raises(Exception, match=r"validation status UNKNOWN.*allow_non_validated_model"):
        r.run()
    assert registered_versions(root, "wine.models.cultivar") == []
    status = r.status("evaluate")
    assert status["model_validation_status"] == "UNKNOWN"
    test = status["metrics"]["test"]
    assert {"f1_score_macro", "f1_score_micro", "roc_auc"} <= set(test)
    assert test["f1_score_macro"] > 0.8
    split = r.status("split")["rows"]
    assert split["train"] == pytest.approx(178 * 6 / 8, abs=2)

    r = recipe(root, ALLOW=True)
    r.run()
    assert registered_versions(root, "wine.models.cultivar") == ["1"]
    model = r.get_artifact("model")
    rows = pd.read_parquet(root / "data" / "wine.parquet").drop(columns=["cultivar"]).head(3)
    out = model.predict(rows)
    assert list(out.columns) == [
        "p_score_barbera",
        "p_score_barolo",
        "p_score_grignolino",
        "p_score",
        "p_label",
    ]


def test_delta_ingest_follows_table_versions(tmp_path: Path) -> None:
    from deltalake import write_deltalake

    root = copy_template(tmp_path / "churn", rows=600)
    table = root / "data" / "customers_delta"
    sample = pd.read_csv(root / "data" / "telco_sample.csv")
    write_deltalake(str(table), sample.head(400))
    r = recipe(root, INGEST_DATA_FORMAT="delta", INGEST_DATA_LOCATION="data/customers_delta")
    assert r.run("ingest").names("ran") == ["ingest"]
    assert r.status("ingest")["rows"] == 400
    assert r.run("ingest").names("ran") == []
    write_deltalake(str(table), sample.tail(200), mode="append")
    assert r.run("ingest").names("ran") == ["ingest"]
    assert r.status("ingest")["rows"] == 600


_HEAVY_PROBE = textwrap.dedent(
    """
    import os, sys
    os.environ["MLRECIPES_NO_FORK"] = "1"  # measure the engine's own imports, in this process
    from mlrecipes.cli import app
    try:
        app(["run", "--profile", "local"])
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
    names = ("mlflow", "pandas", "sklearn", "pyarrow", "pydantic", "jinja2", "yaml")
    print("HEAVY", sorted(m for m in names if m in sys.modules))
    """
)


def _cached_run_imports(root: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _HEAVY_PROBE], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Ran: nothing" in result.stdout
    return next(line for line in result.stdout.splitlines() if line.startswith("HEAVY"))


def _last_events(root: Path, n: int) -> list[dict]:
    lines = (root / ".mlrecipes/local/events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[-n:]]


def test_fully_cached_run_imports_nothing_heavy(tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=1500)
    recipe(root).run()
    # The up-to-date manifest answers: not even the configuration machinery is imported.
    assert _cached_run_imports(root) == "HEAVY []"
    assert all(e.get("via") == "up-to-date manifest" for e in _last_events(root, 6))
    # A touch invalidates the manifest: the full check decides by content (nothing runs) and
    # still needs neither MLflow nor pandas; it writes a fresh manifest for the next run.
    train_py = root / "steps" / "train.py"
    os.utime(train_py, (train_py.stat().st_atime, train_py.stat().st_mtime + 5))
    assert _cached_run_imports(root) == "HEAVY ['jinja2', 'pydantic', 'yaml']"
    assert not any("via" in e for e in _last_events(root, 6))
    assert _cached_run_imports(root) == "HEAVY []"
