"""Run a plan of steps in this process: cache check, atomic outputs, state, cards, events."""

from __future__ import annotations

import os
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from mlrecipes._version import __version__
from mlrecipes.config.loader import LoadedRecipe
from mlrecipes.errors import (
    Interrupted,
    MlrecipesError,
    StepError,
    StepInterrupted,
    StepTimeout,
    UserCodeError,
)
from mlrecipes.execution.cache import cache_key, hash_file, hash_tree
from mlrecipes.execution.declarations import step_classes
from mlrecipes.execution.report import Reporter, RunReport, StepOutcome
from mlrecipes.execution.state import StepState, append_event, now_iso
from mlrecipes.execution.workspace import Workspace
from mlrecipes.io.user_code import helper_modules
from mlrecipes.process.signals import deferred_signals, raise_if_interrupted, time_limit
from mlrecipes.steps.base import RunMemory, Step, StepContext


def user_code_modules() -> set[str]:
    """The recipe modules that belong to a step (steps/ingest.py, ...); the rest are helpers."""
    return {m for cls in step_classes().values() for m in cls.user_code_modules}


def step_cache_key(step: Step, recipe: LoadedRecipe, ws: Workspace) -> tuple[str, dict | None]:
    """Content hash deciding whether ``step`` can be skipped, and the data fingerprint it used."""
    config = recipe.config
    modules = step.user_modules(config)
    code: dict[str, str] = {}
    if modules:
        for module in modules:
            path = recipe.root / "steps" / f"{module}.py"
            code[module] = hash_file(path) if path.is_file() else "missing"
        for helper in helper_modules(recipe.root, user_code_modules()):
            code[str(helper.relative_to(recipe.root))] = hash_file(helper)
    inputs = {up: ws.state(up).output_fingerprint for up in step.inputs}
    previous = ws.state(step.name).source
    source_fp = step.source_fingerprint(recipe, previous)
    source_part: str | None = None
    if source_fp is not None:
        from mlrecipes.io.fingerprint import fingerprint_for_key

        source_part = fingerprint_for_key(source_fp)
        if source_part == "volatile":
            source_part = f"volatile-{uuid.uuid4().hex}"
    config_part: dict[str, Any] = {"step": step.cache_config(config)}
    if step.uses_tracking:
        from mlrecipes.config.tracking import resolve_tracking

        settings = resolve_tracking(recipe)
        config_part["tracking"] = [settings.tracking_uri, settings.registry_uri]
    key = cache_key(step.name, __version__, config_part, code, inputs, source_part)
    return key, source_fp


def output_stats(outputs: Path) -> dict[str, list[int]]:
    """Relative path -> [size, mtime_ns] of every file under a step's outputs."""
    stats: dict[str, list[int]] = {}
    for path in sorted(p for p in outputs.rglob("*") if p.is_file()):
        st = path.stat()
        stats[str(path.relative_to(outputs))] = [st.st_size, st.st_mtime_ns]
    return stats


def outputs_problem(state: StepState, ws: Workspace, step: str) -> str | None:
    """Why the recorded outputs of a succeeded step can no longer be trusted (None: they can).

    Cheap first: the files' sizes and mtimes against those recorded when the step finished;
    only when they differ is the content hashed and compared with the recorded fingerprint.
    """
    outputs = ws.outputs(step)
    if not outputs.is_dir():
        return "outputs missing"
    current = output_stats(outputs)
    if state.output_files is not None and current == state.output_files:
        return None
    if state.output_fingerprint is not None and hash_tree(outputs) == state.output_fingerprint:
        return None
    recorded = state.output_files or {}
    gone = sorted(set(recorded) - set(current))
    changed = sorted(f for f in current if f in recorded and current[f][0] != recorded[f][0])
    changed += sorted(set(current) - set(recorded))
    detail = "; ".join(
        part
        for part in (
            f"missing {', '.join(gone)}" if gone else "",
            f"changed {', '.join(changed)}" if changed else "",
        )
        if part
    )
    return f"outputs changed since the step ran ({detail or 'content differs'} in {outputs})"


def stale_reason(
    step: Step, state: StepState, key: str, ws: Workspace, recipe: LoadedRecipe
) -> str | None:
    """Why ``step`` must run (None: its recorded result can be reused as it is)."""
    name = step.name
    if step.always_run and state.status == "SUCCEEDED":
        return "always runs: the model behind an alias may have changed"
    if state.problem:
        return state.problem
    if state.status == "NOT_RUN":
        return "never ran"
    if state.status == "RUNNING":
        return "previous run was interrupted"
    if state.status == "FAILED":
        return "previous run failed"
    if state.cache_key != key:
        return "inputs, config or code changed"
    return outputs_problem(state, ws, name) or step.external_outputs_problem(recipe, state)


