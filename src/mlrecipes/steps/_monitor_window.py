"""One scoring window read for monitoring: the labels known so far, the scoring model's reference (a logged output of evaluate), the window's counts by the engine that scored it, and late labels for earlier windows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrecipes.errors import DatasetError, MissingArtifactError
from mlrecipes.steps.base import StepContext

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.monitoring.counts import WindowCounts
    from mlrecipes.tracking.client import Tracker
from mlrecipes.steps._monitor_config import MIN_LABELLED_ROWS, MonitorConfig, ScoresSource


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
        when = cfg.labels_time_column
    else:
        return None
    target = ctx.config.target_col
    missing = [c for c in [*keys, target, *([when] if when else [])] if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"steps.monitor.labels ({where}) lacks the columns {missing}; it needs "
            f"the key columns {keys} and the target '{target}'"
            + (f" and the time column '{when}' (labels_time_column)" if when else "")
        )
    from mlrecipes.monitoring.outcomes import LABELLED_AT, contradictions

    if when is None:
        frame = frame[[*keys, target]].dropna()
    else:
        frame = frame[[*keys, target, when]].dropna()
        stamps = pd.to_datetime(frame[when], utc=True)
        frame = frame[[*keys, target]].assign(**{LABELLED_AT: stamps}).sort_values(LABELLED_AT)
    frame, refused = contradictions(frame, keys, target)
    if len(refused):
        sample = refused.head(4)[[*keys, target]].to_dict("records")
        ctx.log(
            f"{refused[keys].drop_duplicates().shape[0]} key(s) in {where} have contradictory "
            f"outcomes (e.g. {sample}): excluded from measured performance"
        )
    return frame if when is not None else frame.drop_duplicates(keys, keep="last")


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
                "this version of mlrecipes (binary classifiers with probabilities, regression)"
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
    or pandas batch by batch (flat memory); the statistics after this are shared. A window
    scored into a slim table (``keep_input_columns: false``) takes its input columns' counts
    from the scoring input, never from the table (where they are absent, or null)."""
    from mlrecipes.monitoring.reference import columns_of

    slim = not scores_only and not scores.keep_input_columns
    total = _score_counts(ctx, scores, scored_at, reference, labels, keys, scores_only or slim)
    if slim:
        total.input_source = _slim_inputs(ctx, total, columns_of(reference))
    return total


def _slim_inputs(ctx: StepContext, total: WindowCounts, columns: dict[str, Any]) -> str:
    """Fill ``total``'s input columns from the rows predict scored (ingest_scoring's output of
    this run); say where they came from, or why there are none."""
    path = ctx.input_path("ingest_scoring", "dataset")
    if not path.is_file():
        return f"not computed: the scoring input {path.name} of this run is gone"
    rows, counted = input_counts(path, columns)
    if rows != total.rows:
        return (
            f"not computed: the scoring input holds {rows} rows, the window {total.rows} (the "
            "scores table keeps no input columns, and the input is not this window's)"
        )
    total.columns = counted
    return "the scoring input (the scores table keeps no input columns)"


def input_counts(path: Path, columns: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Rows of a parquet file and the counts of its ``columns``, batch by batch (flat memory)."""
    import pyarrow.parquet as pq

    from mlrecipes.monitoring.counts import WindowCounts, batch_counts

    source = pq.ParquetFile(path)
    present = [c for c in columns if c in source.schema_arrow.names]
    total = WindowCounts()
    for batch in source.iter_batches(batch_size=131_072, columns=present or None):
        total.add(batch_counts(batch, {c: columns[c] for c in present}))
    return total.rows, total.columns


def _score_counts(
    ctx: StepContext,
    scores: ScoresSource,
    scored_at: str,
    reference: dict[str, Any],
    labels: pd.DataFrame | None,
    keys: list[str],
    scores_only: bool,
) -> WindowCounts:
    from mlrecipes.io.monitoring_table import spark_window, window_batches
    from mlrecipes.monitoring.counts import LABEL, WindowCounts, batch_counts
    from mlrecipes.monitoring.reference import columns_of, is_regression, score_column, scores_of
    from mlrecipes.stats.keys import normalised

    columns = {} if scores_only else columns_of(reference)
    score_summary, regression = scores_of(reference), is_regression(reference)
    threshold = 0.5 if regression else float(reference["threshold"])
    target = ctx.config.target_col
    positive = None if regression else ctx.config.positive_class
    outcomes = None
    if labels is not None:
        from mlrecipes.monitoring.outcomes import outcomes_for

        outcomes = outcomes_for(labels, keys, scored_at, target, positive)
    scores_path = scores.path
    if scores.engine == "spark":
        if regression:
            raise DatasetError(
                "steps.monitor: a regression model's windows are monitored by the pandas engine "
                "(the Spark engine counts binary classifiers' scores); score them with "
                "predict.engine: pandas"
            )
        from mlrecipes.io.spark import spark_session
        from mlrecipes.monitoring.spark_counts import window_counts

        spark = spark_session(scores.spark, "mlrecipes-monitor")
        frame = spark_window(spark, scores_path, scored_at)
        joined = None if outcomes is None else spark.createDataFrame(outcomes)
        return window_counts(frame, columns, score_summary, threshold, joined, keys)
    total = WindowCounts()
    output = score_column(reference)
    for batch in window_batches(scores_path, scored_at, [*columns, output, *keys]):
        known = None
        if outcomes is not None:  # only the keys become pandas (the join), not the window
            frame = normalised(batch.select(keys).to_pandas(), keys)
            known = frame.merge(outcomes, on=keys, how="left")[LABEL].to_numpy(dtype=float)
        total.add(batch_counts(batch, columns, score_summary, threshold, known, output, regression))
    return total


def _has_labels(counts: WindowCounts) -> bool:
    """Enough labelled rows (of both classes, for a classifier) to measure performance on."""
    if counts.errors.labelled:
        return counts.errors.labelled >= MIN_LABELLED_ROWS
    labelled, positives = counts.grid.labelled_rows, counts.grid.labelled_positives
    return labelled >= MIN_LABELLED_ROWS and 0 < positives < labelled


def _window_rows_stats(
    cfg: MonitorConfig, reference: dict[str, Any], counts: WindowCounts
) -> list[Any]:
    from mlrecipes.monitoring.window import input_rows, window_performance

    thresholds = _thresholds(cfg)
    rows = input_rows(reference, counts, thresholds)
    return rows + window_performance(reference, counts, thresholds, _has_labels(counts))


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
    from mlrecipes.monitoring.window import MEASURED, window_performance

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
        found = window_performance(reference, counts, _thresholds(cfg), measured=True)
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
        error_increase=t.error_increase.pair(),
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
