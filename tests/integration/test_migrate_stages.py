"""``mlrecipes migrate registry`` on registries with stages made here (MLflow 3 still moves
stages, deprecated): refusals that change nothing, a chosen mapping, a model MLflow 3 loads
aliased where it is, and a copy into another store (#27). The MLflow Recipes 2.22.5 registry is
tests/integration/test_migrate_registry.py."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import cli

pytestmark = pytest.mark.slow

NAME = "plain"


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri, uri)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A store with v1 Archived, v2 Production, v3 Staging of one scikit-learn model."""
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    from mlrecipes.tracking.uris import scoped_uris

    work = tmp_path_factory.mktemp("stages")
    uri = f"sqlite:///{work / 'mlflow2.db'}"
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = LogisticRegression().fit(rows, rows["a"] + rng.normal(size=200) > 0)
    client = _client(uri)
    experiment = client.create_experiment("old", artifact_location=(work / "art").as_uri())
    run = client.create_run(experiment)
    with scoped_uris(uri, uri), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = mlflow.sklearn.log_model(model, name="model", run_id=run.info.run_id)
        client.set_terminated(run.info.run_id)
        client.create_registered_model(NAME)
        for stage in ("Archived", "Production", "Staging"):
            mv = client.create_model_version(NAME, info.model_uri, run.info.run_id)
            client.transition_model_version_stage(NAME, mv.version, stage)
    return {"work": work, "db": work / "mlflow2.db", "rows": rows, "model": model}


def _store(staged: dict, where: Path) -> str:
    db = where / "store.db"
    shutil.copy2(staged["db"], db)
    return f"sqlite:///{db}"


def _state(uri: str) -> tuple:
    client = _client(uri)
    versions = client.search_model_versions(f"name='{NAME}'")
    return (
        {a: str(v) for a, v in client.get_registered_model(NAME).aliases.items()},
        sorted(
            (str(mv.version), mv.current_stage, tuple(sorted(mv.tags.items()))) for mv in versions
        ),
    )


def _migrate(*args: str, cwd: Path):
    return cli("migrate", "registry", *args, cwd=cwd)


def test_two_versions_in_production_are_refused_and_nothing_changes(
    staged: dict, tmp_path: Path
) -> None:
    uri = _store(staged, tmp_path)
    _client(uri).transition_model_version_stage(NAME, "1", "Production")  # v1 and v2 now
    before = _state(uri)
    out = _migrate("--from-uri", uri, cwd=tmp_path)
    assert out.returncode == 1
    assert "plain: v1, v2 are all in stage Production" in out.stderr
    assert "nothing was changed" in out.stderr
    assert _state(uri) == before


def test_an_alias_pointing_elsewhere_is_refused_and_nothing_changes(
    staged: dict, tmp_path: Path
) -> None:
    uri = _store(staged, tmp_path)
    _client(uri).set_registered_model_alias(NAME, "champion", "1")
    before = _state(uri)
    out = _migrate("--from-uri", uri, cwd=tmp_path)
    assert out.returncode == 1
    assert "alias @champion already points at v1" in out.stderr
    assert _state(uri) == before


def test_bad_training_data_is_refused_before_any_write(staged: dict, tmp_path: Path) -> None:
    uri = _store(staged, tmp_path)
    before = _state(uri)
    missing = _migrate("--from-uri", uri, "--training-data", f"{NAME}={tmp_path / 'no.csv'}",
                       cwd=tmp_path)  # fmt: skip
    assert missing.returncode == 1 and f"--training-data {tmp_path / 'no.csv'}" in missing.stderr
    rows = tmp_path / "rows.csv"
    staged["rows"].to_csv(rows, index=False)
    no_key = _migrate("--from-uri", uri, "--training-data", f"{NAME}={rows}", "--key", "id",
                      cwd=tmp_path)  # fmt: skip
    assert no_key.returncode == 1 and f"--training-data {rows}: no column 'id'" in no_key.stderr
    unnamed = _migrate("--from-uri", uri, "--training-data", "rows.csv", cwd=tmp_path)
    assert unnamed.returncode == 1 and "MODEL=FILE" in unnamed.stderr
    other = _migrate("--from-uri", uri, "--training-data", "churn=rows.csv", cwd=tmp_path)
    assert other.returncode == 1 and "--training-data names churn" in other.stderr
    unknown = _migrate("--from-uri", uri, "--model", "churn", cwd=tmp_path)
    assert unknown.returncode == 1 and "--model churn: no such registered model" in unknown.stderr
    assert _state(uri) == before
    nowhere = _migrate("--from-uri", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path)
    assert nowhere.returncode == 1 and "no such database file" in nowhere.stderr
    assert not (tmp_path / "none.db").exists()


