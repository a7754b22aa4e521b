"""The churn template's four profiles load, and keep environments apart."""

from __future__ import annotations

import pytest

from mlrecipes.config import load_recipe
from mlrecipes.tracking.settings import resolve_tracking
from tests.conftest import REPO

PROFILES = ("local", "dev", "staging", "prod")


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
    assert loaded.config.steps.ingest.location == "data/telco_sample.csv"


def test_each_profile_has_its_own_experiment_model_and_store() -> None:
    loaded = {p: load_recipe(REPO, p) for p in PROFILES}
    names = {p: rec.config.model_name for p, rec in loaded.items()}
    assert names == {
        "local": "churn",
        "dev": "dev.churn.churn_model",
        "staging": "staging.churn.churn_model",
        "prod": "prod.churn.churn_model",
    }
    assert len({rec.config.experiment.name for rec in loaded.values()}) == 4
    assert len({resolve_tracking(rec).tracking_uri for rec in loaded.values()}) == 4


def test_staging_reads_a_sample_and_prod_the_full_table() -> None:
    assert load_recipe(REPO, "staging").config.steps.ingest.sample_fraction == 0.3
    assert load_recipe(REPO, "prod").config.steps.ingest.sample_fraction is None


def test_environment_variables_choose_server_and_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    monkeypatch.setenv("CHURN_DATA_LOCATION", "/data/customers.parquet")
    loaded = load_recipe(REPO, "prod", {"INGEST_DATA_FORMAT": "parquet"})
    settings = resolve_tracking(loaded)
    assert settings.tracking_uri == settings.registry_uri == "http://127.0.0.1:5999"
    assert settings.artifact_location is None  # the server decides where artifacts go
    assert loaded.config.steps.ingest.location == "/data/customers.parquet"
    assert loaded.config.steps.ingest.using == "parquet"
