"""Run a plan of steps in this process: cache check, atomic outputs, state, cards, events."""

from __future__ import annotations

import os
import time
import traceback
import uuid
from typing import Any

from mlrecipes import __version__
from mlrecipes.config.loader import LoadedRecipe
from mlrecipes.errors import MlrecipesError, StepError, UserCodeError
from mlrecipes.execution.cache import cache_key, hash_file, hash_tree
from mlrecipes.execution.report import Reporter, RunReport, StepOutcome
from mlrecipes.execution.state import StepState, append_event, now_iso
from mlrecipes.execution.workspace import Workspace
from mlrecipes.steps import STEP_CLASSES
from mlrecipes.steps.base import RunMemory, Step, StepContext
from mlrecipes.user_code import helper_modules


def step_cache_key(step: Step, recipe: LoadedRecipe, ws: Workspace) -> tuple[str, dict | None]:
    """Content hash deciding whether ``step`` can be skipped, and the data fingerprint it used."""
    config = recipe.config
    modules = step.user_modules(config)
    code: dict[str, str] = {}
    if modules:
        for module in modules:
            path = recipe.root / "steps" / f"{module}.py"
            code[module] = hash_file(path) if path.is_file() else "missing"
        for helper in helper_modules(recipe.root):
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
        from mlrecipes.tracking.settings import resolve_tracking

        settings = resolve_tracking(recipe)
        config_part["tracking"] = [settings.tracking_uri, settings.registry_uri]
    key = cache_key(step.name, __version__, config_part, code, inputs, source_part)
    return key, source_fp


def is_fresh(state: StepState, key: str, ws: Workspace, step: str) -> bool:
    if STEP_CLASSES[step].always_run:
        return False
    return state.status == "SUCCEEDED" and state.cache_key == key and ws.outputs(step).is_dir()


def run_plan(
    recipe: LoadedRecipe,
    ws: Workspace,
    plan: list[str],
    reporter: Reporter,
    memory: RunMemory | None = None,
    force: set[str] | None = None,
) -> RunReport:
    memory = memory or RunMemory()
    report = RunReport(target=plan[-1])
    for name in plan:
        step = STEP_CLASSES[name]()
        ws.remove_leftovers(name)
        state = ws.state(name)
        try:
            key, source_fp = step_cache_key(step, recipe, ws)
        except Exception as exc:  # e.g. the data file is missing: the step fails before it starts
            _record_failure(step, recipe, ws, exc, now_iso(), 0.0)
            reporter.failed(name, 0.0, str(exc))
            raise StepError(name, str(exc), getattr(exc, "traceback_text", None)) from exc
        if name not in (force or set()) and is_fresh(state, key, ws, name):
            reporter.cached(name)
            append_event(ws.events_path, step=name, event="cached", cache_key=key)
            report.outcomes.append(StepOutcome(name, "cached"))
            continue
        reason = _why(state, key, ws, name)
        reporter.running(name, reason)
        append_event(ws.events_path, step=name, event="run", reason=reason, cache_key=key)
        outcome = _execute(step, recipe, ws, memory, reporter, key, source_fp)
        report.outcomes.append(outcome)
    return report


