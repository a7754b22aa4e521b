"""A profile refuses another environment's data roots (access.yaml), before it writes anything;
the documented override lets a deliberate run through, and says so."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import cli, copy_template

pytestmark = pytest.mark.slow


def test_a_dev_run_pointed_at_prod_data_stops_before_writing(tmp_path) -> None:
    root = copy_template(tmp_path / "churn", rows=800)
    (root / "data" / "prod").mkdir()
    shutil.copy(root / "data" / "telco_sample.csv", root / "data" / "prod" / "customers.csv")
    wrong = {"CHURN_DATA_LOCATION": "data/prod/customers.csv"}
    refused = cli("run", "--profile", "dev", "--step", "features", cwd=root, env=wrong)
    assert refused.returncode == 1
    assert (
        "profile 'dev' (environment 'dev') would use another environment's data" in refused.stderr
    )
    assert "steps.features.source.location: data/prod/customers.csv is under prod's data root data/prod" in refused.stderr  # fmt: skip
    assert "MLRECIPES_ALLOW_CROSS_ENVIRONMENT_DATA=1" in refused.stderr
    assert not (root / "data" / "feature_store" / "dev").exists()
    assert not (root / ".mlrecipes" / "dev").exists()
    allowed = cli(
        "run", "--profile", "dev", "--step", "features", cwd=root,
        env={**wrong, "MLRECIPES_ALLOW_CROSS_ENVIRONMENT_DATA": "1"},
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert "MLRECIPES_ALLOW_CROSS_ENVIRONMENT_DATA=1: running anyway" in allowed.stderr
    assert (root / "data" / "feature_store" / "dev" / "churn_features" / "_delta_log").is_dir()


def test_every_file_uri_spelling_of_prod_data_is_refused_too(tmp_path) -> None:
    """The readers accept file:relative, file:/abs, file:///abs and file://localhost/abs; the
    guard judged only one spelling, so dev built its tables from prod's file."""
    root = copy_template(tmp_path / "churn", rows=400)
    (root / "data" / "prod").mkdir()
    prod_file = root / "data" / "prod" / "customers.csv"
    shutil.copy(root / "data" / "telco_sample.csv", prod_file)
    for spelling in (
        "file:data/prod/customers.csv",
        f"file:{prod_file}",
        f"file://{prod_file}",
        f"file://localhost{prod_file}",
    ):
        refused = cli(
            "run", "--profile", "dev", "--step", "features", cwd=root,
            env={"CHURN_DATA_LOCATION": spelling},
        )  # fmt: skip
        assert refused.returncode == 1, spelling
        assert "would use another environment's data" in refused.stderr, refused.stderr
        assert f"{spelling} is under prod's data root data/prod" in refused.stderr
        assert not (root / "data" / "feature_store" / "dev").exists(), spelling
