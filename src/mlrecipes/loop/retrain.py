"""``mlrecipes retrain``: read the monitoring table, apply the trigger rule (k of the last n
windows breached, cooldown, daily cap; monitoring/trigger.py), and when it fires run the training
recipe on the profile's current data through ``deploy``, whose champion/challenger rule decides:
the trigger never moves an alias itself. Every evaluation, fired or not, is recorded with its
reason in the trigger table (Delta, beside the monitoring table) and as an MLflow run's tags."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mlrecipes.config.locations import local_path
from mlrecipes.errors import ConfigError, StepError
from mlrecipes.process.faults import fault_point

if TYPE_CHECKING:
    from mlrecipes.recipe import Recipe

TRIGGER_SCHEMA = pa.schema(
    [
        ("evaluated_at", pa.string()),
        ("fired", pa.bool_()),
        ("dry_run", pa.bool_()),
        ("reason", pa.string()),
        ("windows", pa.string()),  # JSON: the windows the rule looked at
        ("model_version", pa.string()),  # the version the retrain registered ("" if none)
        ("run", pa.string()),  # JSON
        ("deploy", pa.string()),  # JSON
    ]
)


def trigger_table(recipe: Recipe) -> tuple[Any, Path, Path]:
    config = recipe.config
    monitor = config.steps.monitor
    if monitor is None:
        raise ConfigError(
            f"recipe.yaml: steps.monitor is required for retrain (it reads the monitoring table)"
            f" of profile {recipe.profile}"
        )
    table = local_path(monitor.output.location, recipe.root)
    return monitor, table, table.with_name(table.name + "_trigger")


def windows_of(history: Any, breach_kinds: list[str]) -> list[Any]:
    """The monitoring table's rows grouped into trigger windows (breached: an alert of a kind
    that counts)."""
    import pandas as pd

    from mlrecipes.monitoring.trigger import Window

    windows = []
    for window, rows in history.groupby("window", sort=True):
        alerts = rows[(rows["status"] == "alert") & rows["kind"].isin(breach_kinds)]
        reasons = tuple(
            sorted(
                {f"{r.kind} {r.column} {r.metric}".replace("  ", " ") for r in alerts.itertuples()}
            )
        )
        windows.append(
            Window(
                window=str(window),
                scored_at=pd.Timestamp(window).to_pydatetime(),
                model_version=str(rows["model_version"].iloc[-1]),
                breached=bool(len(alerts)),
                reasons=reasons,
            )
        )
    return windows


def firings_of(trigger: Any) -> list[Any]:
    import pandas as pd

    from mlrecipes.monitoring.trigger import Firing

    done = trigger[trigger["fired"] & ~trigger["dry_run"]] if len(trigger) else trigger
    # in the order they happened (two firings of one episode share their window-clock time)
    done = done.sort_values("evaluated_at", kind="stable")
    # a firing is written twice, before the retrain and with its result (same evaluated_at): one
    # firing; a "started" row alone (the process died) is an unfinished one: no cooldown from it
    rows = done.groupby("evaluated_at", sort=False).size()
    done = done.drop_duplicates("evaluated_at", keep="last")
    return [
        Firing(
            r.model_version or None,
            _window_clock(r.windows) or pd.Timestamp(r.evaluated_at).to_pydatetime(),
            finished=bool(rows[r.evaluated_at] > 1),
        )
        for r in done.itertuples()
    ]


def _window_clock(windows: str) -> datetime | None:
    """A firing's time on the window clock: the newest window it looked at (recorded with every
    evaluation). None only for a record without windows; its wall-clock time stands in then."""
    import pandas as pd

    seen = [pd.Timestamp(w["window"]).to_pydatetime() for w in json.loads(windows or "[]")]
    return max(seen, default=None)


def retrain(recipe: Recipe, dry_run: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Decide from the monitoring table whether to retrain (k of the last n windows breached,
    cooldown, daily cap); when the trigger fires, run the recipe up to deploy (which decides
    whether the new model becomes champion). Every evaluation is appended to the trigger table
    and tagged in MLflow, a failed retrain too (then raised).

    Read, decide, append and the retrain itself happen under the registry lease
    ``<model>__lease_retrain``: of two retrains started at once (two schedulers, two clusters),
    the second waits and then sees the first's result, so at most one fires per episode. A dry
    run decides without it (it fires nothing)."""
    if dry_run:
        return _retrain_now(recipe, dry_run, now)
    from mlrecipes.config.tracking import resolve_tracking
    from mlrecipes.tracking.client import Tracker
    from mlrecipes.tracking.lease import registry_lease
    from mlrecipes.tracking.settings import engine_environment

    loaded = recipe._load()
    with engine_environment():
        tracker = Tracker(resolve_tracking(loaded))
    with registry_lease(
        tracker, loaded.config.model_name or "", "retrain", say=recipe.reporter.info
    ):
        return _retrain_now(recipe, dry_run, now)


