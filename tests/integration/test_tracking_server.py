"""The staging profile against a real MLflow tracking server on 127.0.0.1 (artifacts proxied)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import cli, copy_template, stopped_at_fault_point
from tests.servers import free_port, running

pytestmark = pytest.mark.slow
MODEL = "staging.churn.churn_model"
DATA = {"CHURN_DATA_LOCATION": "data/telco_sample.csv"}  # non-local profiles require it


def server_args(store: Path, port: int) -> list[str]:
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
        "--artifacts-destination", str(store / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip


def start_server(store: Path, port: int):
    store.mkdir(parents=True, exist_ok=True)
    return running(
        server_args(store, port),
        "/health",
        port,
        store / f"server-{time.time_ns()}.log",
        timeout=120,
    )


def load_in_fresh_process(uri: str, root: Path) -> dict:
    script = textwrap.dedent(
        f"""
        import json, mlflow, pandas as pd
        from deltalake import DeltaTable
        # staging trains from its feature store: the model takes the feature rows
        table = {str(root / "data/feature_store/staging/churn_features")!r}
        rows = DeltaTable(table).to_pandas().drop(columns=["snapshot_date"]).head(3)
        out = mlflow.pyfunc.load_model("models:/{MODEL}@challenger").predict(rows)
        print(json.dumps({{"columns": list(out.columns), "n": len(out)}}))
        """
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, **DATA}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("server")
    root = copy_template(base / "churn", rows=7043, seed=42)
    store, port = base / "store", free_port()
    with start_server(store, port) as uri:
        result = cli(
            "run", "--profile", "staging", cwd=root, env={"MLFLOW_TRACKING_URI": uri, **DATA}
        )
        assert result.returncode == 0, result.stderr
        yield root, store, port, uri


def test_staging_run_is_recorded_on_the_server(staged) -> None:
    from mlflow.tracking import MlflowClient

    root, _, _, uri = staged
    client = MlflowClient(uri, uri)
    status = json.loads(
        cli(
            "inspect",
            "--profile",
            "staging",
            "--json",
            cwd=root,
            env={"MLFLOW_TRACKING_URI": uri, **DATA},
        ).stdout
    )
    assert status["tracking_uri"] == uri
    assert not (root / "metadata").exists()  # nothing went to the local SQLite default
    experiment = client.get_experiment_by_name("churn-staging")
    (run,) = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`mlflow.pipeline.step.name` = 'train'"
    )
    assert run.data.metrics["test_roc_auc"] > 0.8 and "test_lift_top_decile" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"train", "evaluate", "register", "recipe_snapshot"} <= artifacts
    cards = {
        a.path
        for folder in ("train", "evaluate", "register")
        for a in client.list_artifacts(run.info.run_id, folder)
    }
    assert {"train/card.html", "evaluate/card.html", "register/card.html"} <= cards
    html = client.download_artifacts(run.info.run_id, "evaluate/card.html")
    assert "Model Validation" in Path(html).read_text()
    version = client.get_model_version_by_alias(MODEL, "challenger")
    assert str(version.version) == "1" and version.run_id == run.info.run_id
    assert load_in_fresh_process(uri, root) == {
        "columns": [
            "predicted_score_No",
            "predicted_score_Yes",
            "predicted_score",
            "predicted_label",
        ],
        "n": 3,
    }


def test_everything_survives_a_server_restart(staged) -> None:
    from mlflow.tracking import MlflowClient

    root, store, _, _ = staged
    # a second server process on the same backend store and artifact folder
    other_port = free_port()
    with start_server(store, other_port) as other_uri:
        client = MlflowClient(other_uri, other_uri)
        version = client.get_model_version_by_alias(MODEL, "challenger")
        run = client.get_run(version.run_id)
        assert run.info.status == "FINISHED" and "test_roc_auc" in run.data.metrics
        assert load_in_fresh_process(other_uri, root)["n"] == 3


def test_server_killed_mid_run_fails_fast_naming_the_uri_then_recovers(tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=7043, seed=42)
    store, port = tmp_path / "store", free_port()
    store.mkdir()
    uri = f"http://127.0.0.1:{port}"
    with open(store / "server.log", "w") as log:
        server = subprocess.Popen(
            server_args(store, port), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        from tests.servers import wait_until_ready

        wait_until_ready(uri + "/health", server, 120, store / "server.log")
        run = subprocess.Popen(
            [sys.executable, "-m", "mlrecipes", "run", "--profile", "staging"],
            cwd=root, env={**os.environ, "MLFLOW_TRACKING_URI": uri, **DATA,
                           "MLRECIPES_FAULT_POINT": "train.model_logged:stop"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # the server dies while train's MLflow run is open (the engine stopped inside it)
        engine = stopped_at_fault_point(root, "staging", "train", run)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        os.kill(engine, signal.SIGCONT)
        killed_at = time.monotonic()
        _, err = run.communicate(timeout=120)
        elapsed = time.monotonic() - killed_at
        assert run.returncode == 1
        assert f"the MLflow tracking server at {uri} could not be reached" in err
        assert elapsed < 60, f"took {elapsed:.0f} s to give up"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)

    with start_server(store, port):
        result = cli(
            "run", "--profile", "staging", cwd=root, env={"MLFLOW_TRACKING_URI": uri, **DATA}
        )
        assert result.returncode == 0, result.stderr
        assert "marked MLflow run" in result.stderr
        from mlflow.tracking import MlflowClient

        assert (
            str(MlflowClient(uri, uri).get_model_version_by_alias(MODEL, "challenger").version)
            == "1"
        )
