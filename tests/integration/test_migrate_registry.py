"""An MLflow 2 registry kept by MLflow Recipes 2.22.5, moved to aliases under MLflow 3 (#27).

MLflow Recipes 2.22.5 itself (in its own virtual environment, with this suite's scikit-learn,
pandas and numpy, so that its pickles load here) runs the Titanic-style compat fixture,
registers its model, moves the version to Production, registers it again into Staging, and
scores the test split. Then, under MLflow 3: ``mlrecipes migrate registry`` (dry run, in place,
again, and into another store), ``models:/<name>@champion`` scored on the same rows, and an
mlrecipes run whose deploy step compares its new model with the migrated champion.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FIXTURES, REPO, cli
from tests.integration.test_trust_runs import _state

pytestmark = pytest.mark.slow

NAME = "compat_titanic"
# MLflow 2.x's last release (it has `mlflow recipes`); SQLAlchemy 2.1 breaks its train step
PINS = [
    "mlflow==2.22.5",
    "sqlalchemy<2.1",
    *(f"{p}=={version(p)}" for p in ("scikit-learn", "pandas", "numpy")),
]
VENV = REPO / "benchmarks" / ".venv-recipes2-migrate"


def _recipes2_python() -> Path:
    """MLflow 2.22.5 with this suite's pins, made once (under a lock: two workers may ask)."""
    python = VENV / "bin" / "python"
    marker = VENV / "pins.json"
    VENV.parent.mkdir(exist_ok=True)
    with open(VENV.parent / ".venv-recipes2-migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and marker.is_file() and json.loads(marker.read_text()) == PINS:
            return python
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--progress-bar", "off", *PINS],
            capture_output=True, text=True,
        )  # fmt: skip
        if installed.returncode != 0:
            shutil.rmtree(VENV, ignore_errors=True)
            if os.environ.get("CI"):
                pytest.fail(f"installing {PINS} failed:\n{installed.stderr[-3000:]}")
            pytest.skip(f"MLflow 2.22.5 could not be installed from the package registry: "
                        f"{installed.stderr.strip().splitlines()[-1:]}")  # fmt: skip
        marker.write_text(json.dumps(PINS))
    return python