def run_plan(
    recipe: LoadedRecipe,
    ws: Workspace,
    plan: list[str],
    reporter: Reporter,
    memory: RunMemory | None = None,
    force: set[str] | None = None,
    reuse: set[str] | None = None,
) -> RunReport:
    """Run the steps of ``plan`` that are stale; steps in ``reuse`` are taken as last recorded
    (``run --only``: they must have succeeded, even if they would otherwise run again)."""
    memory = memory or RunMemory()
    report = RunReport(target=plan[-1])
    for name in plan:
        step = step_classes()[name]()
        ws.remove_leftovers(name)
        state = ws.state(name)
        if name in (reuse or set()):
            problem = None if state.status == "SUCCEEDED" else f"its last run is {state.status}"
            problem = problem or outputs_problem(state, ws, name)
            if problem:
                message = (
                    f"--only {plan[-1]} uses the recorded outputs of '{name}', but {problem}; "
                    f"run it first (mlrecipes run --step {name})"
                )
                reporter.failed(name, 0.0, message)
                raise StepError(name, message)
            reporter.cached(name)
            report.outcomes.append(StepOutcome(name, "cached"))
            continue
        try:
            key, source_fp = step_cache_key(step, recipe, ws)
        except Exception as exc:  # e.g. the data file is missing: the step fails before it starts
            # Its previous outputs stay: they are still what the previous inputs produced.
            _record_failure(step, recipe, ws, exc, now_iso(), 0.0, keep_outputs=True)
            reporter.failed(name, 0.0, str(exc))
            raise StepError(name, str(exc), getattr(exc, "traceback_text", None)) from exc
        reason = stale_reason(step, state, key, ws, recipe)
        if name in (force or set()):
            reason = reason or "forced"
        if reason is None:
            reporter.cached(name)
            append_event(ws.events_path, step=name, event="cached", cache_key=key)
            report.outcomes.append(StepOutcome(name, "cached"))
            continue
        reporter.running(name, reason)
        append_event(ws.events_path, step=name, event="run", reason=reason, cache_key=key)
        outcome = _execute(step, recipe, ws, memory, reporter, key, source_fp)
        report.outcomes.append(outcome)
    return report


def _execute(
    step: Step,
    recipe: LoadedRecipe,
    ws: Workspace,
    memory: RunMemory,
    reporter: Reporter,
    key: str,
    source_fp: dict | None,
) -> StepOutcome:
    from mlrecipes.cards.render import write_card

    name = step.name
    marker = ws.step_dir(name) / "active_mlflow_run"
    if marker.exists():
        _close_orphan_run(recipe, marker.read_text().strip(), reporter)
        marker.unlink(missing_ok=True)
    started_at, t0 = now_iso(), time.perf_counter()
    StepState(status="RUNNING", cache_key=key, started_at=started_at, pid=os.getpid()).write(
        ws.state_path(name)
    )
    tmp = ws.new_temp_outputs(name)
    ctx = StepContext(
        step=name,
        recipe=recipe,
        workspace=ws,
        out_dir=tmp,
        memory=memory,
        log=reporter.info,
        cache_key=key,
        critical_section=deferred_signals,
        declarations=step_classes(),
    )
    try:
        with time_limit(step_timeout(recipe, name)):
            result = step.run(ctx)
            raise_if_interrupted()  # a signal whose exception user code or a finalizer dropped
        # On failure the marker stays: if MLflow could not record the failure (server gone),
        # the next run closes the orphaned run.
        marker.unlink(missing_ok=True)
    except BaseException as exc:
        duration = time.perf_counter() - t0
        failure = _as_step_failure(exc, name, recipe, step)
        _record_failure(step, recipe, ws, failure or exc, started_at, duration)
        shown = failure or exc
        reporter.failed(
            name, duration, str(shown).splitlines()[0] if str(shown) else type(shown).__name__
        )
        if failure is not None:
            raise failure from exc
        raise
    ws.commit_outputs(name, tmp)
    duration = time.perf_counter() - t0
    finished_at = now_iso()
    card = result.card
    card.started_at, card.finished_at, card.duration_s = started_at, finished_at, duration
    with ctx.card_work():
        write_card(card, ws.step_dir(name))
    outputs = ws.outputs(name)
    StepState(
        status="SUCCEEDED",
        cache_key=key,
        started_at=started_at,
        finished_at=finished_at,
        duration_s=round(duration, 3),
        output_fingerprint=hash_tree(outputs),
        output_files=output_stats(outputs),
        source=source_fp,
        summary=result.summary,
        card_seconds=round(ctx.card_seconds, 4),
    ).write(ws.state_path(name))
    memory.frames.update(ctx.pending)
    reporter.done(name, duration)
    append_event(ws.events_path, step=name, event="succeeded", duration_s=round(duration, 3))
    return StepOutcome(name, "ran", duration)


def step_timeout(recipe: LoadedRecipe, name: str) -> float | None:
    block = getattr(recipe.config.steps, name, None)
    return getattr(block, "timeout", None)


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
