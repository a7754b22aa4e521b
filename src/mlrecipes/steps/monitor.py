"""monitor: after each batch scoring, compare the window just scored with the reference of the
model that scored it: drift per input column and of the scores, performance estimated from the
calibrated scores (CBPE) and, once labels arrive for a window (this one or an earlier one),
performance measured on them. Every figure becomes a row of the monitoring table (Delta, one
commit per run), is logged to an MLflow monitoring run of its window, and shows on the card.

A window is one predict run (its ``scored_at``). The statistics are pure functions of
``mlrecipes.monitoring``; this step reads and writes around them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrecipes.config.locations import local_path
from mlrecipes.errors import DatasetError
from mlrecipes.process.faults import fault_point
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.io.journal import Journal
    from mlrecipes.tracking.client import Tracker
from mlrecipes.steps._monitor_card import _fill_card, _summary
from mlrecipes.steps._monitor_config import MonitorConfig, ScoresSource
from mlrecipes.steps._monitor_window import (
    _counts,
    _labels,
    _late_labels,
    _record,
    _reference,
    _window_rows_stats,
)

WINDOW_TAG = "mlrecipes.monitor.window"  # the MLflow monitoring run's window


class MonitorStep(Step):
    name = "monitor"
    config_model = MonitorConfig
    config_required = True
    inputs = ("predict", "ingest_scoring")  # the scoring input: a slim table's input columns
    outputs = (
        Output("window", "window.json", {"monitoring_window": "text"}),
        # every window of the monitoring table, for people (self-contained HTML)
        Output("report", "monitoring_report.html", {"monitoring_report": "text"}),
    )
    pipeline = "scoring"
    uses_tracking = True
    always_run = True  # every predict run is a new window

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {"block": dump(config.steps.monitor), "target_col": config.target_col}

    def run(self, ctx: StepContext) -> StepResult:
        from mlrecipes.monitoring.window import alerts

        cfg: MonitorConfig = self.block(ctx.config)
        info = ctx.read_json("predict", "prediction_info")
        if info["output"]["using"] == "table":
            raise DatasetError(
                "steps.monitor reads the scores from a Delta or parquet output "
                "(steps.predict.output.using: delta | parquet), not a metastore table"
            )
        scores = ScoresSource.of(info)
        scores_path = scores.path
        keys = cfg.key_columns or scores.id_columns
        table = _table_path(ctx.root, cfg.output.location)
        tracker = ctx.tracker()
        labels = _labels(ctx, cfg, keys)
        reference = _reference(ctx, info["model_name"], info["model_version"])
        counts = _counts(ctx, scores, info["scored_at"], reference, labels, keys)
        if counts.rows == 0:
            raise DatasetError(f"no rows scored at {info['scored_at']} in {scores_path}")
        rows = _window_rows_stats(cfg, reference, counts)
        if counts.input_source.startswith("not computed"):
            rows.append(_not_computed())  # said in the table, so in the report too
        from mlrecipes.io.monitoring_table import read_table

        # monitoring a window again (run --only) appends nothing twice: only labels that arrived
        seen = str(info["scored_at"]) in set(read_table(table)["window"])
        new = [] if seen else [_record(info, counts.rows, r) for r in rows]
        if seen:
            ctx.log(f"window {info['scored_at']} is in the monitoring table already")
        # windows scored before whose labels have arrived since
        late = _late_labels(ctx, cfg, table, scores, labels, keys, tracker)
        journal = ctx.journal("window")
        pending = journal.read()  # a run killed between its table commit and its MLflow run
        version = _commit(journal, info, cfg.log_to_mlflow and not seen, table, new + late)
        window_alerts = alerts(rows)
        from mlrecipes.cards.monitoring_report import write

        history = read_table(table)
        report = ctx.output_path("report")
        write(history, f"Monitoring: {info['model_name']} ({ctx.recipe.profile})", report)
        if cfg.log_to_mlflow and not seen:
            _log_window(tracker, info, rows, report)
        unmonitored = _settle_killed_run(ctx, pending, info, history, tracker, report)
        journal.clear()
        summary = _summary(
            info, counts.rows, rows, window_alerts, late, str(table), version,
            reference.get("calibration", {}),  # {}: a reference from before the check
        )  # fmt: skip
        if unmonitored:
            summary["unmonitored_windows"] = unmonitored
        summary["input_drift_from"] = counts.input_source
        if counts.input_source.startswith("not computed"):
            ctx.log(f"input drift {counts.input_source}")
        ctx.write_json("window", summary)
        _log_alerts(ctx, summary)
        card = ctx.new_card()
        with ctx.card_work():
            _fill_card(card, summary, rows, table)
        return StepResult(summary=summary, card=card)

    @classmethod
    def result_phrase(cls, summary: Mapping[str, Any]) -> str | None:
        return _phrase(summary)


def _log_alerts(ctx: StepContext, summary: dict[str, Any]) -> None:
    for line in summary["alerts"]:
        ctx.log(f"ALERT {line}")
    for caveat in (summary.get("estimate") or {}).get("caveats", []):
        ctx.log(f"estimate not supported: {caveat}")


def _phrase(summary: Mapping[str, Any]) -> str:
    alerts = len(summary.get("alerts") or [])
    said = f"{alerts} alert{'s' if alerts != 1 else ''}" if alerts else "no alert"
    return f"window {summary.get('window')}: {summary.get('rows')} rows, {said}"


def _commit(
    journal: Journal, info: dict[str, Any], log: bool, table: Path, rows: list[dict[str, Any]]
) -> int:
    """The window's rows in one table commit, journaled until its MLflow run is logged too."""
    from mlrecipes.io.monitoring_table import append_rows

    journal.write(
        {"window": str(info["scored_at"]), "model_name": info["model_name"],
         "model_version": info["model_version"], "log": log}
    )  # fmt: skip
    version = append_rows(table, rows)
    fault_point("monitor.window_appended")  # committed, not yet logged to MLflow
    return version


