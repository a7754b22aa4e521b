"""monitor: after each batch scoring, compare the window just scored with the reference of the
model that scored it: drift per input column and of the scores, performance estimated from the
calibrated scores (CBPE) and, once labels arrive for a window (this one or an earlier one),
performance measured on them. Every figure becomes a row of the monitoring table (Delta, one
commit per run), is logged to an MLflow monitoring run of its window, and shows on the card.

A window is one predict run (its ``scored_at``). The statistics are pure functions of
``mlrecipes.monitoring``; this step reads and writes around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, PositiveInt, StrictBool, model_validator

from mlrecipes.config.blocks import Block, StepBlock
from mlrecipes.errors import DatasetError, MissingArtifactError
from mlrecipes.io.sources import IngestConfig, SparkConfig
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.monitoring.counts import WindowCounts
    from mlrecipes.tracking.client import Tracker

MIN_LABELLED_ROWS = 30


class Levels(Block):
    warn: float = Field(ge=0)
    alert: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        if self.alert < self.warn:
            raise ValueError(f"alert ({self.alert}) must be at least warn ({self.warn})")
        return self

    def pair(self) -> tuple[float, float]:
        return (self.warn, self.alert)


class ThresholdsConfig(Block):
    drift: Levels = Levels(warn=0.1, alert=0.25)
    unseen_share: Levels = Levels(warn=0.05, alert=0.1)
    null_rate_change: Levels = Levels(warn=0.05, alert=0.1)
    prediction_drift: Levels = Levels(warn=0.1, alert=0.25)
    performance_drop: Levels = Levels(warn=0.03, alert=0.05)
    columns: dict[str, Levels] = Field(default_factory=dict)


class TriggerConfig(Block):
    k: PositiveInt = 2
    n: PositiveInt = 3
    max_per_day: PositiveInt = 1
    # which alerts make a window count as breached (estimated performance only suggests)
    breaches: list[str] = Field(
        default_factory=lambda: ["drift", "prediction_drift", "performance"]
    )


class MonitorTable(Block):
    location: str  # a Delta table (relative to the recipe root)


class MonitorConfig(StepBlock):
    output: MonitorTable
    # the outcomes, as they arrive (later than the scores): a dataset of keys + the target, or a
    # table of the profile's feature store (the labels table); read afresh on every run
    labels: IngestConfig | None = None
    labels_table: str | None = None
    key_columns: list[str] | None = None  # default: predict.id_columns
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)
    trigger: TriggerConfig = Field(default_factory=TriggerConfig)
    log_to_mlflow: StrictBool = True


@dataclass(frozen=True)
class ScoresSource:
    """Where predict wrote the scores and how to read them, from its declared output
    ``prediction_info`` only (monitor reads nothing of predict's configuration)."""

    path: Path
    engine: str
    id_columns: list[str]
    spark: SparkConfig

    @classmethod
    def of(cls, info: dict[str, Any]) -> ScoresSource:
        if "id_columns" not in info:
            raise DatasetError(
                "predict's prediction_info was written by an older mlrecipes (no id_columns); "
                "run predict again before monitor"
            )
        return cls(
            path=Path(info["output_path"]),
            engine=info["engine"],
            id_columns=list(info["id_columns"]),
            spark=SparkConfig.model_validate(info.get("spark") or {}),
        )


class MonitorStep(Step):
    name = "monitor"
    config_model = MonitorConfig
    config_required = True
    inputs = ("predict",)
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
        from mlrecipes.io.monitoring_table import append_rows, read_table

        # monitoring a window again (run --only) appends nothing twice: only labels that arrived
        seen = str(info["scored_at"]) in set(read_table(table)["window"])
        new = [] if seen else [_record(info, counts.rows, r) for r in rows]
        if seen:
            ctx.log(f"window {info['scored_at']} is in the monitoring table already")
        # windows scored before whose labels have arrived since
        late = _late_labels(ctx, cfg, table, scores, labels, keys, tracker)
        version = append_rows(table, new + late)
        window_alerts = alerts(rows)
        from mlrecipes.cards.monitoring_report import write

        report = ctx.output_path("report")
        write(read_table(table), f"Monitoring: {info['model_name']} ({ctx.recipe.profile})", report)
        if cfg.log_to_mlflow and not seen:
            _log_window(tracker, info, rows, report)
        summary = _summary(info, counts.rows, rows, window_alerts, late, str(table), version)
        ctx.write_json("window", summary)
        for line in window_alerts:
            ctx.log(f"ALERT {line}")
        card = ctx.new_card()
        with ctx.card_work():
            _fill_card(card, summary, rows, table)
        return StepResult(summary=summary, card=card)


def _table_path(root: Path, location: str) -> Path:
    path = Path(location).expanduser()
    return path if path.is_absolute() else root / path


LABELLED_AT = "__mlrecipes_labelled_at"  # when an outcome was recorded (labels tables)


def _labels(ctx: StepContext, cfg: MonitorConfig, keys: list[str]) -> pd.DataFrame | None:
    """Keys and the target of every row whose outcome is known so far (None: no labels yet).
    From a labels table, each outcome keeps its snapshot time: a window takes, per key, the
    first outcome recorded after it was scored (not an older one, which predates the score)."""
    import pandas as pd

    when = None
    if cfg.labels_table is not None:
        from mlrecipes.features.recipe_store import store_for

        store = store_for(ctx.recipe)
        frame = store.read_table(cfg.labels_table)
        when = store.info(cfg.labels_table).timestamp_key
        where = f"labels table '{cfg.labels_table}'"
    elif cfg.labels is not None:
        from mlrecipes.io.datasets import read_dataset
        from mlrecipes.io.fingerprint import resolve_sources

        try:
            resolve_sources(cfg.labels, ctx.root, "monitor.labels")
        except DatasetError:
            ctx.log(f"no labels at {cfg.labels.location} yet: performance is estimated only")
            return None
        frame = read_dataset(cfg.labels, ctx.root, "monitor.labels", ctx.download)
        where = str(cfg.labels.location)
    else:
        return None
    target = ctx.config.target_col
    missing = [c for c in [*keys, target] if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"steps.monitor.labels ({where}) lacks the columns {missing}; it needs "
            f"the key columns {keys} and the target '{target}'"
        )
    if when is None:
        frame = frame[[*keys, target]].dropna()
        return frame.drop_duplicates(keys, keep="last")
    frame = frame[[*keys, target, when]].dropna()
    stamps = pd.to_datetime(frame[when], utc=True)
    return frame[[*keys, target]].assign(**{LABELLED_AT: stamps}).sort_values(LABELLED_AT)


def _outcomes_for(
    labels: pd.DataFrame, keys: list[str], scored_at: str, target: str, positive: Any
) -> pd.DataFrame:
    """Each key's outcome for a window scored at ``scored_at`` (1.0 / 0.0 under LABEL)."""
    import pandas as pd

    from mlrecipes.monitoring.counts import LABEL

    if LABELLED_AT in labels.columns:
        when = pd.Timestamp(scored_at)
        when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
        labels = labels[labels[LABELLED_AT] > when].drop_duplicates(keys, keep="first")
    return labels[keys].assign(**{LABEL: (labels[target] == positive).astype(float)})


def _reference(ctx: StepContext, name: str, version: str) -> dict[str, Any]:
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = ctx.logged_output_of(
                name, version, "evaluate", "monitoring_reference", Path(tmp)
            )
        except MissingArtifactError as exc:
            raise DatasetError(
                f"{name} version {version} has no monitoring reference ({exc}); retrain it with "
                "this version of mlrecipes (binary classifiers with probabilities)"
            ) from exc
        return json.loads(path.read_text(encoding="utf-8"))


def _counts(
    ctx: StepContext,
    scores: ScoresSource,
    scored_at: str,
    reference: dict[str, Any],
    labels: pd.DataFrame | None,
    keys: list[str],
    scores_only: bool = False,
) -> WindowCounts:
    """A window's counts, by the engine that scored it: Spark aggregations on the executors,
    or pandas batch by batch (flat memory); the statistics after this are shared."""
    from mlrecipes.io.monitoring_table import spark_window, window_batches
    from mlrecipes.monitoring.counts import LABEL, WindowCounts, batch_counts
    from mlrecipes.monitoring.reference import SCORE, columns_of, scores_of

    columns = {} if scores_only else columns_of(reference)
    score_summary, threshold = scores_of(reference), float(reference["threshold"])
    target, positive = ctx.config.target_col, ctx.config.positive_class
    outcomes = None
    if labels is not None:
        outcomes = _outcomes_for(labels, keys, scored_at, target, positive)
    scores_path = scores.path
    if scores.engine == "spark":
        from mlrecipes.io.spark import spark_session
        from mlrecipes.monitoring.spark_counts import window_counts

        spark = spark_session(scores.spark, "mlrecipes-monitor")
        frame = spark_window(spark, scores_path, scored_at)
        joined = None if outcomes is None else spark.createDataFrame(outcomes)
        return window_counts(frame, columns, score_summary, threshold, joined, keys)
    total = WindowCounts()
    wanted = [*columns, SCORE, *keys]
    for batch in window_batches(scores_path, scored_at, wanted):
        known = None
        if outcomes is not None:  # only the keys become pandas (the join), not the window
            frame = batch.select(keys).to_pandas()
            known = frame.merge(outcomes, on=keys, how="left")[LABEL].to_numpy(dtype=float)
        total.add(batch_counts(batch, columns, score_summary, threshold, known))
    return total


def _has_labels(counts: WindowCounts) -> bool:
    """Enough labelled rows, of both classes, to measure performance on."""
    labelled, positives = counts.grid.labelled_rows, counts.grid.labelled_positives
    return labelled >= MIN_LABELLED_ROWS and 0 < positives < labelled


def _window_rows_stats(
    cfg: MonitorConfig, reference: dict[str, Any], counts: WindowCounts
) -> list[Any]:
    from mlrecipes.monitoring.window import input_rows, performance_rows

    thresholds = _thresholds(cfg)
    rows = input_rows(reference, counts, thresholds)
    return rows + performance_rows(reference, counts.grid, thresholds, _has_labels(counts))


def _late_labels(
    ctx: StepContext,
    cfg: MonitorConfig,
    table: Path,
    scores: ScoresSource,
    labels: pd.DataFrame | None,
    keys: list[str],
    tracker: Tracker,
) -> list[dict[str, Any]]:
    """Measured performance of earlier windows that had no labels when they were monitored."""
    if labels is None:
        return []
    from mlrecipes.io.monitoring_table import read_table
    from mlrecipes.monitoring.window import MEASURED, performance_rows

    history = read_table(table)
    if history.empty:
        return []
    measured = set(history.loc[history["kind"] == MEASURED, "window"])
    pending = history[~history["window"].isin(measured)].drop_duplicates("window")
    rows: list[dict[str, Any]] = []
    for item in pending.itertuples(index=False):
        reference = _reference(ctx, item.model_name, item.model_version)
        counts = _counts(ctx, scores, item.window, reference, labels, keys, scores_only=True)
        if not _has_labels(counts):
            continue
        info = {
            "scored_at": item.window,
            "model_name": item.model_name,
            "model_version": item.model_version,
        }
        found = performance_rows(reference, counts.grid, _thresholds(cfg), measured=True)
        rows += [_record(info, int(item.rows), r) for r in found if r.kind == MEASURED]
    return rows


def _thresholds(cfg: MonitorConfig) -> Any:
    from mlrecipes.monitoring.window import Thresholds

    t = cfg.thresholds
    return Thresholds(
        drift=t.drift.pair(),
        unseen_share=t.unseen_share.pair(),
        null_rate_change=t.null_rate_change.pair(),
        prediction_drift=t.prediction_drift.pair(),
        performance_drop=t.performance_drop.pair(),
        columns={c: levels.pair() for c, levels in t.columns.items()},
    )


def _record(info: dict[str, Any], rows: int, row: Any) -> dict[str, Any]:
    return {
        "window": str(info["scored_at"]),
        "model_name": str(info["model_name"]),
        "model_version": str(info["model_version"]),
        "rows": int(rows),
        **row.as_dict(),
        "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _log_window(tracker: Tracker, info: dict[str, Any], rows: list[Any], report: Path) -> None:
    """One MLflow run per window, in the experiment ``<experiment>-monitoring``."""
    import math

    monitoring = tracker.for_experiment(f"{tracker.settings.experiment_name}-monitoring")
    tags = {
        "mlrecipes.monitor.window": info["scored_at"],
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


def _summary(
    info: dict[str, Any],
    rows_in_window: int,
    rows: list[Any],
    window_alerts: list[str],
    late: list[dict[str, Any]],
    table: str,
    version: int,
) -> dict[str, Any]:
    """``inspect --step monitor --json``: the worst drift metric per column, the rest by kind."""
    from mlrecipes.monitoring.window import DRIFT, ESTIMATED, MEASURED, PREDICTION_DRIFT

    order = {"ok": 0, "info": 0, "warn": 1, "alert": 2}
    drift_by_column: dict[str, dict[str, Any]] = {}
    for row in (r for r in rows if r.kind == DRIFT):
        current = drift_by_column.get(row.column)
        rank = (order[row.status], row.value if row.metric != "null_rate_change" else 0)
        if current is None or rank > current["_rank"]:
            drift_by_column[row.column] = {
                "metric": row.metric, "value": row.value, "status": row.status, "_rank": rank,
            }  # fmt: skip
    for entry in drift_by_column.values():
        entry.pop("_rank")

    def by_metric(kind: str) -> dict[str, Any] | None:
        found = {r.metric: {"value": r.value, "status": r.status} for r in rows if r.kind == kind}
        return found or None

    prediction = [r for r in rows if r.kind == PREDICTION_DRIFT]
    return {
        "window": info["scored_at"],
        "rows": rows_in_window,
        "model_name": info["model_name"],
        "model_version": info["model_version"],
        "drift": drift_by_column,
        "prediction_drift": (
            {"metric": "psi", "value": prediction[0].value, "status": prediction[0].status}
            if prediction
            else None
        ),
        "performance": by_metric(MEASURED),
        "estimated_performance": by_metric(ESTIMATED),
        "alerts": window_alerts,
        "late_labelled_windows": sorted({r["window"] for r in late}),
        "monitoring_table": {"location": table, "version": version},
    }


def _fill_card(card: Any, summary: dict[str, Any], rows: list[Any], table: Path) -> None:
    import pandas as pd

    head = card.tab("Window")
    head.kv(
        {
            "Window (scored at)": summary["window"],
            "Rows": summary["rows"],
            "Model": f"{summary['model_name']} version {summary['model_version']}",
            "Alerts": "; ".join(summary["alerts"]) or "none",
            "Monitoring table": f"{table} (version {summary['monitoring_table']['version']})",
            "Earlier windows measured now (labels arrived)": ", ".join(
                summary["late_labelled_windows"]
            )
            or "none",
        }
    )
    frame = pd.DataFrame([r.as_dict() for r in rows])
    for kind, title in (
        ("drift", "Input Drift"),
        ("prediction_drift", "Prediction Drift"),
        ("estimated_performance", "Estimated Performance"),
        ("performance", "Measured Performance"),
    ):
        part = frame[frame["kind"] == kind].drop(columns=["kind"]) if not frame.empty else frame
        if not part.empty:
            tab = card.tab(title)
            if kind == "estimated_performance":
                tab.text(
                    "An estimate from the calibrated scores (CBPE), before labels arrive: it "
                    "cannot see a change in how inputs relate to churn; the measured values can."
                )
            tab.table(part.sort_values(["status", "value"], ascending=[True, False]))