def _why(state: StepState, key: str, ws: Workspace, name: str) -> str:
    if STEP_CLASSES[name].always_run and state.status == "SUCCEEDED":
        return "always runs: the model behind an alias may have changed"
    if state.status == "NOT_RUN":
        return "never ran"
    if state.status == "RUNNING":
        return "previous run was interrupted"
    if state.status == "FAILED":
        return "previous run failed"
    if not ws.outputs(name).is_dir():
        return "outputs missing"
    if state.cache_key != key:
        return "inputs, config or code changed"
    return "forced"


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
        step=name, recipe=recipe, workspace=ws, out_dir=tmp, memory=memory, log=reporter.info
    )
    try:
        result = step.run(ctx)
        # On failure the marker stays: if MLflow could not record the failure (server gone),
        # the next run closes the orphaned run.
        marker.unlink(missing_ok=True)
    except BaseException as exc:
        duration = time.perf_counter() - t0
        _record_failure(step, recipe, ws, exc, started_at, duration)
        reporter.failed(
            name, duration, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        )
        if isinstance(exc, Exception) and not isinstance(exc, StepError):
            if step.uses_tracking and _unreachable(exc):
                from mlrecipes.tracking.settings import resolve_tracking

                uri = resolve_tracking(recipe).tracking_uri
                raise StepError(
                    name,
                    f"the MLflow tracking server at {uri} could not be reached ({type(exc).__name__}); "
                    "start it (or fix MLFLOW_TRACKING_URI) and run again",
                ) from exc
            # Show a traceback for user code and for unexpected errors, not for clear input errors.
            tb = getattr(exc, "traceback_text", None)
            if tb is None and not isinstance(exc, MlrecipesError):
                tb = traceback.format_exc()
            raise StepError(name, str(exc) or type(exc).__name__, tb) from exc
        raise
    ws.commit_outputs(name, tmp)
    duration = time.perf_counter() - t0
    finished_at = now_iso()
    card = result.card
    card.started_at, card.finished_at, card.duration_s = started_at, finished_at, duration
    with ctx.card_work():
        write_card(card, ws.step_dir(name))
    StepState(
        status="SUCCEEDED",
        cache_key=key,
        started_at=started_at,
        finished_at=finished_at,
        duration_s=round(duration, 3),
        output_fingerprint=hash_tree(ws.outputs(name)),
        source=source_fp,
        summary=result.summary,
        card_seconds=round(ctx.card_seconds, 4),
    ).write(ws.state_path(name))
    memory.frames.update(ctx.pending)
    reporter.done(name, duration)
    append_event(ws.events_path, step=name, event="succeeded", duration_s=round(duration, 3))
    return StepOutcome(name, "ran", duration)


def _unreachable(exc: BaseException) -> bool:
    from mlrecipes.tracking.settings import unreachable_server_error

    return unreachable_server_error(exc)


def _close_orphan_run(recipe: LoadedRecipe, run_id: str, reporter: Reporter) -> None:
    """A process killed inside a step leaves its MLflow run RUNNING forever; mark it KILLED."""
    from mlrecipes.tracking.client import Tracker

    try:
        if Tracker.for_recipe(recipe).terminate_if_running(run_id, "KILLED"):
            reporter.info(f"marked MLflow run {run_id} of the interrupted step as KILLED")
    except Exception as exc:  # the tracking server may be gone; never block the new run on it
        reporter.info(f"could not close MLflow run {run_id} of the interrupted step: {exc}")


def _record_failure(
    step: Step,
    recipe: LoadedRecipe,
    ws: Workspace,
    exc: BaseException,
    started_at: str,
    duration: float,
) -> None:
    """FAILED state, failure card, and no outputs: neither the partial new ones nor stale old ones."""
    from mlrecipes.cards.model import Card
    from mlrecipes.cards.render import write_card

    name = step.name
    ws.remove_leftovers(name)
    ws.discard_outputs(name)
    tb = getattr(exc, "traceback_text", None) or "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    )
    finished_at = now_iso()
    card = Card(step=name, recipe=recipe.root.name, profile=recipe.profile, status="FAILED")
    card.tab("Step Status").kv(
        {"Status": "FAILED", "Error": f"{type(exc).__name__}: {exc}"},
    )
    card.tab("Stacktrace").code(tb)
    card.started_at, card.finished_at, card.duration_s = started_at, finished_at, duration
    write_card(card, ws.step_dir(name))
    StepState(
        status="FAILED",
        started_at=started_at,
        finished_at=finished_at,
        duration_s=round(duration, 3),
        error={
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": tb,
            "user_code": isinstance(exc, UserCodeError),
        },
    ).write(ws.state_path(name))
    append_event(ws.events_path, step=name, event="failed", error=f"{type(exc).__name__}: {exc}")
