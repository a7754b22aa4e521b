"""A step receives exactly what a re-read of its upstream output gives (#27, 2): MLflow Recipes
re-read each step's parquet output, so a project whose result depends on how a missing text value
is spelled (NaN in a frame read from CSV, None once through parquet) must get the same result
from one `mlrecipes run` as from running the steps one by one."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import cli

pytestmark = pytest.mark.slow

RECIPE = """\
recipe: "classification/v1"
target_col: "survived"
positive_class: 1
primary_metric: "roc_auc"
steps:
  ingest: {using: csv, location: "./data/passengers.csv"}
  split: {split_ratios: [0.7, 0.15, 0.15]}
  transform: {using: custom, transformer_method: transformer_fn}
  train: {using: custom, estimator_method: estimator_fn}
  evaluate:
    validation_criteria: [{metric: roc_auc, threshold: 0.5}]
experiment: {name: "handoff", tracking_uri: "sqlite:///metadata/mlflow/mlruns.db"}
model_registry: {model_name: "handoff"}
"""

# the user's featurization, as Titanic notebooks write it: the most frequent value for a missing
# category. scikit-learn's imputer sees NaN as missing and None as a value, so the two spellings
# of one missing cabin deck give two different models
TRANSFORM = """\
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder


def transformer_fn():
    return ColumnTransformer(
        [
            ("numbers", SimpleImputer(strategy="median"), ["age", "fare"]),
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                ["sex", "deck", "embarked"],
            ),
        ]
    )
"""

TRAIN = """\
from sklearn.linear_model import LogisticRegression


def estimator_fn(estimator_params=None):
    return LogisticRegression(max_iter=1000)
"""


def passengers(rows: int = 900, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], rows)
    deck = rng.choice(["A", "B", "C", "D", "E"], rows).astype(object)
    deck[rng.random(rows) < 0.6] = None  # most passengers have no cabin on record
    embarked = rng.choice(["S", "C", "Q"], rows).astype(object)
    embarked[rng.random(rows) < 0.02] = None
    age = rng.normal(30, 12, rows).round(0)
    age[rng.random(rows) < 0.2] = np.nan
    fare = rng.lognormal(3, 0.8, rows).round(2)
    logit = -0.8 + 2.2 * (sex == "female") + 1.2 * pd.isna(deck) * -1 + 0.8 * (deck == "B")
    return pd.DataFrame(
        {"sex": sex, "deck": deck, "embarked": embarked, "age": age, "fare": fare,
         "survived": (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)}
    )  # fmt: skip


def project(root: Path) -> Path:
    (root / "steps").mkdir(parents=True)
    (root / "profiles").mkdir()
    (root / "data").mkdir()
    (root / "recipe.yaml").write_text(RECIPE)
    (root / "profiles" / "local.yaml").write_text("# everything is in recipe.yaml\n")
    (root / "steps" / "transform.py").write_text(textwrap.dedent(TRANSFORM))
    (root / "steps" / "train.py").write_text(textwrap.dedent(TRAIN))
    passengers().to_csv(root / "data" / "passengers.csv", index=False)
    return root


def metrics(root: Path) -> dict:
    shown = cli("inspect", "--profile", "local", "--step", "evaluate", "--json", cwd=root)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)["metrics"]


def test_one_run_and_step_by_step_give_the_same_model(tmp_path: Path) -> None:
    whole = project(tmp_path / "whole")
    ran = cli("run", "--profile", "local", "--step", "evaluate", cwd=whole)
    assert ran.returncode == 0, ran.stderr
    stepwise = project(tmp_path / "stepwise")
    for step in ("ingest", "split", "transform", "train", "evaluate"):
        one = cli("run", "--profile", "local", "--step", step, "--only", cwd=stepwise)
        assert one.returncode == 0, f"{step}: {one.stderr}"
    assert metrics(whole) == metrics(stepwise)
    for step, output in (("transform", "transformed_training_data.parquet"),):
        a = pd.read_parquet(whole / ".mlrecipes/local/steps" / step / "outputs" / output)
        b = pd.read_parquet(stepwise / ".mlrecipes/local/steps" / step / "outputs" / output)
        pd.testing.assert_frame_equal(a, b)
