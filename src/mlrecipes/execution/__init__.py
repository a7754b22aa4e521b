"""The execution engine: the step DAG, cache keys, the execution directory, locking, step state.

This module is its public face, what the CLI uses (with :class:`mlrecipes.recipe.Recipe`); the
submodules are its internals. Everything here imports lazily: the CLI answers a fully cached run
before the configuration machinery (pydantic, Jinja2, MLflow) is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrecipes.execution.report import Reporter, RunReport

__all__ = [
    "abandon_unfinished",
    "cached_run",
    "describe_dag",
    "execution_dir",
    "reporter",
    "result_line",
]


def reporter(emit: Callable[[str], None] | None) -> Reporter:
    """Progress lines of a run, each passed to ``emit`` (None: silent)."""
    from mlrecipes.execution.report import Reporter

    return Reporter(emit)


def cached_run(root: Path, profile: str, step: str | None, progress: Reporter) -> RunReport | None:
    """The report of a run whose every step is cached and whose inputs did not change, decided
    from file stamps alone (None: the run must load the recipe and decide properly)."""
    from mlrecipes.execution import fastpath
    from mlrecipes.execution.targets import DEFAULT_LABEL
    from mlrecipes.execution.workspace import Workspace, execution_dir_for

    ws = Workspace(execution_dir_for(root, profile))
    return fastpath.cached_report(ws, root, profile, step or DEFAULT_LABEL, {}, progress)


def abandon_unfinished(root: Path, profile: str, pid: int, how: str) -> list[str]:
    """Mark FAILED the steps a run's process ``pid`` left RUNNING (it ended ``how``); their
    names."""
    from mlrecipes.execution.failures import mark_abandoned
    from mlrecipes.execution.workspace import Workspace, execution_dir_for

    ws = Workspace(execution_dir_for(root, profile))
    return mark_abandoned(ws, pid, (root.name, profile), how)


def result_line(
    root: Path, profile: str, steps: list[str], ran: list[str] | None = None
) -> str | None:
    """The run's result in one line, from the states its steps left (``ran``: the steps this
    run ran; an always-run step it did not run says nothing)."""
    from mlrecipes.execution.report import result_line as line
    from mlrecipes.execution.workspace import Workspace, execution_dir_for

    return line(Workspace(execution_dir_for(root, profile)), steps, profile, ran)


def execution_dir(root: Path, profile: str) -> Path:
    """Where the profile's step outputs, cards and states live."""
    from mlrecipes.execution.workspace import execution_dir_for

    return execution_dir_for(root, profile)


def describe_dag() -> str:
    """The steps in execution order, as one line per pipeline."""
    from mlrecipes.execution.dag import describe

    return describe()