def _retrain_now(recipe: Recipe, dry_run: bool, now: datetime | None) -> dict[str, Any]:
    monitor, table, trigger_path = trigger_table(recipe)
    now = now or datetime.now(UTC)
    if not dry_run:
        _tag_untagged_last(recipe, trigger_path)
    verdict = _verdict(monitor.trigger, table, trigger_path)
    windows = [
        {"window": w.window, "model_version": w.model_version, "breached": w.breached,
         "reasons": list(w.reasons)}
        for w in verdict.windows
    ]  # fmt: skip

    def record(run: Any, deploy: Any) -> dict[str, Any]:
        return {
            "evaluated_at": now.isoformat(timespec="microseconds"),
            "fired": verdict.fired,
            "dry_run": dry_run,
            "reason": verdict.reason,
            "windows": json.dumps(windows),
            "model_version": str((run or {}).get("registered_model_version") or ""),
            "run": json.dumps(run),
            "deploy": json.dumps(deploy),
        }

    run = deploy = None
    failure: StepError | None = None
    if verdict.fired and not dry_run:
        _append(trigger_path, record({"state": "started"}, None))
        fault_point("retrain.started_recorded")  # fired, nothing retrained yet
        run, deploy, failure = _run_retrain(recipe)
    result = record(run, deploy)
    _append(trigger_path, result)
    fault_point("retrain.result_recorded")  # in the trigger table, not yet tagged in MLflow
    _tag_evaluation(recipe, result)
    if failure is not None:
        raise StepError(
            failure.step, f"the trigger fired but the retrain failed: {failure.reason}"
        ) from failure
    return {
        "fired": verdict.fired,
        "reason": verdict.reason,
        "dry_run": dry_run,
        "windows": windows,
        "run": run,
        "deploy": deploy,
    }


def _verdict(rule: Any, table: Path, trigger_path: Path) -> Any:
    """The trigger rule applied to the monitoring table and the trigger's own history, on the
    windows' clock (the evaluation's wall-clock time is only recorded, never compared)."""
    from mlrecipes.io.monitoring_table import read_table
    from mlrecipes.monitoring.trigger import decide

    trigger = read_table(trigger_path, TRIGGER_SCHEMA, "the trigger table")
    return decide(
        windows_of(read_table(table), rule.breaches),
        firings_of(trigger),
        rule.k,
        rule.n,
        rule.max_per_day,
    )


def _run_retrain(recipe: Recipe) -> tuple[Any, Any, StepError | None]:
    """The recipe run up to deploy: (what ran, deploy's decision, the failure if any)."""
    try:
        report = recipe.run()
    except StepError as exc:  # e.g. the retrained model was REJECTED: recorded, then raised
        return {"failed_step": exc.step, "error": str(exc)}, None, exc
    register = recipe.status("register")
    run = {
        "ran": report.names("ran"),
        "cached": report.names("cached"),
        "registered_model_version": register.get("registered_model_version"),
    }
    decision = recipe.status("deploy")
    deploy = {
        key: decision.get(key)
        for key in ("decision", "reason", "champion_version", "challenger_version")
    }
    return run, deploy, None


def _append(trigger_path: Path, row: dict[str, Any]) -> None:
    from mlrecipes.io.monitoring_table import append_rows

    append_rows(trigger_path, [row], TRIGGER_SCHEMA, "the trigger table")


def _monitoring_tracker(recipe: Recipe) -> Any:
    from mlrecipes.config.tracking import resolve_tracking
    from mlrecipes.tracking.client import Tracker

    tracker = Tracker(resolve_tracking(recipe._load()))
    return tracker.for_experiment(f"{tracker.settings.experiment_name}-monitoring")


def _tag_evaluation(recipe: Recipe, record: dict[str, Any]) -> None:
    """The evaluation as an MLflow run of the monitoring experiment, its facts as tags."""
    from mlrecipes.tracking.settings import engine_environment

    with engine_environment():
        monitoring = _monitoring_tracker(recipe)
        tags = {f"mlrecipes.trigger.{k}": str(v)[:5000] for k, v in record.items()}
        with monitoring.run(run_name=f"trigger {record['evaluated_at']}", tags=tags):
            pass


def _tag_untagged_last(recipe: Recipe, trigger_path: Path) -> None:
    """The trigger table is the record; its MLflow run a copy, made after it. A retrain killed
    in between left the last evaluation without its run: made now."""
    from mlrecipes.io.monitoring_table import read_table
    from mlrecipes.tracking.settings import engine_environment

    trigger = read_table(trigger_path, TRIGGER_SCHEMA, "the trigger table")
    finished = trigger[trigger["run"] != json.dumps({"state": "started"})]
    if not len(finished):
        return
    last = finished.sort_values("evaluated_at").iloc[-1].to_dict()
    with engine_environment():
        found = _monitoring_tracker(recipe).search_runs(
            order_by=[], max_results=1,
            filter_string=f"tags.`mlrecipes.trigger.evaluated_at` = '{last['evaluated_at']}'",
        )  # fmt: skip
    if not len(found):
        _tag_evaluation(recipe, last)
