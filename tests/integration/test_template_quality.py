"""The churn template on the real IBM Telco data, and the staging profile on the generated sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REAL_DATA, cli, registered_versions

pytestmark = pytest.mark.slow


def evaluate_status(root: Path, profile: str) -> dict:
    env = {"CHURN_DATA_LOCATION": "data/telco_sample.csv"}  # read by non-local profiles
    result = cli("inspect", "--profile", profile, "--step", "evaluate", "--json", cwd=root, env=env)
    return json.loads(result.stdout)


@pytest.mark.skipif(not REAL_DATA.is_file(), reason=f"real IBM Telco data not found at {REAL_DATA}")
def test_real_data_validates_registers_and_beats_recipes_baseline(churn_recipe: Path) -> None:
    result = cli(
        "run", "--profile", "local", "--var", f"INGEST_DATA_LOCATION={REAL_DATA}", cwd=churn_recipe
    )
    assert result.returncode == 0, result.stderr
    status = evaluate_status(churn_recipe, "local")
    test = status["metrics"]["test"]
    assert status["model_validation_status"] == "VALIDATED"
    # MLflow Recipes with logistic regression reaches 0.829 on its split; above 0.95 would be a leak.
    assert 0.83 <= test["roc_auc"] < 0.95
    assert test["f1_score"] >= 0.55
    assert test["lift_top_decile"] > 2.0
    ingest = json.loads(
        cli("inspect", "--profile", "local", "--step", "ingest", "--json", cwd=churn_recipe).stdout
    )
    assert ingest["rows"] == 7043
    assert registered_versions(churn_recipe, "churn") == ["1"]
    # the default model is calibrated: predicted_score is P(churn), its mean on the test split
    # is the churn rate; the labels' cut-off was chosen on validation
    from mlrecipes.recipe import Recipe

    recipe = Recipe("local", root=churn_recipe, variables={"INGEST_DATA_LOCATION": str(REAL_DATA)})
    holdout = recipe.get_artifact("test_data")
    scores = recipe.get_artifact("model").predict(holdout.drop(columns=["Churn"]))
    assert (scores["predicted_score"] == scores["predicted_score_Yes"]).all()
    rate = (holdout["Churn"] == "Yes").mean()
    mean = scores["predicted_score"].mean()
    assert abs(mean - rate) <= 0.03, (mean, rate)
    threshold = recipe.status("train")["decision_threshold"]
    assert ((scores["predicted_score"] >= threshold) == (scores["predicted_label"] == "Yes")).all()
    # ... without losing AUC against the uncalibrated model at 0.5, whose mean is far off
    plain = Recipe(
        "local",
        root=churn_recipe,
        variables={
            "INGEST_DATA_LOCATION": str(REAL_DATA),
            "CALIBRATE_PROBA": None,
            "DECISION_THRESHOLD": None,
        },
    )
    plain.run("evaluate")
    assert test["roc_auc"] >= plain.status("evaluate")["metrics"]["test"]["roc_auc"] - 0.002
    raw = plain.get_artifact("model").predict(holdout.drop(columns=["Churn"]))
    assert raw["predicted_score"].mean() - rate > 0.1


def test_staging_profile_runs_on_a_sample(churn_recipe: Path) -> None:
    from mlrecipes.sample_data.telco import write_sample

    write_sample(churn_recipe / "data" / "telco_sample.csv", rows=7043, seed=42)
    data = {"CHURN_DATA_LOCATION": "data/telco_sample.csv"}  # required outside local
    refused = cli("run", "--profile", "staging", cwd=churn_recipe)
    assert refused.returncode == 1 and "CHURN_DATA_LOCATION is not set" in refused.stderr
    result = cli("run", "--profile", "staging", cwd=churn_recipe, env=data)
    assert result.returncode == 0, result.stderr
    ingest = json.loads(
        cli(
            "inspect", "--profile", "staging", "--step", "ingest", "--json", cwd=churn_recipe,
            env=data,
        ).stdout
    )  # fmt: skip
    # staging builds its own feature tables from the data and trains on 30% of the lookups
    features = json.loads(
        cli(
            "inspect", "--profile", "staging", "--step", "features", "--json", cwd=churn_recipe,
            env=data,
        ).stdout
    )  # fmt: skip
    assert features["tables"][0]["rows"] == 7043
    assert features["feature_store"].endswith("data/feature_store/staging")
    assert len(ingest["data_fingerprint"]) == 64
    assert {f["table"] for f in ingest["data_files"]} == {"churn_labels", "churn_features"}
    assert ingest["lineage"][0]["table"] == "churn_features"
    assert ingest["rows"] == pytest.approx(0.3 * 7043, abs=2)
    assert evaluate_status(churn_recipe, "staging")["model_validation_status"] == "VALIDATED"
    assert registered_versions(
        churn_recipe, "staging.churn.churn_model", "metadata/mlflow/staging.db"
    ) == ["1"]
    assert registered_versions(churn_recipe, "churn") == []  # local's store is untouched


def test_calibrated_model_shows_its_calibration(churn_recipe: Path) -> None:
    result = cli("run", "--profile", "local", "--var", "CALIBRATE_PROBA=isotonic", cwd=churn_recipe)
    assert result.returncode == 0, result.stderr
    card = json.loads((churn_recipe / ".mlrecipes/local/steps/train/card.json").read_text())
    tabs = {t["name"]: t for t in card["tabs"]}
    assert tabs["Prob. Calibration"]["blocks"][0]["kind"] == "image"
    assert "CalibratedClassifierCV" in json.dumps(tabs["Model Architecture"])
    assert evaluate_status(churn_recipe, "local")["metrics"]["test"]["roc_auc"] > 0.8
