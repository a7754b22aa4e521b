"""Shared fixtures: isolated copies of recipes, real data paths, clean MLflow environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "telco_churn.csv"
FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATE_PARTS = (
    "recipe.yaml", "profiles", "steps", "notebooks", "access.yaml", "databricks.yml", "resources",
    "mlrecipes-init.yaml",
)  # fmt: skip


_FOREIGN_SETTINGS = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLRECIPES_EXECUTION_DIR",
    "MLRECIPES_PROFILE",
    "MLFLOW_RECIPES_PROFILE",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
)


@pytest.fixture(autouse=True, scope="module")
def _clean_environment_for_module_fixtures() -> None:
    """Module-scoped fixtures run before the per-test fixture below: clean for them too."""
    for name in _FOREIGN_SETTINGS:
        os.environ.pop(name, None)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the developer's shell may point a test at another MLflow or execution dir."""
    for name in _FOREIGN_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")


def copy_template(dest: Path, rows: int = 3000, seed: int = 7) -> Path:
    """A fresh copy of the churn template with its own generated sample data."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in TEMPLATE_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / part)
    from mlrecipes.sample_data.telco import write_sample

    write_sample(dest / "data" / "telco_sample.csv", rows=rows, seed=seed)
    return dest


@pytest.fixture
def churn_recipe(tmp_path: Path) -> Path:
    return copy_template(tmp_path / "churn")


def cli(
    *args: str, cwd: Path, env: dict | None = None, timeout: float = 600, input_text: str = ""
) -> subprocess.CompletedProcess:
    """Run the real ``mlrecipes`` command in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    # The console script, as users run it: unlike `python -m`, it does not put the CWD on sys.path.
    return subprocess.run(
        [str(Path(sys.executable).parent / "mlrecipes"), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
    )


def registered_versions(
    root: Path, model_name: str, db: str = "metadata/mlflow/mlruns.db"
) -> list[str]:
    """Model versions in the recipe's SQLite registry, read with MLflow's client."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{root / db}"
    if not (root / db).exists():
        return []
    client = MlflowClient(uri, uri)
    return sorted(
        (str(mv.version) for mv in client.search_model_versions(f"name='{model_name}'")), key=int
    )


def execute_notebook(path: Path, cwd: Path, timeout: int = 600):
    """Run a notebook top to bottom in a real Jupyter kernel (nbclient); return the executed copy."""
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)
    NotebookClient(
        book, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return book


def stopped_at_fault_point(
    root: Path, profile: str, step: str, proc: subprocess.Popen, timeout: float = 180
) -> int:
    """The pid of the engine that stopped itself at ``MLRECIPES_FAULT_POINT=<point>:stop``.

    The step's RUNNING state names the engine's pid; /proc says when it is stopped (``T``).
    """
    import json
    import time

    state = root / ".mlrecipes" / profile / "steps" / step / "state.json"
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"the run ended before its fault point: {proc.communicate()}"
        assert time.monotonic() < deadline, f"step {step} never reached its fault point"
        try:
            recorded = json.loads(state.read_text())
            pid = int(recorded["pid"]) if recorded.get("status") == "RUNNING" else 0
            status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, KeyError, IndexError):
            status = ""
        if status == "T":
            return pid
        time.sleep(0.01)
