"""Leave the process without the interpreter's module teardown, through public APIs only.

A run leaves MLflow, SQLAlchemy, scikit-learn and matplotlib loaded; tearing them down takes
about a second (measured: 1.0 s of an 8 s run) and does nothing useful for a process that is
about to end. Everything a normal exit does that matters still happens, because the exit *is* a
normal one up to the teardown: the interpreter stops thread pools and joins non-daemon threads,
then runs the atexit handlers last-registered-first. :func:`exit_quickly_at_end` registers its
handler before any library is imported, so it runs after every library's own (MLflow ends its
runs, Spark's gateway stops); it flushes stdio, lets a supervised child report, and ends the
process with ``os._exit`` where the teardown would begin.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn


@dataclass
class _Ending:
    status: int = 0
    report: Callable[[], None] | None = None


_ending: _Ending | None = None


def exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` would end with (a message means 1, printed to stderr)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def exit_quickly_at_end() -> None:
    """From now on this process ends through :func:`leave` (call once, first thing in main)."""
    global _ending
    if _ending is None:
        _ending = _Ending()
        atexit.register(_finish)


def leave(code: object, report: Callable[[], None] | None = None) -> NoReturn:
    """End the process with ``code``; ``report`` runs after every atexit handler and flush (the
    supervised child's last act: the parent trusts nothing else)."""
    exit_quickly_at_end()
    assert _ending is not None
    _ending.status = exit_status(code)
    if report is not None:  # main() leaves again with the child's code: the report stays
        _ending.report = report
    raise SystemExit(_ending.status)


def _finish() -> None:
    if _ending is None:  # pragma: no cover - registered only together with _ending
        return
    status = _ending.status
    if status == 0 and getattr(sys, "last_value", None) is not None:
        status = 1  # an exception nobody handled ended the program: never a success
    if "logging" in sys.modules:  # registered its own handler earlier, which would not run now
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed pipe, e.g. `mlrecipes inspect | head`
            status = status or 1
    if _ending.report is not None:
        _ending.report()
    os._exit(status)
