"""kill -9 in the middle of a step, and two runs of one profile at the same time."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli, registered_versions

pytestmark = pytest.mark.slow


def _start(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "mlrecipes"), "run", "--profile", "local"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _state(root: Path, step: str) -> dict:
    path = root / ".mlrecipes" / "local" / "steps" / step / "state.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


@pytest.mark.parametrize(
    ("forking", "exit_code", "left", "next_says"),
    [
        # no supervisor (as on a platform without fork): the command itself dies, a power cut
        ("1", -signal.SIGKILL, "RUNNING", "previous run was interrupted"),
        # the engine killed under its supervisor (the OOM killer), which records the death
        ("", 128 + signal.SIGKILL, "FAILED", "previous run failed"),
    ],
    ids=["the command", "the engine under its supervisor"],
)
def test_kill_9_during_train_then_run_completes_cleanly(
    churn_recipe: Path, forking: str, exit_code: int, left: str, next_says: str
) -> None:
    # killed inside train's MLflow run, its model logged and its temporary outputs half
    # written: a named crash point, since polling for the run from here raced with a train that
    # could close its run before a busy machine let the test send the signal
    env = {"MLRECIPES_FAULT_POINT": "train.model_logged", "MLRECIPES_NO_FORK": forking}
    killed = cli("run", "--profile", "local", cwd=churn_recipe, env=env)
    assert killed.returncode == exit_code, killed.stderr
    assert (churn_recipe / ".mlrecipes/local/steps/train/active_mlflow_run").read_text()

    train_dir = churn_recipe / ".mlrecipes" / "local" / "steps" / "train"
    assert _state(churn_recipe, "train")["status"] == left
    assert not (train_dir / "outputs").exists()

    result = cli("run", "--profile", "local", cwd=churn_recipe)
    assert result.returncode == 0, result.stderr
    assert next_says in result.stderr
    assert (
        "Ran: train, evaluate, register, deploy; cached: ingest, split, transform" in result.stdout
    )
    assert [p.name for p in train_dir.iterdir() if p.name.startswith(".")] == []
    assert _state(churn_recipe, "register")["status"] == "SUCCEEDED"
    assert registered_versions(churn_recipe, "churn") == ["1"]
    assert "marked MLflow run" in result.stderr and "as KILLED" in result.stderr
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{churn_recipe / 'metadata/mlflow/mlruns.db'}"
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("churn-local")
    statuses = sorted(r.info.status for r in client.search_runs([experiment.experiment_id]))
    assert statuses == ["FINISHED", "KILLED"]


def test_two_concurrent_runs_do_not_corrupt_the_execution_directory(churn_recipe: Path) -> None:
    first, second = _start(churn_recipe), _start(churn_recipe)
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    # one did the work; the other waited for the lock and then found everything cached
    assert sum("Ran: nothing" in out for out in (out1, out2)) == 1
    assert (
        sum(
            "Ran: ingest, split, transform, train, evaluate, register" in out
            for out in (out1, out2)
        )
        == 1
    )
    assert "waiting for the run holding" in err1 + err2
    # the waiter says who holds the lock and since when
    assert re.search(r"\(pid \d+ on \S+ since 20\d\d-\d\d-\d\dT[\d:]+\+00:00: ", err1 + err2)
    assert registered_versions(churn_recipe, "churn") == ["1"]
    for step in ("ingest", "split", "transform", "train", "evaluate", "register"):
        assert _state(churn_recipe, step)["status"] == "SUCCEEDED"
