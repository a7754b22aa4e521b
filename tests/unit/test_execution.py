"""Cache keys, atomic outputs and the profile lock."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from mlrecipes.errors import CacheError
from mlrecipes.execution.cache import cache_key
from mlrecipes.execution.dag import plan
from mlrecipes.execution.lock import profile_lock
from mlrecipes.execution.state import StepState
from mlrecipes.execution.workspace import Workspace


def test_every_component_changes_the_key() -> None:
    base = dict(
        step="train",
        engine_version="1",
        config={"a": 1},
        code={"train": "h"},
        inputs={"split": "x"},
        source=None,
    )
    key = cache_key(**base)
    assert cache_key(**base) == key
    for field, value in [
        ("config", {"a": 2}),
        ("code", {"train": "h2"}),
        ("inputs", {"split": "y"}),
        ("source", "data"),
        ("engine_version", "2"),
    ]:
        assert cache_key(**{**base, field: value}) != key, field


def test_plan_runs_ancestors_in_order() -> None:
    assert plan("register") == ["ingest", "split", "transform", "train", "evaluate", "register"]
    assert plan("split") == ["ingest", "split"]
    assert plan("ingest_scoring") == ["ingest_scoring"]


def test_commit_replaces_outputs_atomically(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    first = ws.new_temp_outputs("split")
    (first / "a.txt").write_text("1")
    ws.commit_outputs("split", first)
    second = ws.new_temp_outputs("split")
    (second / "b.txt").write_text("2")
    ws.commit_outputs("split", second)
    assert sorted(p.name for p in ws.outputs("split").iterdir()) == ["b.txt"]
    leftover = ws.new_temp_outputs("split")
    ws.remove_leftovers("split")
    assert not leftover.exists()
    assert sorted(p.name for p in ws.step_dir("split").iterdir()) == ["outputs"]


def test_state_round_trip_and_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    StepState(status="SUCCEEDED", cache_key="k", summary={"rows": 3}).write(path)
    assert StepState.read(path).summary == {"rows": 3}
    path.write_text("{not json")
    assert StepState.read(path).status == "NOT_RUN"


def _hold_lock(path: str, seconds: float, ready, done_marker: str | None = None) -> None:
    with profile_lock(Path(path)):
        ready.set()
        time.sleep(seconds)
        if done_marker:  # written while still holding the lock
            Path(done_marker).write_text("done")


def test_lock_waits_for_the_holder_and_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / "lock"
    done = tmp_path / "holder-done"
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(lock), 1.5, ready, str(done)))
    holder.start()
    ready.wait(10)
    monkeypatch.setenv("MLRECIPES_LOCK_TIMEOUT", "0.2")
    with pytest.raises(CacheError, match="still locked by pid"), profile_lock(lock):
        pass
    monkeypatch.setenv("MLRECIPES_LOCK_TIMEOUT", "30")
    messages = []
    with profile_lock(lock, on_wait=messages.append):
        assert done.is_file()  # acquired only after the holder finished its work and let go
    holder.join()
    assert messages and "waiting for the run holding" in messages[0]


def test_lock_is_released_when_the_holder_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / "lock"
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(lock), 60, ready))
    holder.start()
    ready.wait(10)
    holder.kill()
    holder.join()
    monkeypatch.setenv("MLRECIPES_LOCK_TIMEOUT", "5")
    with profile_lock(lock):
        pass


def test_the_result_line_says_status_metric_version_and_next_command(tmp_path) -> None:
    from mlrecipes.execution.report import result_line
    from mlrecipes.execution.state import StepState
    from mlrecipes.execution.workspace import Workspace

    ws = Workspace(tmp_path)
    states = {
        "evaluate": {
            "model_validation_status": "REJECTED",
            "primary_metric": "rmse",
            "metrics": {"test": {"rmse": 12.5}},
            "validation_results": ["rmse = 12.5 (needs <= 10): failed"],
            "criteria": [{"metric": "rmse", "threshold": 10.0, "greater_is_better": False}],
        },
        "register": {
            "registered_model_name": "m",
            "registered_model_version": "3",
            "aliases": ["c"],
        },
    }
    for name, summary in states.items():
        ws.state_path(name).parent.mkdir(parents=True, exist_ok=True)
        StepState(status="SUCCEEDED", summary=summary).write(ws.state_path(name))
    assert result_line(ws, ["train", "evaluate"], "dev") == (
        "REJECTED: rmse 12.500 ≤ 10 · next: mlrecipes inspect --profile dev --step evaluate"
    )
    assert "registered m v3 @c" in result_line(ws, ["evaluate", "register"], "dev")
    assert result_line(ws, ["ingest"], "dev") is None


def test_an_atomic_write_that_fails_leaves_the_old_text_and_no_temporary_file(
    tmp_path: Path,
) -> None:
    from mlrecipes.io.atomic import write_text_atomic

    target = tmp_path / "marker"
    write_text_atomic(target, "run-1")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "run-2 \ud800")  # a lone surrogate fails midway through
    assert target.read_text() == "run-1"
    assert [p.name for p in tmp_path.iterdir()] == ["marker"]
