"""features: the feature-table-creation pipeline. Reads the raw source (any ingest format), runs
the recipe's featurization (``steps/features.py``) and appends a snapshot to a feature table
(primary keys + a timestamp key) and to a labels table (keys, timestamp, target), each in one
Delta commit. First in the DAG when configured; ``ingest`` then looks the features up.

A snapshot's time is the source's own ``timestamp_key`` column when it has one, else
``snapshot_time``, else the time of the run. Snapshots already in a table are skipped, so a
folder of monthly files that gains a month appends that month only; one delivered again with
other content (a file first half uploaded) gets its missing rows, or is refused if rows already
written changed. The featurization must be
row by row (no aggregates over rows): the pandas engine runs it batch by batch, the Spark engine
(``engine: spark``) on each partition (``mapInPandas``), with the same rows and values.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, PositiveInt, StrictBool

from mlrecipes.config.blocks import Block, StepBlock
from mlrecipes.errors import DatasetError, UserCodeError
from mlrecipes.io.sources import IngestConfig, SparkConfig
from mlrecipes.process.faults import fault_point
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.config.loader import LoadedRecipe
    from mlrecipes.config.schema import RecipeConfig

BATCH_ROWS = 200_000


class FeatureTableConfig(Block):
    name: str
    primary_keys: list[str] = Field(min_length=1)
    timestamp_key: str = "snapshot_date"
    description: str = ""


class LabelsTableConfig(Block):
    name: str
    label: str | None = None  # default: the recipe's target_col


class FeaturesConfig(StepBlock):
    source: IngestConfig
    featurize_method: str = "compute_features"  # a function of steps/features.py: df -> df
    feature_table: FeatureTableConfig
    labels_table: LabelsTableConfig | None = None
    snapshot_time: datetime | None = None
    schema_evolution: StrictBool = False
    engine: Literal["pandas", "spark"] = "pandas"
    spark: SparkConfig = Field(default_factory=SparkConfig)
    batch_size: PositiveInt = BATCH_ROWS


class FeaturesStep(Step):
    name = "features"
    config_model = FeaturesConfig
    config_required = True
    outputs = (Output("tables", "tables.json", {"feature_tables": "text"}),)
    user_code_modules = ("features",)
    listed_unconfigured = False

    def source_block(self, config: RecipeConfig) -> IngestConfig:
        return self.block(config).source

    def user_modules(self, config: RecipeConfig) -> tuple[str, ...]:
        return ("features", *super().user_modules(config))

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(config.steps.features),
            "target_col": config.target_col,
            "feature_store": dump(config.feature_store),
        }

    def external_outputs_problem(self, recipe: LoadedRecipe, state: Any) -> str | None:
        """The tables the step wrote must still be there, at the version it left or later."""
        from mlrecipes.features.recipe_store import store_for

        store = store_for(recipe)
        for table in (state.summary or {}).get("tables", []):
            if not store.exists(table["name"]):
                return f"feature table '{table['name']}' is gone from {store.root}"
            if store.info(table["name"]).version < table["version"]:
                return f"feature table '{table['name']}' is older than the version this step wrote"
        return None

    def run(self, ctx: StepContext) -> StepResult:
        from mlrecipes.features.recipe_store import store_for
        from mlrecipes.features.write_checks import SnapshotsRedelivered

        cfg: FeaturesConfig = self.block(ctx.config)
        label = (cfg.labels_table.label if cfg.labels_table else None) or ctx.config.target_col
        store = store_for(ctx.recipe, create=True)
        stamp = _snapshot_time(cfg)
        featurize = _featurizer(ctx, cfg)

        def batches() -> Any:
            if cfg.engine == "spark":
                from mlrecipes.features.spark_featurize import featurize_with_spark

                return featurize_with_spark(ctx.root, ctx.out_dir, cfg, featurize, label, stamp)
            return _pandas_batches(ctx, cfg, featurize, label, stamp)

        try:
            written = _write(store, cfg, batches(), label)
        except SnapshotsRedelivered as changed:
            # Nothing of that write was committed. The source is read again, and the
            # redelivered snapshots are completed (or refused if written rows changed).
            ctx.log(
                f"snapshots {', '.join(changed.snapshots)} of '{changed.table}' were delivered "
                "again with other content: adding the rows that are missing"
            )
            written = _write(store, cfg, batches(), label, set(changed.snapshots))
        tables = [store.info(name).as_dict() for name in written["names"]]
        summary = {
            "tables": tables,
            "rows_written": written["rows"],
            "skipped_snapshots": written["skipped"],
            "completed_snapshots": written["completed"],
            "feature_store": str(store.root),
            "engine": cfg.engine,
        }
        ctx.write_json("tables", summary)
        card = ctx.new_card()
        with ctx.card_work():
            _fill_card(card, summary, written["preview"])
        return StepResult(summary=summary, card=card)


def _snapshot_time(cfg: FeaturesConfig) -> datetime:
    if cfg.snapshot_time is not None:
        stamp = cfg.snapshot_time
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return datetime.now(UTC).replace(microsecond=0)


def _featurizer(ctx: StepContext, cfg: FeaturesConfig) -> Any:
    from mlrecipes.io.user_code import call_user_function, load_function

    fn = load_function(ctx.root, "features", cfg.featurize_method)
    where = f"steps/features.py:{cfg.featurize_method}"
    keys = cfg.feature_table.primary_keys

    def featurize(frame: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        out = call_user_function(fn, where, frame)
        if not isinstance(out, pd.DataFrame):
            raise UserCodeError(f"{where} must return a pandas DataFrame, got {type(out).__name__}")
        lost = [k for k in keys if k not in out.columns]
        if lost:
            raise UserCodeError(f"{where} dropped the primary key columns {lost}; keep them")
        if len(out) != len(frame):
            raise UserCodeError(
                f"{where} returned {len(out)} rows for {len(frame)}: featurization is row by row"
            )
        return out

    return featurize


def _pandas_batches(
    ctx: StepContext, cfg: FeaturesConfig, featurize: Any, label: str, stamp: datetime
) -> Any:
    """(features, labels) per batch: parquet and delta stream; other formats are read whole."""
    from mlrecipes.features.snapshot import split_snapshot
    from mlrecipes.io.formats import data_format

    source = cfg.source
    table = cfg.feature_table
    fmt = data_format(source.using)
    if fmt is not None and source.using != "csv" and not source.loader_method:
        from mlrecipes.io.batches import iter_source_batches

        for batch in iter_source_batches(source, ctx.root, "features.source", cfg.batch_size):
            yield split_snapshot(
                batch.to_pandas(), featurize, table.primary_keys, table.timestamp_key, label,
                stamp, source.numeric_columns,
            )  # fmt: skip
        return
    from mlrecipes.io.datasets import read_dataset

    raw = read_dataset(source, ctx.root, "features.source", ctx.download).reset_index(drop=True)
    for start in range(0, len(raw), cfg.batch_size):
        yield split_snapshot(
            raw.iloc[start : start + cfg.batch_size],
            featurize,
            table.primary_keys,
            table.timestamp_key,
            label,
            stamp,
            source.numeric_columns,
        )


def _write(
    store: Any, cfg: FeaturesConfig, batches: Any, label: str, complete: Set[str] = frozenset()
) -> dict[str, Any]:
    """Create the tables from the first batch if needed; stream features in one commit, then
    the labels in one commit. Snapshots in ``complete`` get the rows they miss."""
    import pyarrow as pa

    from mlrecipes.features.fingerprints import ROW_HASH

    table = cfg.feature_table
    first = next(batches, None)
    if first is None:
        raise DatasetError(f"steps.features.source: the data at {cfg.source.location} has no rows")
    features, labels = first
    label_batches: list[pa.RecordBatch] = []
    preview = features.head(20).drop(columns=[ROW_HASH])

    def feature_stream() -> Any:
        yield from pa.Table.from_pandas(features, preserve_index=False).to_batches()
        if labels is not None:
            label_batches.extend(pa.Table.from_pandas(labels, preserve_index=False).to_batches())
        for more, more_labels in batches:
            yield from pa.Table.from_pandas(more, preserve_index=False).to_batches()
            if more_labels is not None:
                label_batches.extend(
                    pa.Table.from_pandas(more_labels, preserve_index=False).to_batches()
                )

    schema = _table_schema(features)
    store.create_table(
        table.name, table.primary_keys, schema, table.timestamp_key, table.description
    )
    result = store.write_table(
        table.name,
        feature_stream(),
        schema_evolution=cfg.schema_evolution,
        skip_existing_snapshots=True,
        complete_snapshots=complete,
    )
    names, rows, skipped = [table.name], {table.name: result.rows}, list(result.skipped_snapshots)
    completed = {table.name: result.completed_snapshots} if result.completed_snapshots else {}
    fault_point("features.feature_table_committed")  # the labels are written by the next run
    if cfg.labels_table is not None:
        written = _write_labels(store, cfg, labels, label_batches, label, complete)
        names.append(cfg.labels_table.name)
        rows[cfg.labels_table.name] = written.rows
        if written.completed_snapshots:
            completed[cfg.labels_table.name] = written.completed_snapshots
    fault_point("features.tables_committed")  # the next run finds both snapshots: skipped
    return {
        "names": names, "rows": rows, "skipped": skipped, "completed": completed,
        "preview": preview,
    }  # fmt: skip


def _write_labels(
    store: Any, cfg: FeaturesConfig, labels: Any, batches: list[Any], label: str, complete: Set[str]
) -> Any:
    """The labels table's commit (created from the first batch's labels if needed)."""
    assert cfg.labels_table is not None
    table = cfg.feature_table
    if labels is None:
        raise DatasetError(
            f"steps.features.source has no label column '{label}' for the labels table "
            f"'{cfg.labels_table.name}'"
        )
    store.create_table(
        cfg.labels_table.name, table.primary_keys, _table_schema(labels), table.timestamp_key,
        f"labels ({label}) of {table.name}",
    )  # fmt: skip
    return store.write_table(
        cfg.labels_table.name, iter(batches), skip_existing_snapshots=True,
        complete_snapshots=complete,
    )  # fmt: skip


def _table_schema(frame: pd.DataFrame) -> Any:
    """The table's columns: the frame's without the source-row hash the write consumes."""
    import pyarrow as pa

    from mlrecipes.features.fingerprints import ROW_HASH

    schema = pa.Schema.from_pandas(frame.drop(columns=[ROW_HASH]), preserve_index=False)
    return schema.remove_metadata()


def _fill_card(card: Any, summary: dict[str, Any], preview: Any) -> None:
    import pandas as pd

    tables = pd.DataFrame(summary["tables"])
    tables["rows written now"] = [summary["rows_written"].get(n, 0) for n in tables["name"]]
    tab = card.tab("Feature Tables")
    tab.text(
        f"Feature store: {summary['feature_store']} ({summary['engine']} engine). Each run "
        "appends a snapshot; snapshots already in a table are skipped"
        + (
            f" ({', '.join(summary['skipped_snapshots'][:5])})."
            if summary["skipped_snapshots"]
            else "."
        )
    )
    for name, snapshots in summary["completed_snapshots"].items():
        said = ", ".join(f"{iso} (+{rows} rows)" for iso, rows in snapshots.items())
        tab.text(
            f"Delivered again with rows that were missing, now added to '{name}': {said}. The "
            "rows written before were delivered unchanged."
        )
    tab.table(tables.astype({"primary_keys": str}))
    card.tab("Feature Preview").rows(preview)
