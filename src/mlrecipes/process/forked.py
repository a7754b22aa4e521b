"""A pure computation run in a forked child while this process goes on: the second core.

The engine runs its steps one after another on one core. Some of a step's work needs nothing
but values already in memory and returns bytes (the evaluation plots: matplotlib's import and
six figures, ~0.5 s of a 5 s cold run). A forked child sees those values as they are, without
pickling them over, and sends back only its result.

Written here rather than with ``concurrent.futures.ProcessPoolExecutor``: its workers are
started once (fresh, or forked before the values exist) and outlive the call; this child is
forked at the call, so it sees the step's memory, and is gone (killed if need be) when the
caller stops waiting, so nothing outlives a step or a Ctrl-C.

Runs the function inline instead when forking is off (``MLRECIPES_NO_FORK``, no ``os.fork``)
or when this process has other threads (a fork copies only the calling thread, and a lock
another thread held stays held in the child).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Generic, TypeVar

from mlrecipes.process.supervisor import can_fork, die_with_parent

T = TypeVar("T")

_OK, _RAISED = b"ok", b"raised"


class BackgroundError(RuntimeError):
    """The child ended without a result (killed, or it crashed in native code)."""


class Background(Generic[T]):
    """``fn()`` under way in a forked child (or, when forking is off, run at ``result()``)."""

    def __init__(self, fn: Callable[[], T], what: str) -> None:
        self._fn, self.what = fn, what
        self.pid: int | None = None
        self._read_fd: int | None = None
        if can_fork() and threading.active_count() == 1:
            self._start()

    def _start(self) -> None:
        _flush_standard_streams()  # else the child would print the parent's pending text again
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, write the outcome, leave without any cleanup
            os.close(read_fd)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
                signal.signal(sig, signal.SIG_DFL)  # the parent's handlers raise exceptions
            die_with_parent()
            code = _write_outcome(write_fd, self._fn)
            _flush_standard_streams()  # what the function printed (os._exit drops buffers)
            os._exit(code)
        os.close(write_fd)
        self.pid, self._read_fd = pid, read_fd

    def result(self) -> T:
        """The function's value; its exception raised here; ``BackgroundError`` if the child
        ended without either."""
        if self.pid is None:
            return self._fn()
        try:
            data = _read_all(self._read_fd)
            status = _reap(self.pid)
        except BaseException:
            self.cancel()  # interrupted while waiting: the child must not outlive the wait
            raise
        self.pid = None
        self._close()
        kind, _, payload = data.partition(b"\n")
        if kind == _OK:
            return pickle.loads(payload)
        if kind == _RAISED:
            exc, child_traceback = pickle.loads(payload)
            exc.add_note(f"(in the child process computing {self.what})\n{child_traceback}")
            raise exc
        raise BackgroundError(f"the child process computing {self.what} {_ended(status)}")

    def cancel(self) -> None:
        """Kill the child (if any) and reap it."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            _reap(self.pid)
            self.pid = None
        self._close()

    def _close(self) -> None:
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None


def _flush_standard_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # closed, or replaced by something without flush
            stream.flush()


def _write_outcome(fd: int, fn: Callable[[], object]) -> int:
    try:
        try:
            payload = _OK + b"\n" + pickle.dumps(fn())
        except BaseException as exc:  # noqa: BLE001 (everything goes back to the parent)
            text = traceback.format_exc()
            try:
                payload = _RAISED + b"\n" + pickle.dumps((exc, text))
            except Exception:  # noqa: BLE001 (an exception that cannot be pickled)
                payload = _RAISED + b"\n" + pickle.dumps((RuntimeError(str(exc)), text))
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        return 0
    except BaseException:  # noqa: BLE001 (a child must never return into the parent's code)
        return 1


def _read_all(fd: int | None) -> bytes:
    assert fd is not None
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except InterruptedError:
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _reap(pid: int) -> int:
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue
        except ChildProcessError:
            return 0


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"ended with exit status {os.WEXITSTATUS(status)} without a result"