def test_a_model_mlflow_3_loads_gets_the_alias_on_its_own_version_with_a_chosen_mapping(
    staged: dict, tmp_path: Path
) -> None:
    uri = _store(staged, tmp_path)
    out = _migrate("--from-uri", uri, "--stage-alias", "Production=prod", "--stage-alias",
                   "Archived=retired", cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    aliases, versions = _state(uri)
    assert aliases == {"prod": "2", "retired": "1"}  # Staging is not mapped here
    assert len(versions) == 3  # nothing re-logged: the version loads as it is
    client = _client(uri)
    assert client.get_model_version(NAME, "2").tags["mlrecipes.migrated_from_stage"] == (
        "Production"
    )


def test_copying_into_another_store_re_logs_the_model_and_it_predicts_the_same(
    staged: dict, tmp_path: Path
) -> None:
    import mlflow.pyfunc

    from mlrecipes.tracking.uris import scoped_uris

    uri = _store(staged, tmp_path)
    before = _state(uri)
    target = f"sqlite:///{tmp_path / 'new' / 'mlflow3.db'}"
    (tmp_path / "new").mkdir()
    dry = _migrate("--from-uri", uri, "--to-uri", target, "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and dry.stdout.count("would ") == 2, dry.stderr
    assert not (tmp_path / "new" / "mlflow3.db").exists()
    out = _migrate("--from-uri", uri, "--to-uri", target, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert _state(uri) == before
    aliases, versions = _state(target)
    assert aliases == {"champion": "1", "challenger": "2"}
    assert [v[0] for v in versions] == ["1", "2"]
    with scoped_uris(target, target):
        loaded = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    expected = staged["model"].predict(staged["rows"])
    np.testing.assert_array_equal(np.asarray(loaded.predict(staged["rows"])), expected)
    assert (tmp_path / "new" / "mlartifacts").is_dir()


def test_a_migration_killed_before_the_alias_is_finished_by_the_next_run(
    staged: dict, tmp_path: Path
) -> None:
    uri = _store(staged, tmp_path)
    target = f"sqlite:///{tmp_path / 'mlflow3.db'}"
    killed = cli("migrate", "registry", "--from-uri", uri, "--to-uri", target, cwd=tmp_path,
                 env={"MLRECIPES_FAULT_POINT": "migrate.before_alias"})  # fmt: skip
    assert killed.returncode == -9
    aliases, versions = _state(target)
    assert aliases == {} and [v[0] for v in versions] == ["1"]  # the copy, tagged, no alias
    again = _migrate("--from-uri", uri, "--to-uri", target, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    aliases, versions = _state(target)
    assert aliases == {"champion": "1", "challenger": "2"}  # the copy found, not made twice
    assert [v[0] for v in versions] == ["1", "2"]


def test_two_migrations_at_once_make_one_copy_of_each_version(staged: dict, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    uri = _store(staged, tmp_path)
    target = f"sqlite:///{tmp_path / 'mlflow3.db'}"
    # the store exists (two MLflow clients creating one SQLite schema at once race in MLflow)
    _client(target).search_registered_models()
    command = [str(Path(sys.executable).parent / "mlrecipes"), "migrate", "registry",
               "--from-uri", uri, "--to-uri", target]  # fmt: skip
    both = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=dict(os.environ),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for proc in both:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    aliases, versions = _state(target)
    assert aliases == {"champion": "1", "challenger": "2"}
    assert [v[0] for v in versions] == ["1", "2"]
