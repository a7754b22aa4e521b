"""The churn template's four profiles load, and keep environments apart."""

from __future__ import annotations

import pytest

from mlrecipes.config.tracking import resolve_tracking
from mlrecipes.execution.context import load_recipe
from tests.conftest import REPO

PROFILES = ("local", "local_features", "dev", "staging", "prod")


@pytest.fixture(autouse=True)
def _data_location(monkeypatch: pytest.MonkeyPatch) -> None:
    """Non-local profiles require their data location (set here as the sample's)."""
    monkeypatch.setenv("CHURN_DATA_LOCATION", "data/telco_sample.csv")


@pytest.mark.parametrize("profile", ["dev", "staging", "prod"])
def test_non_local_profiles_refuse_to_start_without_their_data(
    profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlrecipes.errors import ConfigError

    monkeypatch.delenv("CHURN_DATA_LOCATION")
    with pytest.raises(ConfigError, match="CHURN_DATA_LOCATION is not set"):
        load_recipe(REPO, profile)


def test_local_needs_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHURN_DATA_LOCATION")
    assert load_recipe(REPO, "local").config.steps.ingest.location == "data/telco_sample.csv"


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_loads_with_safe_local_defaults(profile: str) -> None:
    loaded = load_recipe(REPO, profile)
    settings = resolve_tracking(loaded)
    assert settings.tracking_uri.startswith(f"sqlite:///{REPO}/metadata/mlflow/")
    assert settings.registry_uri == settings.tracking_uri
    steps = loaded.config.steps
    if profile == "local":  # the MLflow Recipes-style quick start: a CSV, no feature store
        assert steps.ingest.location == "data/telco_sample.csv" and steps.features is None
        assert loaded.config.feature_store is None
        return
    # the others build the feature tables from their data and train through lookups
    assert steps.ingest.using == "feature_store" and steps.ingest.spine.table == "churn_labels"
    expected = "data/telco_snapshots" if profile == "local_features" else "data/telco_sample.csv"
    assert steps.features.source.location == expected
    assert loaded.config.feature_store.root == f"data/feature_store/{profile}"
    assert steps.split.group_columns == ["customerID"]


def test_each_profile_has_its_own_experiment_model_and_store() -> None:
    loaded = {p: load_recipe(REPO, p) for p in PROFILES}
    names = {p: rec.config.model_name for p, rec in loaded.items()}
    assert names == {
        "local": "churn",
        "local_features": "churn_features_model",
        "dev": "dev.churn.churn_model",
        "staging": "staging.churn.churn_model",
        "prod": "prod.churn.churn_model",
    }
    assert len({rec.config.experiment.name for rec in loaded.values()}) == 5
    assert len({resolve_tracking(rec).tracking_uri for rec in loaded.values()}) == 5
    stores = [rec.config.feature_store.root for rec in loaded.values() if rec.config.feature_store]
    assert len(stores) == len(set(stores)) == 4


def test_staging_reads_a_sample_and_prod_the_full_table() -> None:
    assert load_recipe(REPO, "staging").config.steps.ingest.sample_fraction == 0.3
    assert load_recipe(REPO, "prod").config.steps.ingest.sample_fraction is None


def test_environment_variables_choose_server_and_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    monkeypatch.setenv("CHURN_DATA_LOCATION", "/data/customers.parquet")
    monkeypatch.setenv("CHURN_FEATURE_STORE_ROOT", "/stores/prod")
    loaded = load_recipe(REPO, "prod", {"FEATURES_SOURCE_FORMAT": "parquet"})
    settings = resolve_tracking(loaded)
    assert settings.tracking_uri == settings.registry_uri == "http://127.0.0.1:5999"
    assert settings.artifact_location is None  # the server decides where artifacts go
    source = loaded.config.steps.features.source
    assert (source.location, source.using) == ("/data/customers.parquet", "parquet")
    assert loaded.config.feature_store.root == "/stores/prod"
