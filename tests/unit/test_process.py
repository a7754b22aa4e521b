"""The process floor changes process state only for a block, and puts it back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from mlrecipes.process.environment import environment_defaults


def test_environment_defaults_fill_only_what_is_unset_and_remove_only_that(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLRECIPES_TEST_KEEP", "mine")
    monkeypatch.delenv("MLRECIPES_TEST_ADD", raising=False)
    with environment_defaults(
        {"MLRECIPES_TEST_KEEP": "default", "MLRECIPES_TEST_ADD": "default"}
    ) as added:
        assert added == ["MLRECIPES_TEST_ADD"]
        assert os.environ["MLRECIPES_TEST_KEEP"] == "mine"
        assert os.environ["MLRECIPES_TEST_ADD"] == "default"
    assert os.environ["MLRECIPES_TEST_KEEP"] == "mine"
    assert "MLRECIPES_TEST_ADD" not in os.environ
    with pytest.raises(RuntimeError), environment_defaults({"MLRECIPES_TEST_ADD": "x"}):
        raise RuntimeError("the block fails")
    assert "MLRECIPES_TEST_ADD" not in os.environ


def test_leave_runs_every_atexit_handler_and_joins_threads_before_ending(tmp_path) -> None:
    """The quick exit is still a normal exit up to the module teardown: a library's atexit
    handler and a non-daemon thread finish, a report runs last, the status is the code's."""
    log = tmp_path / "log.txt"
    script = textwrap.dedent(
        f"""
        import atexit, threading, time
        from mlrecipes.process.exit import exit_quickly_at_end, leave

        exit_quickly_at_end()
        log = open({str(log)!r}, "a")
        atexit.register(lambda: (log.write("library atexit\\n"), log.flush()))

        def work():
            time.sleep(0.3)
            log.write("thread done\\n"); log.flush()

        threading.Thread(target=work).start()
        leave(3, report=lambda: (log.write("report\\n"), log.flush()))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert done.returncode == 3
    assert log.read_text().splitlines() == ["thread done", "library atexit", "report"]


def test_an_exception_nobody_handled_never_ends_with_status_0() -> None:
    """The quick exit ends the process from an atexit handler: it must not turn a traceback
    into a success (`mlrecipes run --profile ../prod` exited 0 that way)."""
    import subprocess
    import sys

    code = (
        "from mlrecipes.process.exit import exit_quickly_at_end\n"
        "exit_quickly_at_end()\n"
        "raise RuntimeError('boom')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1 and "RuntimeError: boom" in done.stderr
    ok = subprocess.run(
        [sys.executable, "-c", "from mlrecipes.process.exit import exit_quickly_at_end\n"
         "exit_quickly_at_end()\nprint('fine')"], capture_output=True, text=True,
    )  # fmt: skip
    assert (ok.returncode, ok.stdout) == (0, "fine\n")


def test_full_collections_are_rarer_inside_the_engine_and_put_back_after() -> None:
    import gc

    from mlrecipes.process.collector import FULL_PASS_EVERY, fewer_full_collections

    before = gc.get_threshold()
    with fewer_full_collections():
        young, middle, full = gc.get_threshold()
        assert (young, middle) == before[:2]  # short-lived cycles are collected as before
        assert full == max(before[2], FULL_PASS_EVERY)
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_full_collections():
        raise RuntimeError("a step fails")
    assert gc.get_threshold() == before


def test_a_fault_point_kills_or_stops_only_at_its_name() -> None:
    code = "from mlrecipes.process.faults import fault_point; fault_point('a.b'); print('past')"

    def start(wanted: str) -> subprocess.Popen:
        env = {**os.environ, "MLRECIPES_FAULT_POINT": wanted}
        return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE)

    killed, elsewhere = start("a.b"), start("a.c:stop")
    assert killed.wait(60) == -signal.SIGKILL
    assert elsewhere.communicate(timeout=60)[0] == b"past\n"

    stopped = start("a.b:stop")
    _, status = os.waitpid(stopped.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status) and os.WSTOPSIG(status) == signal.SIGSTOP
    os.kill(stopped.pid, signal.SIGCONT)
    assert stopped.communicate(timeout=60)[0] == b"past\n"
    assert stopped.returncode == 0