def _table_path(root: Path, location: str) -> Path:
    return local_path(location, root)


def _log_window(tracker: Tracker, info: dict[str, Any], rows: list[Any], report: Path) -> None:
    """One MLflow run per window, in the experiment ``<experiment>-monitoring``."""
    import math

    monitoring = tracker.for_experiment(f"{tracker.settings.experiment_name}-monitoring")
    tags = {
        WINDOW_TAG: info["scored_at"],
        "mlrecipes.monitor.model": f"{info['model_name']}/{info['model_version']}",
    }
    with monitoring.run(run_name=f"window {info['scored_at']}", tags=tags):
        metrics = {}
        for row in rows:
            key = ".".join(p for p in (row.kind, row.column, row.metric) if p)
            if isinstance(row.value, float) and math.isfinite(row.value):
                metrics[key[:250]] = row.value
        monitoring.log_metrics(metrics)
        monitoring.log_artifact(report, "monitor")


def _settle_killed_run(
    ctx: StepContext,
    pending: dict[str, Any] | None,
    info: dict[str, Any],
    history: Any,
    tracker: Tracker,
    report: Path,
) -> list[str]:
    """What a monitor run killed after writing its journal entry left undone. Its window in the
    table but not in MLflow: the MLflow run is logged now, from the table's rows. Its window
    not in the table (killed before the commit): said, and returned (the window's scores stay
    in the scores table; monitoring it needs predict's record of it, which a later predict
    replaced)."""
    if pending is None or not pending.get("window"):
        return []
    window = str(pending["window"])
    rows = history[history["window"] == window]
    if not len(rows):
        if window == str(info["scored_at"]):
            return []  # this run monitored it
        ctx.log(
            f"warning: a monitor run was killed before it recorded window {window}: that "
            "window is not in the monitoring table"
        )
        return [window]
    if pending.get("log") and not _window_logged(tracker, window):
        _log_window(tracker, {**pending, "scored_at": window}, list(rows.itertuples()), report)
        ctx.log(f"logged window {window} to MLflow (a killed monitor run had not)")
    return []


def _window_logged(tracker: Tracker, window: str) -> bool:
    monitoring = tracker.for_experiment(f"{tracker.settings.experiment_name}-monitoring")
    found = monitoring.search_runs(
        order_by=[], max_results=1, filter_string=f"tags.`{WINDOW_TAG}` = '{window}'"
    )
    return len(found) > 0


def _not_computed() -> Any:
    """The monitoring table's row for a window whose input drift could not be counted."""
    from mlrecipes.cards.monitoring_report import NOT_COMPUTED
    from mlrecipes.monitoring.window import DRIFT, Row

    return Row(DRIFT, "", NOT_COMPUTED, float("nan"), None, "info")