@pytest.fixture(scope="module")
def recipes2(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The MLflow 2 registry: recipe folder, store, versions and 2.22.5's test-split output."""
    python = _recipes2_python()
    work = tmp_path_factory.mktemp("recipes2")
    built = subprocess.run(
        [str(python), str(FIXTURES / "compat" / "stages_registry.py"), "titanic_registry_uri",
         str(work)],
        capture_output=True, text=True, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        timeout=900,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    facts = json.loads(built.stdout.strip().splitlines()[-1])
    shutil.copy2(work / "recipe" / "metadata" / "mlflow" / "mlruns.db", work / "mlflow2-store.db")
    assert facts["mlflow"] == "2.22.5" and (facts["production"], facts["staging"]) == ("1", "2")
    return {**facts, "work": work, "root": work / "recipe"}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri, uri)


def _scores(uri: str, model_uri: str, rows: pd.DataFrame) -> pd.DataFrame:
    import mlflow.pyfunc

    from mlrecipes.tracking.uris import scoped_uris

    with scoped_uris(uri, uri):
        return mlflow.pyfunc.load_model(model_uri).predict(rows)


def _assert_scores_like_mlflow_2(out: pd.DataFrame, expected: dict) -> None:
    assert list(out.columns) == list(expected)  # the same columns, in MLflow Recipes' order
    for column, values in expected.items():
        np.testing.assert_allclose(out[column].to_numpy(dtype=float), values, rtol=0, atol=1e-9)


def _migrate(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return cli("migrate", "registry", *args, cwd=cwd)


def test_a_recipes_model_moves_to_champion_scores_as_before_and_deploy_compares_with_it(
    recipes2: dict,
) -> None:
    root, store = recipes2["root"], recipes2["store"]
    db = root / "metadata" / "mlflow" / "mlruns.db"
    test = pd.read_parquet(recipes2["work"] / "test_data.parquet")
    rows = test.drop(columns=[recipes2["target"]])

    # MLflow 3 cannot load what MLflow Recipes registered: that is why the model is re-packaged
    untouched = _digest(db)
    dry = _migrate("--from-uri", store, "--dry-run", cwd=root)
    assert dry.returncode == 0, dry.stderr
    assert "would compat_titanic: Production v1 -> @champion" in dry.stdout
    assert "would compat_titanic: Staging v2 -> @challenger" in dry.stdout
    assert _digest(db) == untouched  # not even MLflow 3's schema upgrade

    training = str(recipes2["work"] / "training_data.parquet")
    done = _migrate("--from-uri", store, "--training-data", f"{NAME}={training}", "--key",
                    "row_id", cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    client = _client(store)
    aliases = {a: str(v) for a, v in client.get_registered_model(NAME).aliases.items()}
    assert set(aliases) == {"champion", "challenger"}
    champion = client.get_model_version(NAME, aliases["champion"])
    assert champion.tags["mlrecipes.migrated_from_stage"] == "Production"
    assert champion.tags["mlrecipes.migrated_from_version"] == "1"
    assert (
        client.get_model_version(NAME, "1").tags["mlrecipes.migrated_to_version"]
        == (aliases["champion"])
    )
    assert (
        client.get_model_version(NAME, aliases["challenger"]).tags["mlrecipes.migrated_from_stage"]
        == "Staging"
    )
    assert f"@champion -> v{aliases['champion']} (was Production v1)" in done.stdout

    out = _scores(store, f"models:/{NAME}@champion", rows)
    _assert_scores_like_mlflow_2(out, recipes2["test_predictions"])

    # again: nothing to do, nothing new
    versions = len(client.search_model_versions(f"name='{NAME}'"))
    again = _migrate("--from-uri", store, cwd=root)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("(already done)") == 2
    assert len(client.search_model_versions(f"name='{NAME}'")) == versions

    # the history lists the migration as the champion's first event
    history = cli("champion", "--profile", "local", cwd=root)
    assert history.returncode == 0, history.stderr
    assert f"v{aliases['champion']}  migrated" in history.stdout
    assert "was the Production version v1" in history.stdout

    # mlrecipes on the same project and registry: deploy compares with the migrated champion
    recipe = root / "recipe.yaml"
    recipe.write_text(
        recipe.read_text().replace(
            "  register:\n", "  deploy:\n    key_columns: [row_id]\n  register:\n"
        )
    )
    ran = cli("run", "--profile", "local", cwd=root)
    assert ran.returncode == 0, ran.stderr
    summary = _state(root, "deploy")["summary"]
    assert summary["compared_with"] == aliases["champion"]
    assert summary["decision"] in ("kept", "promoted")
    assert summary["champion_score"] is not None


def test_copying_into_another_store_leaves_the_mlflow_2_store_as_it_was(
    recipes2: dict, tmp_path: Path
) -> None:
    source = recipes2["work"] / "copy-source.db"
    # a copy of the store as MLflow Recipes left it (the other test migrates the original)
    shutil.copy2(recipes2["work"] / "mlflow2-store.db", source)
    before = _digest(source)
    target = f"sqlite:///{tmp_path / 'mlflow3.db'}"
    copied = _migrate("--from-uri", f"sqlite:///{source}", "--to-uri", target, cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert _digest(source) == before
    client = _client(target)
    aliases = {a: str(v) for a, v in client.get_registered_model(NAME).aliases.items()}
    assert aliases == {"champion": "1", "challenger": "2"}
    test = pd.read_parquet(recipes2["work"] / "test_data.parquet")
    out = _scores(target, f"models:/{NAME}@champion", test.drop(columns=[recipes2["target"]]))
    _assert_scores_like_mlflow_2(out, recipes2["test_predictions"])
    assert (tmp_path / "mlartifacts").is_dir()  # beside the target store, not in the cwd
    again = _migrate("--from-uri", f"sqlite:///{source}", "--to-uri", target, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.count("(already done)") == 2, again.stderr
