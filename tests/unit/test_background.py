"""A computation in a forked child (process/forked.py): its value, its exception, its death and
its cancellation come back to the caller; it runs inline where forking is unsafe.

The forked cases run in a fresh interpreter: a pytest-xdist worker has threads of its own, and
with threads the helper (rightly) does not fork."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from mlrecipes.process.forked import Background

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from mlrecipes.process.forked import Background, BackgroundError

    out = {"parent": os.getpid()}
    print("the parent's pending line")  # buffered: stdout is a pipe
    Background(lambda: print("the child's line"), "a print").result()
    out["child"] = Background(os.getpid, "a pid").result()
    big = Background(lambda: b"x" * 3_000_000, "a large value").result()
    out["big"] = len(big)

    def bad():
        raise ValueError("column 'tenure': expected numbers")

    try:
        Background(bad, "a failing computation").result()
    except ValueError as exc:
        out["raised"] = [type(exc).__name__, str(exc), "\\n".join(exc.__notes__)]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    try:
        Background(die, "a killed computation").result()
    except BackgroundError as exc:
        out["died"] = str(exc)

    slow = Background(lambda: time.sleep(60), "a slow computation")
    pid = slow.pid
    slow.cancel()
    try:
        os.kill(pid, 0)
        out["cancelled"] = False
    except ProcessLookupError:
        out["cancelled"] = True
    print(json.dumps(out))
    """
)


def test_a_forked_computation_returns_its_value_its_error_or_its_death() -> None:
    # stdout buffered as it is for most users (PYTHONUNBUFFERED would hide a lost or doubled line)
    env = {
        k: v for k, v in os.environ.items() if k not in ("MLRECIPES_NO_FORK", "PYTHONUNBUFFERED")
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    *printed, last = done.stdout.splitlines()
    out = json.loads(last)
    # each line once: the parent's pending text is not printed again by the child, and what the
    # child printed is not lost with its buffers
    assert sorted(printed) == ["the child's line", "the parent's pending line"]
    assert out["child"] != out["parent"]
    assert out["big"] == 3_000_000  # more than a pipe holds: read while the child writes
    kind, message, notes = out["raised"]
    assert (kind, message) == ("ValueError", "column 'tenure': expected numbers")
    assert "in the child process computing a failing computation" in notes
    assert "in bad" in notes  # the child's traceback comes along
    assert out["died"] == "the child process computing a killed computation was killed by SIGKILL"
    assert out["cancelled"] is True


def test_it_runs_inline_when_forking_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLRECIPES_NO_FORK", "1")
    job = Background(os.getpid, "a pid")
    assert job.pid is None
    assert job.result() == os.getpid()


def test_it_runs_inline_while_another_thread_lives() -> None:
    """A fork copies only the calling thread; a lock the other one held would stay held."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        job = Background(os.getpid, "a pid")
        assert job.pid is None
        assert job.result() == os.getpid()
    finally:
        stop.set()
        other.join()
