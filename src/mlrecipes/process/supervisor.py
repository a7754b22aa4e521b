"""Run the engine in a forked child so that a step cannot end the process and pass for success.

``sys.exit`` inside a step is caught by the runner, but ``os._exit(0)`` (or a segfault in native
code) ends the interpreter on the spot: no exception, no FAILED state, exit status 0. The CLI
therefore forks before loading anything heavy; the child runs the engine and, as its very last
act, writes its exit code to a pipe. The parent waits: a child that ended without writing it did
not finish, whatever its exit status says, and the parent marks the step it left RUNNING as
FAILED and exits non-zero.

Measured on 2 cores: the fork costs under 2 ms (the parent has imported only click), against
~3 s of imports in a cold run; running each step in its own child would have cost those imports
once per step. The parent forwards SIGTERM, SIGINT and SIGHUP to the child, and the child gets
SIGTERM if the parent dies (``PR_SET_PDEATHSIG``), so ``kill <pid>`` of the command a user or
Kubernetes started still ends the step cleanly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
NO_FORK_ENV = "MLRECIPES_NO_FORK"


@dataclass(frozen=True)
class ChildEnd:
    """How the child ended: its reported code (None: it never reported) and its wait status."""

    pid: int
    reported: int | None
    exit_status: int | None
    signal: int | None

    @property
    def finished(self) -> bool:
        return self.reported is not None

    def describe(self) -> str:
        if self.signal is not None:
            return f"killed by {signal.Signals(self.signal).name}"
        return (
            f"ended with exit status {self.exit_status} without finishing "
            "(os._exit or a crash inside a step)"
        )


def can_fork() -> bool:
    return hasattr(os, "fork") and not os.environ.get(NO_FORK_ENV)


def run_in_child(
    work: Callable[[], int],
    exit_child: Callable[[int, Callable[[], None]], None],
) -> ChildEnd:
    """Fork; the child runs ``work`` and leaves through ``exit_child(code, report)``, which must
    call ``report()`` after everything else (atexit handlers, flushing) and then exit."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_fd)
        die_with_parent()
        code = 1
        try:
            code = work()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        # the top level of the child, as the interpreter's own: traceback printed, exit status 1
        except BaseException:  # noqa: BLE001
            import traceback

            traceback.print_exc()
            code = 1
        for sig in FORWARDED:  # a late duplicate of a signal must not interrupt the exit
            signal.signal(sig, signal.SIG_IGN)

        def report() -> None:
            os.write(write_fd, f"{code}\n".encode())

        exit_child(code, report)
        os._exit(code)  # exit_child should not return; never fall back into the parent's code
    os.close(write_fd)
    previous = {sig: signal.signal(sig, _forward_to(pid)) for sig in FORWARDED}
    try:
        data = b""
        while chunk := _read(read_fd):
            data += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(read_fd)
        for sig, old in previous.items():
            signal.signal(sig, old)
    text = data.decode(errors="replace").strip()
    reported = int(text) if text.lstrip("-").isdigit() else None
    if os.WIFSIGNALED(status):
        return ChildEnd(pid, reported, None, os.WTERMSIG(status))
    return ChildEnd(pid, reported, os.WEXITSTATUS(status), None)


def _read(fd: int) -> bytes:
    while True:
        try:
            return os.read(fd, 64)
        except InterruptedError:
            continue


def _forward_to(pid: int) -> Callable[[int, object], None]:
    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    return forward


def die_with_parent() -> None:
    """Linux: SIGTERM to this process when the parent dies (kill -9 of the command)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
