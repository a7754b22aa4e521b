"""What a failed or killed step leaves behind: a FAILED state with the cause said plainly (a locked SQLite store, an unreachable server), its MLflow run closed, and steps a dead run left RUNNING marked abandoned."""

from __future__ import annotations

import traceback

from mlrecipes.config.loader import LoadedRecipe
from mlrecipes.errors import (
    Interrupted,
    MlrecipesError,
    StepError,
    StepInterrupted,
    StepTimeout,
    UserCodeError,
)
from mlrecipes.execution.report import Reporter
from mlrecipes.execution.state import StepState, append_event, now_iso
from mlrecipes.execution.workspace import Workspace
from mlrecipes.steps.base import Step


def _as_step_failure(
    exc: BaseException, name: str, recipe: LoadedRecipe, step: Step
) -> StepError | None:
    """The StepError a step's abnormal end is reported as (None: re-raise ``exc`` unchanged).

    Anything but a normal return is a failure: ``sys.exit(0)`` inside a step included.
    """
    if isinstance(exc, StepError):
        return None
    if isinstance(exc, Interrupted):
        return StepInterrupted(name, exc)
    if isinstance(exc, KeyboardInterrupt):
        return StepInterrupted(name, Interrupted("SIGINT"))
    if isinstance(exc, StepTimeout):
        return StepError(name, f"exceeded its timeout of {exc.seconds:g} s (steps.{name}.timeout)")
    if isinstance(exc, SystemExit):
        return StepError(
            name,
            f"the step called sys.exit({exc.code!r}); a step must return normally or raise "
            "(treated as a failure)",
            traceback.format_exc(),
        )
    if not isinstance(exc, Exception):
        return None
    locked = _locked_sqlite(exc, recipe) if step.uses_tracking else None
    if locked is not None:
        return StepError(
            name,
            f"the SQLite store {locked} is locked: another process holds it (an mlflow server or "
            "ui, a notebook, another run on the same file); close it or wait, then run again",
        )
    if step.uses_tracking and _unreachable(exc):
        from mlrecipes.config.tracking import resolve_tracking

        uri = resolve_tracking(recipe).tracking_uri
        return StepError(
            name,
            f"the MLflow tracking server at {uri} could not be reached ({type(exc).__name__}); "
            "start it (or fix MLFLOW_TRACKING_URI) and run again",
        )
    # Show a traceback for user code and for unexpected errors, not for clear input errors.
    tb = getattr(exc, "traceback_text", None)
    if tb is None and not isinstance(exc, MlrecipesError):
        tb = traceback.format_exc()
    return StepError(name, str(exc) or type(exc).__name__, tb)


def _locked_sqlite(exc: BaseException, recipe: LoadedRecipe) -> str | None:
    """The SQLite store file when ``exc`` (or a cause) is SQLite's "database is locked"."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if "database is locked" in str(current):
            from mlrecipes.config.tracking import resolve_tracking
            from mlrecipes.tracking.settings import sqlite_path

            settings = resolve_tracking(recipe)
            path = sqlite_path(settings.tracking_uri) or sqlite_path(settings.registry_uri)
            return str(path) if path else settings.tracking_uri
        current = current.__cause__ or current.__context__
    return None


def _unreachable(exc: BaseException) -> bool:
    from mlrecipes.tracking.settings import unreachable_server_error

    return unreachable_server_error(exc)


def _close_orphan_run(recipe: LoadedRecipe, run_id: str, reporter: Reporter) -> None:
    """A process killed inside a step leaves its MLflow run RUNNING forever; mark it KILLED."""
    from mlrecipes.tracking.client import Tracker

    try:
        from mlrecipes.config.tracking import resolve_tracking

        if Tracker(resolve_tracking(recipe)).terminate_if_running(run_id, "KILLED"):
            reporter.info(f"marked MLflow run {run_id} of the interrupted step as KILLED")
    except (MlrecipesError, OSError) as exc:
        # the tracking server may be gone; never block the new run on it
        reporter.info(f"could not close MLflow run {run_id} of the interrupted step: {exc}")


def _record_failure(
    step: Step,
    recipe: LoadedRecipe,
    ws: Workspace,
    exc: BaseException,
    started_at: str,
    duration: float,
    keep_outputs: bool = False,
) -> None:
    """FAILED state, failure card, and no outputs: neither the partial new ones nor stale old ones
    (unless the step never started, ``keep_outputs``)."""
    tb = getattr(exc, "traceback_text", None) or "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    )
    write_failure(
        ws,
        step.name,
        (recipe.root.name, recipe.profile),
        type(exc).__name__,
        str(exc),
        tb,
        started_at,
        duration,
        keep_outputs=keep_outputs,
        user_code=isinstance(exc, UserCodeError),
    )


def write_failure(
    ws: Workspace,
    name: str,
    recipe_and_profile: tuple[str, str],
    error_type: str,
    message: str,
    tb: str,
    started_at: str | None,
    duration: float,
    keep_outputs: bool = False,
    user_code: bool = False,
) -> None:
    from mlrecipes.cards.model import Card
    from mlrecipes.cards.render import write_card

    ws.remove_leftovers(name)
    if not keep_outputs:
        ws.discard_outputs(name)
    finished_at = now_iso()
    recipe_name, profile = recipe_and_profile
    card = Card(step=name, recipe=recipe_name, profile=profile, status="FAILED")
    card.tab("Step Status").kv({"Status": "FAILED", "Error": f"{error_type}: {message}"})
    card.tab("Stacktrace").code(tb)
    card.started_at, card.finished_at, card.duration_s = started_at, finished_at, duration
    write_card(card, ws.step_dir(name))
    StepState(
        status="FAILED",
        started_at=started_at,
        finished_at=finished_at,
        duration_s=round(duration, 3),
        error={"type": error_type, "message": message, "traceback": tb, "user_code": user_code},
    ).write(ws.state_path(name))
    append_event(ws.events_path, step=name, event="failed", error=f"{error_type}: {message}")


def mark_abandoned(
    ws: Workspace, pid: int, recipe_and_profile: tuple[str, str], how: str
) -> list[str]:
    """Steps that process ``pid`` left RUNNING when it ended without finishing: FAILED now, with
    ``how`` as the reason (their MLflow runs are closed as KILLED by the next run)."""
    from datetime import datetime

    from mlrecipes.execution.dag import all_steps

    abandoned = []
    for name in all_steps():
        state = ws.state(name)
        if state.status != "RUNNING" or state.pid != pid:
            continue
        duration = 0.0
        if state.started_at:
            started = datetime.fromisoformat(state.started_at)
            duration = (datetime.fromisoformat(now_iso()) - started).total_seconds()
        message = f"step '{name}' failed: the process {how}"
        write_failure(
            ws,
            name,
            recipe_and_profile,
            "ProcessEnded",
            message,
            message,
            state.started_at,
            duration,
        )
        abandoned.append(name)
    return abandoned
