"""Trackers keep to their own stores (no MLflow fluent globals), and resuming a run keeps its
status; the registry recovery rule, on a real SQLite registry."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import mlflow
import pytest

from mlrecipes.config.tracking import TrackingSettings
from mlrecipes.io.user_code import load_function, package_name
from mlrecipes.steps.register import REGISTRATION_TAG, recover_interrupted
from mlrecipes.tracking.client import Tracker

pytestmark = pytest.mark.slow


def _tracker(root: Path, experiment: str) -> Tracker:
    uri = f"sqlite:///{root / 'mlruns.db'}"
    return Tracker(
        TrackingSettings(
            tracking_uri=uri,
            registry_uri=uri,
            experiment_name=experiment,
            experiment_id=None,
            artifact_location=(root / "artifacts").as_uri(),
            run_name_prefix=None,
            model_name="m",
            recipe_name=root.name,
            profile="local",
            root=root,
        )
    )


def test_two_trackers_interleaved_each_write_to_their_own_store(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _tracker(tmp_path / "a", "exp-a"), _tracker(tmp_path / "b", "exp-b")
    before = mlflow.get_tracking_uri()
    with a.run(run_name="ra") as run_a, b.run(run_name="rb") as run_b:
        a.log_metrics({"x": 1.0})
        b.log_metrics({"x": 2.0})
        a.set_tags({"who": "a"})
        b.log_params({"p": "b"})
        a.log_text("hello a", "t/a.txt")
    assert mlflow.get_tracking_uri() == before  # nothing global was pointed anywhere
    assert a.client.get_run(run_a).data.metrics == {"x": 1.0}
    assert a.client.get_run(run_a).data.tags["who"] == "a"
    assert b.client.get_run(run_b).data.metrics == {"x": 2.0}
    assert b.client.get_run(run_b).data.params == {"p": "b"}
    with pytest.raises(Exception):  # noqa: B017 - the other store has no such run
        a.client.get_run(run_b)
    assert [f.path for f in a.client.list_artifacts(run_a, "t")] == ["t/a.txt"]
    assert b.client.list_artifacts(run_b) == []
    assert list((tmp_path / "a" / "artifacts").rglob("a.txt"))
    assert not (tmp_path / "b" / "artifacts").exists() or not list(
        (tmp_path / "b" / "artifacts").rglob("a.txt")
    )


def test_a_failure_in_a_resumed_run_keeps_its_status(tmp_path: Path) -> None:
    tracker = _tracker(tmp_path, "exp")  # tmp_path exists: the store goes in it
    with tracker.run(run_name="train") as run_id:
        tracker.log_metrics({"m": 1.0})
    with pytest.raises(RuntimeError), tracker.run(run_id=run_id):
        tracker.log_metrics({"test_m": 2.0})
        raise RuntimeError("evaluate broke")
    run = tracker.client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["test_m"] == 2.0


def test_recovery_adopts_the_same_run_deletes_orphans_and_keeps_aliased(tmp_path: Path) -> None:
    tracker = _tracker(tmp_path, "exp")  # tmp_path exists: the store goes in it
    runs = []
    for _ in range(3):
        with tracker.run() as run_id:
            runs.append(run_id)
    ws = "ws1"

    def register(run_id: str, state: str, workspace: str = ws) -> str:
        tags = {REGISTRATION_TAG: state, "mlrecipes.workspace": workspace}
        tags["mlrecipes.source_run_id"] = run_id
        source = f"runs:/{run_id}/model"
        return tracker.register(source, "m", tags, run_id=run_id)

    orphan = register(runs[0], "pending")
    aliased = register(runs[1], "pending")
    tracker.set_alias("m", "challenger", aliased)
    other_workspace = register(runs[0], "pending", workspace="ws2")
    same_run = register(runs[2], "pending")
    messages: list[str] = []
    adopted = recover_interrupted(tracker, "m", ws, runs[2], messages.append)
    assert adopted == same_run
    remaining = {str(mv.version): mv for mv in tracker.client.search_model_versions("name='m'")}
    assert orphan not in remaining
    assert remaining[aliased].tags[REGISTRATION_TAG] == "complete"
    assert other_workspace in remaining  # another execution directory's business
    assert any(f"deleted version {orphan}" in m for m in messages)


def test_recipe_code_lives_in_its_own_package_and_leaves_a_users_steps_alone(
    tmp_path: Path,
) -> None:
    users = types.ModuleType("steps")
    users.__path__ = []  # type: ignore[attr-defined]
    sys.modules["steps"] = users
    try:
        roots = []
        for name, value in (("one", 1), ("two", 2)):
            root = tmp_path / name
            (root / "steps").mkdir(parents=True)
            (root / "steps" / "train.py").write_text(f"def value():\n    return {value}\n")
            roots.append(root)
        first = load_function(roots[0], "train", "value")
        second = load_function(roots[1], "train", "value")
        assert (first(), second()) == (1, 2)
        assert first.__module__ == f"{package_name(roots[0])}.train"
        assert package_name(roots[0]) != package_name(roots[1])
        assert sys.modules["steps"] is users
        assert first() == 1  # loading the second recipe did not replace the first one's code
    finally:
        sys.modules.pop("steps", None)
