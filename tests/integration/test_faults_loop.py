"""Kills at the commit boundaries of the scoring loop (#31): predict, monitor and retrain, each
killed with SIGKILL at a named point (``MLRECIPES_FAULT_POINT``), then the next ordinary
command: nothing lost, nothing counted twice, nothing reported done that was not. The tests
share one trained recipe and run in order (each builds on the windows of the one before)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable
from mlflow.tracking import MlflowClient

from mlrecipes.loop.retrain import firings_of
from tests.conftest import cli, copy_template
from tests.integration.test_monitoring import month

pytestmark = pytest.mark.slow
SCORES = "data/scores/churn_local"
MONITORING = "data/monitoring/churn_local"
KILL = "MLRECIPES_FAULT_POINT"


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_template(tmp_path_factory.mktemp("faults") / "churn", rows=3000)
    trained = cli("run", "--profile", "local", cwd=root)
    assert trained.returncode == 0, trained.stderr
    return root


def monitor(root: Path, name: str, frame: pd.DataFrame, when: str | None = None, **env: str):
    """The scoring job (predict, then monitor) on ``frame``, at ``when`` or now."""
    frame.drop(columns=["Churn"]).to_csv(root / "data" / f"{name}.csv", index=False)
    at = ("--var", f"SCORING_TIME={when}") if when else ()
    return cli(
        "run", "--profile", "local", "--step", "monitor",
        "--var", f"SCORING_DATA_LOCATION=data/{name}.csv", *at, cwd=root, env=env,
    )  # fmt: skip


def inspect(root: Path, step: str) -> dict:
    out = cli("inspect", "--profile", "local", "--step", step, "--json", cwd=root)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def scores(root: Path) -> pd.DataFrame:
    return DeltaTable(str(root / SCORES)).to_pandas()


def mlflow_runs(root: Path, tag: str, value: str) -> int:
    uri = f"sqlite:///{root / 'metadata/mlflow/mlruns.db'}"
    client = MlflowClient(uri, uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return len(client.search_runs(ids, filter_string=f"tags.`{tag}` = '{value}'"))


def test_a_predict_killed_after_its_commit_is_recorded_by_the_next_run_not_scored_twice(
    loop: Path,
) -> None:
    january = month("stable", 301, 1500)
    at = "2026-01-31T00:00:00"
    killed = monitor(loop, "january", january, at, **{KILL: "predict.scores_committed"})
    # the step's process died; the engine's parent says so (137: killed by SIGKILL)
    assert killed.returncode == 137, killed.stderr
    assert "killed by SIGKILL inside step predict; marked FAILED" in killed.stderr
    committed = scores(loop)
    assert len(committed) == 1500 and committed["scored_at"].nunique() == 1  # in, unrecorded

    again = monitor(loop, "january", january, at)  # the same job, run again
    assert again.returncode == 0, again.stderr
    assert "this run records that window instead of scoring the same input again" in again.stderr
    after = scores(loop)
    assert len(after) == 1500 and after["customerID"].is_unique  # no customer twice
    info = inspect(loop, "predict")
    assert info["recovered_window"] is True and info["rows_scored"] == 1500
    window = inspect(loop, "monitor")
    assert window["window"] == info["scored_at"] and window["rows"] == 1500


def test_a_killed_window_of_other_data_stays_and_is_said(loop: Path) -> None:
    killed = monitor(loop, "february", month("stable", 302, 1000), "2026-02-27T00:00:00",
                     **{KILL: "predict.scores_committed"})  # fmt: skip
    assert killed.returncode == 137, killed.stderr
    # the complete delivery, a day later
    newer = monitor(loop, "february_full", month("stable", 303, 1200), "2026-02-28T00:00:00")
    assert newer.returncode == 0, newer.stderr
    assert "never recorded it, and its input or model differs from this run's" in newer.stderr
    table = scores(loop)
    assert table["scored_at"].nunique() == 3 and len(table) == 1500 + 1000 + 1200


def test_a_window_scored_again_at_the_same_time_is_refused(loop: Path) -> None:
    first = monitor(loop, "march", month("stable", 304, 800), "2026-03-31T00:00:00")
    assert first.returncode == 0, first.stderr
    before = len(scores(loop))
    twice = monitor(loop, "march_again", month("stable", 305, 800), "2026-03-31T00:00:00")
    assert twice.returncode == 1
    assert "already holds window 2026-03-31T00:00:00+00:00 (800 rows)" in twice.stderr
    assert "would count its customers twice" in twice.stderr
    assert len(scores(loop)) == before


def test_a_monitor_killed_after_its_table_commit_is_logged_by_the_next_run(loop: Path) -> None:
    april = "2026-04-30T00:00:00+00:00"
    killed = monitor(loop, "april", month("covariate", 306, 1500), "2026-04-30T00:00:00",
                     **{KILL: "monitor.window_appended"})  # fmt: skip
    assert killed.returncode == 137, killed.stderr
    table = DeltaTable(str(loop / MONITORING)).to_pandas()
    april_rows = int((table["window"] == april).sum())
    assert april_rows > 0  # committed
    assert mlflow_runs(loop, "mlrecipes.monitor.window", april) == 0  # not yet in MLflow

    may = monitor(loop, "may", month("covariate", 307, 1500), "2026-05-31T00:00:00")
    assert may.returncode == 0, may.stderr
    assert f"logged window {april} to MLflow (a killed monitor run had not)" in may.stderr
    assert mlflow_runs(loop, "mlrecipes.monitor.window", april) == 1
    table = DeltaTable(str(loop / MONITORING)).to_pandas()
    assert int((table["window"] == april).sum()) == april_rows  # nothing appended twice
    assert "unmonitored_windows" not in inspect(loop, "monitor")


def test_a_retrain_killed_after_it_fired_fires_again_and_takes_over_its_lease(loop: Path) -> None:
    sample = pd.read_csv(loop / "data" / "telco_sample.csv")
    pd.concat([sample, month("stable", 308, 1500)]).to_csv(loop / "data/latest.csv", index=False)
    retrain = ("retrain", "--profile", "local", "--json", "--var", "TRIGGER_MAX_PER_DAY=2",
               "--var", "INGEST_DATA_LOCATION=data/latest.csv")  # fmt: skip
    killed = cli(*retrain, cwd=loop, env={KILL: "retrain.started_recorded"})
    assert killed.returncode == -signal.SIGKILL
    trigger_path = loop / (MONITORING + "_trigger")
    started = DeltaTable(str(trigger_path)).to_pandas()
    assert list(started["run"]) == [json.dumps({"state": "started"})]

    again = cli(*retrain, cwd=loop)
    assert again.returncode == 0, again.stderr
    assert "taking over the retrain lease of a holder that is gone" in again.stderr
    result = json.loads(again.stdout)
    assert result["fired"] and "never finished: firing again" in result["reason"]
    assert str(result["run"]["registered_model_version"]) == "2"
    trigger = DeltaTable(str(trigger_path)).to_pandas()
    # in the order they happened; on the window clock both stand at the newest window they saw
    firings = firings_of(trigger)
    assert [f.finished for f in firings] == [False, True] and firings[0].at == firings[1].at

    # killed after the evaluation is in the table, before its MLflow run: the next one makes it
    cooled = cli(*retrain, cwd=loop, env={KILL: "retrain.result_recorded"})
    assert cooled.returncode == -signal.SIGKILL
    trigger = DeltaTable(str(trigger_path)).to_pandas()
    last = str(trigger.sort_values("evaluated_at")["evaluated_at"].iloc[-1])
    assert mlflow_runs(loop, "mlrecipes.trigger.evaluated_at", last) == 0
    after = cli(*retrain, cwd=loop)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["reason"].startswith("cooldown")
    assert mlflow_runs(loop, "mlrecipes.trigger.evaluated_at", last) == 1
    uri = f"sqlite:///{loop / 'metadata/mlflow/mlruns.db'}"
    assert not MlflowClient(uri, uri).search_registered_models("name LIKE '%__lease_%'")
