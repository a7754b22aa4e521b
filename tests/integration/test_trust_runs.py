"""Issue #11 end to end: interruptions, exit codes, the cache and the registry, for real.

Every run here is the real ``mlrecipes`` console script on the churn template with MLflow on
SQLite; the registry is read back with MLflow's own client.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import cli, copy_template, registered_versions, stopped_at_fault_point

pytestmark = pytest.mark.slow
MLRECIPES = str(Path(sys.executable).parent / "mlrecipes")


def _steps(root: Path) -> Path:
    return root / ".mlrecipes" / "local" / "steps"


def _state(root: Path, step: str) -> dict:
    try:
        return json.loads((_steps(root) / step / "state.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _start(root: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [MLRECIPES, "run", "--profile", "local", *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _client(root: Path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{root / 'metadata/mlflow/mlruns.db'}"
    return MlflowClient(uri, uri)


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"the run ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _pending(pid: int, signum: int) -> bool:
    """Whether ``signum`` waits to be delivered to process ``pid`` (Linux's /proc status masks)."""
    masks = {
        key: int(value, 16)
        for key, _, value in (
            line.partition(":\t") for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
        if key in ("SigPnd", "ShdPnd")
    }
    return any(mask >> (signum - 1) & 1 for mask in masks.values())


def _no_leftovers(root: Path) -> None:
    leftovers = [p for p in _steps(root).rglob("*") if p.name.startswith((".tmp-", ".old-"))]
    assert leftovers == []


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture
def churn(tmp_path: Path) -> Path:
    return copy_template(tmp_path / "churn", rows=1500)


# --- signals -------------------------------------------------------------------------------


def test_sigterm_during_train_fails_the_step_and_kills_its_mlflow_run(churn: Path) -> None:
    # the engine stops itself inside train's MLflow run; the signal is then pending for it
    proc = _start(churn, env={"MLRECIPES_FAULT_POINT": "train.model_logged:stop"})
    engine = stopped_at_fault_point(churn, "local", "train", proc)
    proc.send_signal(signal.SIGTERM)  # to the command itself, as Kubernetes and CI do
    _wait_for(lambda: _pending(engine, signal.SIGTERM), proc, "the command forwarded SIGTERM")
    os.kill(engine, signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    state = _state(churn, "train")
    assert state["status"] == "FAILED"
    assert "interrupted by SIGTERM" in state["error"]["message"]
    assert "Interrupted in step 'train' (interrupted by SIGTERM)" in err
    assert "Resume with: mlrecipes run --profile local" in err
    assert not (_steps(churn) / "train" / "outputs").exists()
    _no_leftovers(churn)
    client = _client(churn)
    experiment = client.get_experiment_by_name("churn-local")
    assert [r.info.status for r in client.search_runs([experiment.experiment_id])] == ["KILLED"]

    again = cli("run", "--profile", "local", cwd=churn)
    assert again.returncode == 0, again.stderr
    assert "train           running (previous run failed)" in again.stderr
    assert registered_versions(churn, "churn") == ["1"]


def test_sigint_prints_interrupted_and_the_resume_command_with_its_vars(churn: Path) -> None:
    stop = {"MLRECIPES_FAULT_POINT": "step.transform:stop"}
    proc = _start(churn, "--var", "ESTIMATOR_PARAMS={C: 0.5}", env=stop)
    engine = stopped_at_fault_point(churn, "local", "transform", proc)
    proc.send_signal(signal.SIGINT)
    _wait_for(lambda: _pending(engine, signal.SIGINT), proc, "the command forwarded SIGINT")
    os.kill(engine, signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT
    assert "Error: \n" not in err and "Interrupted" in err
    assert "Resume with: mlrecipes run --profile local --var 'ESTIMATOR_PARAMS={C: 0.5}'" in err
    assert _state(churn, "transform")["status"] == "FAILED"


@pytest.mark.parametrize("how", ["kill -9", "SIGKILL to the command", "SIGTERM"])
def test_an_interrupted_register_leaves_exactly_the_versions_of_runs_that_succeeded(
    churn: Path, how: str
) -> None:
    """Interrupt register at several points (including right after the version is created,
    before its alias moves); after one more run the registry holds one version, aliased and
    complete. kill -9 of the whole process group leaves a pending version for the next run to
    settle; SIGTERM (and SIGKILL of the command alone, which the engine sees as SIGTERM) ends
    register through its cleanup, which removes it in the common case."""
    assert cli("run", "--profile", "local", "--step", "evaluate", cwd=churn).returncode == 0
    client = _client(churn)
    db = churn / "metadata" / "mlflow" / "mlruns.db"
    train_run = _state(churn, "train")["summary"]["run_id"]

    def version_rows() -> int:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as con:
                return con.execute("select count(*) from model_versions").fetchone()[0]
        except sqlite3.Error:
            return 0

    left_pending = 0
    for delay in (None, None, 0.0, 0.15, 0.4, 0.8):
        if client.search_registered_models("name='churn'"):
            client.delete_registered_model("churn")  # every round registers from scratch
        shutil.rmtree(_steps(churn) / "register", ignore_errors=True)
        shutil.rmtree(churn / ".mlrecipes" / "local" / "uptodate", ignore_errors=True)
        proc = subprocess.Popen(
            [MLRECIPES, "run", "--profile", "local", "--step", "register"],
            cwd=churn,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        if delay is None:  # right after the version row appears: before its alias is set
            _wait_for(lambda: version_rows() > 0, proc, "a version row", 120)
        else:
            _wait_for(
                lambda: _state(churn, "register").get("status") == "RUNNING", proc, "register"
            )
            time.sleep(delay)
        if how == "kill -9":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGKILL if how.startswith("SIGKILL") else signal.SIGTERM)
        proc.communicate(timeout=60)
        _wait_for_lock_free(churn)
        versions = client.search_model_versions("name='churn'")
        aliases = client.get_registered_model("churn").aliases if versions else {}
        stray = [v for v in versions if int(v.version) not in aliases.values()]
        # A stray may only be pending (never aliased, never complete): the next run settles it.
        assert all(v.tags.get("mlrecipes.registration") == "pending" for v in stray)
        left_pending += bool(stray)

        again = cli("run", "--profile", "local", "--step", "register", cwd=churn)
        assert again.returncode == 0, again.stderr
        versions = client.search_model_versions("name='churn'")
        assert len(versions) == 1, [(v.version, v.tags) for v in versions]
        only = client.get_model_version("churn", versions[0].version)
        assert only.aliases == ["challenger"]
        assert only.tags["mlrecipes.registration"] == "complete"
        assert only.tags["mlrecipes.source_run_id"] == train_run
        summary = _state(churn, "register")["summary"]
        assert summary["registered_model_version"] == str(only.version)
    if how == "kill -9":
        assert left_pending >= 1, "no kill landed between creating the version and its alias"


def _wait_for_lock_free(root: Path, timeout: float = 60) -> None:
    """The engine of a command killed alone winds down by itself (it got SIGTERM)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(root / ".mlrecipes" / "local" / "lock"))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        pytest.fail("the interrupted engine never released the profile lock")
    lock.release()


def test_a_pending_version_of_another_train_run_is_deleted_by_the_next_run(churn: Path) -> None:
    register = ("--step", "register")  # (deploy would make version 1 champion: kept, aliased)
    assert cli("run", "--profile", "local", *register, cwd=churn).returncode == 0
    client = _client(churn)
    (first,) = client.search_model_versions("name='churn'")
    # As an interrupted register of an older train run leaves it: pending, no alias.
    client.delete_registered_model_alias("churn", "challenger")
    client.set_model_version_tag("churn", first.version, "mlrecipes.registration", "pending")
    run = cli(
        "run", "--profile", "local", *register, "--var", "ESTIMATOR_PARAMS={C: 0.5}", cwd=churn
    )
    assert run.returncode == 0, run.stderr
    versions = client.search_model_versions("name='churn'")
    assert [str(v.version) for v in versions] == ["2"]
    assert client.get_model_version("churn", "2").aliases == ["challenger"]


# --- a step cannot pass for success --------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("sys.exit(0)", "the step called sys.exit(0)"),
        ("os._exit(0)", "ended with exit status 0 without finishing"),
    ],
)
def test_a_step_that_ends_the_interpreter_fails_with_a_non_zero_exit(
    churn: Path, call: str, expected: str
) -> None:
    _edit(
        churn / "steps" / "train.py",
        "    return LogisticRegression(**params)",
        "    return Quitter(**params)",
    )
    with open(churn / "steps" / "train.py", "a") as fh:
        fh.write(
            "\n\nimport os, sys\n\n\nclass Quitter(LogisticRegression):\n"
            f"    def fit(self, X, y, sample_weight=None):\n        {call}\n"
        )
    result = cli("run", "--profile", "local", cwd=churn)
    assert result.returncode != 0
    assert "Ran:" not in result.stdout
    state = _state(churn, "train")
    assert state["status"] == "FAILED"
    assert expected in state["error"]["message"] + result.stderr
    assert registered_versions(churn, "churn") == []
    _no_leftovers(churn)


def test_a_step_over_its_timeout_fails_naming_the_limit(churn: Path) -> None:
    _edit(
        churn / "steps" / "train.py",
        "    return LogisticRegression(**params)",
        "    import time\n    time.sleep(60)\n    return LogisticRegression(**params)",
    )
    _edit(
        churn / "recipe.yaml",
        "default('best_f1') }}\n    timeout: 3600",
        "default('best_f1') }}\n    timeout: 3",
    )
    started = time.monotonic()
    result = cli("run", "--profile", "local", cwd=churn)
    assert time.monotonic() - started < 45
    assert result.returncode == 1
    assert "exceeded its timeout of 3 s (steps.train.timeout)" in result.stderr
    assert _state(churn, "train")["status"] == "FAILED"


# --- the cache re-checks what it trusts ----------------------------------------------------


def test_deleted_or_truncated_outputs_are_rerun_not_trusted(churn: Path) -> None:
    assert cli("run", "--profile", "local", cwd=churn).returncode == 0
    train_parquet = _steps(churn) / "split" / "outputs" / "train.parquet"
    train_parquet.unlink()
    result = cli("run", "--profile", "local", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "split           running (outputs changed since the step ran (missing train.parquet" in (
        result.stderr
    )
    assert "cached: ingest, transform, train, evaluate, register" in result.stdout

    data = _steps(churn) / "transform" / "outputs" / "transformed_training_data.parquet"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    result = cli("run", "--profile", "local", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "transform       running (outputs changed" in result.stderr
    assert registered_versions(churn, "churn") == ["1"]


def test_a_deleted_mlflow_store_reruns_the_steps_whose_results_it_held(churn: Path) -> None:
    assert cli("run", "--profile", "local", cwd=churn).returncode == 0
    shutil.rmtree(churn / "metadata")
    result = cli("run", "--profile", "local", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert (
        "Ran: train, evaluate, register, deploy; cached: ingest, split, transform" in result.stdout
    )
    assert "that holds this step's results is gone" in result.stderr
    assert registered_versions(churn, "churn") == ["1"]


def test_a_data_edit_that_keeps_size_and_mtime_reruns_ingest(churn: Path) -> None:
    assert cli("run", "--profile", "local", "--step", "split", cwd=churn).returncode == 0
    data = churn / "data" / "telco_sample.csv"
    stat = data.stat()
    lines = data.read_text().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]  # same bytes, another order: same size
    data.write_text("".join(lines))
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as cp -p / rsync -t leave it
    result = cli("run", "--profile", "local", "--step", "split", cwd=churn)
    assert result.returncode == 0, result.stderr
    assert "Ran: ingest, split" in result.stdout


def test_a_failed_cache_key_keeps_the_previous_outputs(churn: Path) -> None:
    assert cli("run", "--profile", "local", "--step", "ingest", cwd=churn).returncode == 0
    data = churn / "data" / "telco_sample.csv"
    data.rename(data.with_suffix(".bak"))
    result = cli("run", "--profile", "local", "--step", "ingest", cwd=churn)
    assert result.returncode == 1 and "not found" in result.stderr
    assert (_steps(churn) / "ingest" / "outputs" / "dataset.parquet").is_file()


# --- the MLflow side -----------------------------------------------------------------------


def test_a_failing_evaluate_leaves_the_finished_train_run_finished(churn: Path) -> None:
    """evaluate resumes train's run to log test metrics; ending it early (here: its time limit,
    inside the resumed run) must not turn train's FINISHED run into FAILED."""
    assert cli("run", "--profile", "local", "--step", "train", cwd=churn).returncode == 0
    _edit(churn / "recipe.yaml", "  evaluate:\n    timeout: 900", "  evaluate:\n    timeout: 0.6")
    result = cli("run", "--profile", "local", cwd=churn)
    assert result.returncode == 1
    assert "exceeded its timeout of 0.6 s" in result.stderr
    assert _state(churn, "evaluate")["status"] == "FAILED"
    run_id = _state(churn, "train")["summary"]["run_id"]
    run = _client(churn).get_run(run_id)
    assert run.info.status == "FINISHED"


def test_a_locked_sqlite_store_is_named(churn: Path) -> None:
    assert cli("run", "--profile", "local", "--step", "evaluate", cwd=churn).returncode == 0
    db = churn / "metadata" / "mlflow" / "mlruns.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = cli("run", "--profile", "local", cwd=churn, timeout=300)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1
    assert f"the SQLite store {db} is locked: another process holds it" in result.stderr


def test_a_read_only_execution_directory_is_one_clear_line(churn: Path) -> None:
    # /sys refuses new folders even to root: a read-only place on any Linux machine.
    result = cli(
        "run", "--profile", "local", cwd=churn, env={"MLRECIPES_EXECUTION_DIR": "/sys/fs/mlr"}
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: the execution directory /sys/fs/mlr/local is not writable (Operation not "
        "permitted); make it writable or set MLRECIPES_EXECUTION_DIR to a folder that is"
    )


def test_a_profile_name_with_a_path_is_refused_and_clean_stays_inside(churn: Path) -> None:
    outside = churn.parent / "keep"
    outside.mkdir()
    result = cli("clean", "--profile", "../../keep", cwd=churn)
    assert result.returncode == 1 and "may only hold letters, digits" in result.stderr
    assert outside.is_dir()


def test_a_stray_text_value_in_the_training_data_is_named_at_ingest(churn: Path) -> None:
    data = churn / "data" / "telco_sample.csv"
    frame = pd.read_csv(data)
    frame["MonthlyCharges"] = frame["MonthlyCharges"].astype(str)
    frame.loc[16, "MonthlyCharges"] = "abc"
    frame.to_csv(data, index=False)
    result = cli("run", "--profile", "local", cwd=churn)
    assert result.returncode == 1
    assert "column 'MonthlyCharges' holds numbers except 1 value(s) ('abc')" in result.stderr
    assert "data row 17 ('abc')" in result.stderr
    assert _state(churn, "ingest")["status"] == "FAILED"


def test_a_semicolon_csv_is_named_as_the_likely_cause(churn: Path) -> None:
    data = churn / "data" / "telco_sample.csv"
    pd.read_csv(data).to_csv(data, index=False, sep=";")
    result = cli("run", "--profile", "local", cwd=churn)
    assert result.returncode == 1
    assert "target column 'Churn' not found" in result.stderr
    assert "probably delimited by ';'" in result.stderr


_PROCESS_STATE_PROBE = """
import json, logging, os, sys, warnings
def snapshot():
    return {
        "env": dict(os.environ),
        "mlflow_level": logging.getLogger("mlflow").level,
        "filters": [(f[0], str(f[1]), str(f[2])) for f in warnings.filters],
        "steps": "steps" in sys.modules,
        "tracking_uri": os.environ.get("MLFLOW_TRACKING_URI"),
        "arrow_pool": pyarrow.default_memory_pool().backend_name,
    }
import pyarrow
before = snapshot()
import mlrecipes
after_import = snapshot()
from mlrecipes import Recipe
from mlrecipes.execution.report import Reporter
Recipe("local", root=sys.argv[1], reporter=Reporter()).run()
Recipe("local", root=sys.argv[1], reporter=Reporter()).run("predict")  # Arrow pool switched there
import mlflow  # now loaded: compare what a notebook would see
after_run = snapshot()
after_run["mlflow_level_default"] = logging.getLevelName(after_run["mlflow_level"])
print(json.dumps({"before": before, "after_import": after_import, "after_run": after_run,
                  "tracking": mlflow.get_tracking_uri()}))
"""


def _own(env: dict) -> dict:
    return {k: v for k, v in env.items() if not k.startswith(("KMP_", "_MLFLOW_"))}


def test_import_and_run_leave_the_process_as_they_found_it(churn: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_HTTP", "MLFLOW_LOG", "KMP_", "_MLFLOW_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROCESS_STATE_PROBE, str(churn)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    before, after_import, after_run = seen["before"], seen["after_import"], seen["after_run"]
    assert after_import == before
    # scikit-learn sets KMP_* for OpenMP when it is imported, MLflow its _MLFLOW_* session
    # variables: their doing, not ours.
    assert _own(after_run["env"]) == _own(before["env"])
    assert after_run["tracking_uri"] is None
    assert after_run["arrow_pool"] == before["arrow_pool"]
    assert after_run["mlflow_level_default"] == "INFO"  # as MLflow sets itself, not ours
    ours = [f for f in after_run["filters"] if "Add type hints" in f[1] or "input example" in f[1]]
    assert ours == []
    assert seen["tracking"] != f"sqlite:///{churn / 'metadata/mlflow/mlruns.db'}"


def test_a_retrain_of_the_same_inputs_is_said_or_reuses_its_version(churn: Path) -> None:
    register = ("--step", "register")
    assert cli("run", "--profile", "local", *register, cwd=churn).returncode == 0
    assert cli("clean", "--profile", "local", cwd=churn).returncode == 0
    again = cli("run", "--profile", "local", *register, cwd=churn)
    assert again.returncode == 0, again.stderr
    assert "note: version 1 of churn was trained from the same data, code and configuration" in (
        again.stderr
    )
    assert registered_versions(churn, "churn") == ["1", "2"]
    _edit(
        churn / "recipe.yaml",
        '    alias: "challenger"\n',
        '    alias: "challenger"\n    skip_identical: true\n',
    )
    assert cli("clean", "--profile", "local", cwd=churn).returncode == 0
    reused = cli("run", "--profile", "local", *register, cwd=churn)
    assert reused.returncode == 0, reused.stderr
    assert (
        "version 2 of churn was trained from the same data, code and configuration: reusing it"
        in (reused.stderr)
    )
    assert registered_versions(churn, "churn") == ["1", "2"]
    assert _state(churn, "register")["summary"]["registered_model_version"] == "2"
