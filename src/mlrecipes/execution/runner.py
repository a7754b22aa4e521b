"""Run a plan of steps in this process: cache check, atomic outputs, state, cards, events."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from mlrecipes._version import __version__
from mlrecipes.config.loader import LoadedRecipe
from mlrecipes.errors import (
    StepError,
)
from mlrecipes.execution.cache import cache_key, hash_file, hash_tree
from mlrecipes.execution.declarations import step_classes
from mlrecipes.execution.failures import _as_step_failure, _close_orphan_run, _record_failure
from mlrecipes.execution.fastpath import unchanged_since_last_run
from mlrecipes.execution.report import Reporter, RunReport, StepOutcome
from mlrecipes.execution.state import StepState, append_event, now_iso
from mlrecipes.execution.workspace import Workspace
from mlrecipes.io.user_code import helper_modules
from mlrecipes.process.faults import fault_point
from mlrecipes.process.signals import deferred_signals, raise_if_interrupted, time_limit
from mlrecipes.steps.base import RunMemory, Step, StepContext, StepResult


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
    problem = outputs_problem(state, ws, name)
    if problem:
        return problem
    if unchanged_since_last_run(ws, name, step.watched_after(recipe) or []):
        return None  # what it left outside is byte for byte as the last run left it
    return step.external_outputs_problem(recipe, state)


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
    name = step.name
    marker = ws.active_run_marker(name)
    if marker.exists():
        orphan = marker.read_text(encoding="utf-8").strip()
        if orphan:  # empty only if written by a version before markers were atomic
            _close_orphan_run(recipe, orphan, reporter)
        marker.unlink(missing_ok=True)
    started_at, t0 = now_iso(), time.perf_counter()
    # from the RUNNING state on, a signal (or any failure) is recorded as the step's failure
    try:
        StepState(status="RUNNING", cache_key=key, started_at=started_at, pid=os.getpid()).write(
            ws.state_path(name)
        )
        tmp = ws.new_temp_outputs(name)
        fault_point(f"step.{name}")  # RUNNING, its temporary outputs begun
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
            source=source_fp,
        )
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
    _record_success(ctx, ws, result, key, source_fp, started_at, duration)
    memory.frames.update(ctx.pending)
    reporter.done(name, duration)
    append_event(ws.events_path, step=name, event="succeeded", duration_s=round(duration, 3))
    return StepOutcome(name, "ran", duration)


def _record_success(
    ctx: StepContext,
    ws: Workspace,
    result: StepResult,
    key: str,
    source_fp: dict | None,
    started_at: str,
    duration: float,
) -> None:
    """The card written and the SUCCEEDED state (the cache's record) of a committed step."""
    from mlrecipes.cards.render import write_card

    name = ctx.step
    finished_at = now_iso()
    card = result.card
    card.started_at, card.finished_at, card.duration_s = started_at, finished_at, duration
    with ctx.card_work():
        write_card(card, ws.step_dir(name))
    outputs = ws.outputs(name)
    step = ctx.declarations[name]
    phrase = step.result_phrase(result.summary) or ""  # "": none
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
        result_phrase="" if step.always_run else phrase,
        action_phrase=phrase if step.always_run else None,
    ).write(ws.state_path(name))


def step_timeout(recipe: LoadedRecipe, name: str) -> float | None:
    block = getattr(recipe.config.steps, name, None)
    return getattr(block, "timeout", None)
