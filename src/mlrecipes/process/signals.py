"""Signals and time limits as exceptions inside a step, so a step ends the way a failure does.

Without a handler SIGTERM (CI cancellation, Kubernetes) ends the process as abruptly as kill -9:
no FAILED state, the MLflow run left RUNNING, a model version created but never aliased. Here
SIGTERM and SIGINT raise :class:`~mlrecipes.errors.Interrupted` in the main thread; the runner
records the failure and the step's own cleanup runs. A second signal during that cleanup is
noted, not raised, so cleanup finishes. Handlers are installed only around engine work and put
back afterwards (a notebook keeps its own). Signals can only be handled in the main thread;
elsewhere these are no-ops.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mlrecipes.errors import Interrupted, StepTimeout

HANDLED = (signal.SIGTERM, signal.SIGINT)
REFIRE_SECONDS = 1.0

# Critical sections (a registry call that must not be cut in half): a signal arriving inside
# one is raised when the outermost section ends. Only the main thread handles signals.
_deferral = {"depth": 0, "pending": None}
# The signal being acted on. Python runs a handler between any two bytecodes, also inside a
# finalizer (__del__, a weakref callback), where an exception is printed and dropped: the
# Interrupted never reaches the step. The runner checks this after each step, so a signal is
# never lost (seen once under load in CI: SIGINT during transform, then exit 0).
_received: dict[str, str | None] = {"signal": None}


def raise_if_interrupted() -> None:
    """Raise the Interrupted of a signal whose exception was swallowed on the way."""
    name = _received["signal"]
    if name is not None:
        _received["signal"] = None
        raise Interrupted(name)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def signals_as_exceptions() -> Iterator[None]:
    if not _in_main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal raised
        if raised:
            return  # already unwinding: let the cleanup finish
        if _deferral["depth"]:
            _deferral["pending"] = signal.Signals(signum).name
            return
        raised = True
        _received["signal"] = signal.Signals(signum).name
        raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in HANDLED}
    _received["signal"] = None
    try:
        yield
        raise_if_interrupted()
    finally:
        _received["signal"] = None
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def time_limit(
    seconds: float | None, make_error: Callable[[float], BaseException] = StepTimeout
) -> Iterator[None]:
    """Raise ``make_error(seconds)`` in the body after ``seconds`` of wall clock (main thread
    only: elsewhere the body runs without a limit).

    The error can be lost on the way: raised inside a finalizer it is printed and dropped, and
    user code may catch it. So the timer keeps firing every second until the body ends (quiet
    while that error is being handled: the cleanup finishes), and a body that ends normally
    after the limit fired raises it then (seen once under load in CI: a 3 s limit, then the
    step's 60 s sleep ran to its end)."""
    if not seconds or not _in_main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    raised: list[BaseException] = []

    def handler(signum: int, frame: Any) -> None:
        if raised and sys.exc_info()[1] is raised[-1]:
            return  # unwinding already: let the cleanup finish
        raised.append(make_error(seconds))
        raise raised[-1]

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds, REFIRE_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if raised:
        raise make_error(seconds)  # the body swallowed every one and finished past its limit


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGTERM/SIGINT until the body is done. Interrupted inside a registry call (after
    the database commit, before the answer came back) a step cannot tell what it created."""
    _deferral["depth"] += 1
    try:
        yield
    finally:
        _deferral["depth"] -= 1
        pending = _deferral["pending"]
        if not _deferral["depth"] and pending is not None:
            _deferral["pending"] = None
            raise Interrupted(pending)
