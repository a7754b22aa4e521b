"""The registry lease (#31): mutual exclusion across processes that share only a registry, a
dead holder taken over, and a live one waited for, then named. Real processes, one SQLite
registry."""

from __future__ import annotations

import multiprocessing
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from mlrecipes.config.tracking import TrackingSettings
from mlrecipes.errors import DeploymentError
from mlrecipes.tracking.client import Tracker
from mlrecipes.tracking.lease import PREFIX, lease_name, registry_lease

pytestmark = pytest.mark.slow


def _tracker(root: Path) -> Tracker:
    uri = f"sqlite:///{root / 'registry.db'}"
    return Tracker(
        TrackingSettings(
            tracking_uri=uri, registry_uri=uri, experiment_name="lease", experiment_id=None,
            artifact_location=(root / "artifacts").as_uri(), run_name_prefix=None,
            model_name="m", recipe_name="lease", profile="local", root=root,
        )
    )  # fmt: skip


def _contend(root: str, log: str, rounds: int) -> None:
    tracker = _tracker(Path(root))
    for _ in range(rounds):
        with registry_lease(tracker, "m", "deploy"):
            with open(log, "a") as out:
                out.write(f"enter {os.getpid()}\n")
            time.sleep(0.05)
            with open(log, "a") as out:
                out.write(f"exit {os.getpid()}\n")


def test_three_processes_never_hold_the_lease_at_once(tmp_path: Path) -> None:
    tracker = _tracker(tmp_path)
    tracker.client.create_registered_model("m")  # the store exists before the race
    log = tmp_path / "log"
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_contend, args=(str(tmp_path), str(log), 20)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    events = [line.split() for line in log.read_text().splitlines()]
    assert len(events) == 120
    for (enter, who), (leave, same) in zip(events[::2], events[1::2], strict=True):
        assert (enter, leave) == ("enter", "exit") and who == same  # never interleaved
    assert tracker.client.search_registered_models(f"name = '{lease_name('m', 'deploy')}'") == []


def test_a_dead_holder_is_taken_over_and_a_live_one_is_named(tmp_path: Path, monkeypatch) -> None:
    tracker = _tracker(tmp_path)
    dead = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    name = lease_name("m", "retrain")
    import socket

    tracker.client.create_registered_model(
        name, tags={PREFIX + "host": socket.gethostname(), PREFIX + "pid": str(dead.pid),
                    PREFIX + "token": "old", PREFIX + "expires_at": "2999-01-01T00:00:00+00:00"},
    )  # fmt: skip
    said: list[str] = []
    with registry_lease(tracker, "m", "retrain", say=said.append):
        assert said and "taking over the retrain lease of a holder that is gone" in said[0]
        monkeypatch.setenv("MLRECIPES_LEASE_WAIT_SECONDS", "0.5")
        with (
            pytest.raises(
                DeploymentError, match=r"another retrain holds the lease m__lease_retrain: pid \d+"
            ),
            registry_lease(tracker, "m", "retrain", ttl=timedelta(minutes=1)),
        ):
            pass
