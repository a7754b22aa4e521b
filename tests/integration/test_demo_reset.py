"""`mlrecipes demo reset` (the seed's demo-setup): asks first, removes a profile's experiments,
model, tables, outputs and execution directory, is idempotent, refuses prod without --i-know,
and leaves the profile able to start again from nothing."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import cli, copy_template

pytestmark = pytest.mark.slow


def test_reset_removes_everything_once_confirmed_and_is_idempotent(tmp_path) -> None:
    root = copy_template(tmp_path / "churn", rows=1200)
    assert cli("run", "--profile", "local", cwd=root).returncode == 0
    assert cli("run", "--profile", "local", "--step", "monitor", cwd=root).returncode == 0
    uri = f"sqlite:///{root / 'metadata/mlflow/mlruns.db'}"
    client = MlflowClient(uri, uri)
    assert client.get_registered_model("churn").aliases["champion"] in (1, "1")
    made = [
        root / p
        for p in ("data/scores/churn_local", "data/monitoring/churn_local", ".mlrecipes/local")
    ]
    assert all(p.exists() for p in made)

    declined = cli("demo", "reset", "--profile", "local", cwd=root, input_text="n\n")
    assert declined.returncode == 1 and "nothing removed" in declined.stderr
    assert "experiment 'churn-local-monitoring'" in declined.stderr
    assert all(p.exists() for p in made)

    done = cli("demo", "reset", "--profile", "local", "--yes", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "experiment 'churn-local'" in done.stdout and "registered model 'churn'" in done.stdout
    assert not any(p.exists() for p in made)
    assert client.search_registered_models() == []
    assert [e.name for e in client.search_experiments()] == ["Default"]
    again = cli("demo", "reset", "--profile", "local", "--yes", cwd=root)
    assert again.returncode == 0 and "removed 0 item(s)" in again.stdout

    fresh = cli("run", "--profile", "local", cwd=root)
    assert fresh.returncode == 0, fresh.stderr
    assert client.get_registered_model("churn").aliases["champion"] in (1, "1")

    prod = cli("demo", "reset", "--profile", "prod", "--yes", cwd=root)
    assert prod.returncode == 1 and "refusing to reset 'prod' without --i-know" in prod.stderr
