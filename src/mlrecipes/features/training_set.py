"""Training sets by point-in-time lookup, and the same lookups rebuilt for scoring by key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from mlrecipes.errors import DatasetError
from mlrecipes.features.delta_store import DeltaFeatureStore, FeatureTableError
from mlrecipes.features.point_in_time import LookupResult, lookup_table
from mlrecipes.features.spec import FeatureLookup, FeatureSpec, TableRead
from mlrecipes.features.table_info import TableInfo


@dataclass
class TrainingSet:
    """The spine with its looked-up features (``load_df()``, Databricks' name) and the spec."""

    frame: pd.DataFrame
    feature_spec: FeatureSpec
    missing: dict[str, int] = field(default_factory=dict)  # table -> spine rows without a match

    def load_df(self) -> pd.DataFrame:
        return self.frame


def newest_snapshots(spine: pd.DataFrame, time: str, count: int) -> pd.DataFrame:
    """The rows of ``spine`` whose ``time`` is one of its ``count`` newest distinct values (the
    row order and index kept)."""
    stamps = pd.to_datetime(spine[time], utc=True)
    kept = stamps.drop_duplicates().nlargest(count)
    return spine[stamps.isin(kept).to_numpy()]


def create_training_set(
    store: DeltaFeatureStore,
    df: pd.DataFrame,
    feature_lookups: Sequence[FeatureLookup],
    label: str | None = None,
    exclude_columns: Sequence[str] = (),
    on_missing: str = "null",
    versions: dict[str, int] | None = None,
    spark: Any = None,
) -> TrainingSet:
    """``df`` (the spine: keys, timestamps, the label) plus every lookup's features, each spine
    row getting the latest snapshot at or before its ``timestamp_lookup_key``.

    Each table is read at one Delta version (its latest, or ``versions[table]``), recorded in
    the spec. A spine row without a snapshot gets nulls, counted in ``missing``, or is an error
    with ``on_missing="error"``. With a SparkSession the join runs on Spark
    (``features/spark.py``), with the same result."""
    if label is not None and label not in df.columns:
        raise DatasetError(f"the spine has no label column '{label}' (columns: {list(df.columns)})")
    frame = df
    reads: list[TableRead] = []
    missing: dict[str, int] = {}
    for item in feature_lookups:
        name = item.table_name
        info = store.info(name, (versions or {}).get(name))
        features, outputs, spine_time = _checked_lookup(item, info, frame)
        result = _joined(store, info, item, frame, features, outputs, spine_time, spark)
        if result.missing and on_missing == "error":
            raise DatasetError(
                f"lookup of '{name}': {result.missing} of {len(frame)} spine rows have no "
                f"snapshot at or before their time for keys {item.lookup_keys} (on_missing: error)"
            )
        missing[name] = result.missing
        frame = result.frame
        reads.append(
            TableRead(
                table=name,
                location=info.location,
                version=info.version,
                primary_keys=info.primary_keys,
                timestamp_key=info.timestamp_key,
                lookup_key=item.lookup_keys,
                timestamp_lookup_key=spine_time,
                features=features,
                outputs=outputs,
            )
        )
    spec = FeatureSpec(reads, list(df.columns), label, list(exclude_columns))
    frame = frame.drop(columns=[c for c in exclude_columns if c in frame.columns])
    return TrainingSet(_naive_utc(frame), spec, missing)


def _checked_lookup(
    item: FeatureLookup, info: TableInfo, frame: pd.DataFrame
) -> tuple[list[str], list[str], str | None]:
    """(features, their output names, the spine's time column) of one lookup, after checking
    that the table has the features and the spine the keys, time and room for the outputs."""
    name = item.table_name
    features = list(item.feature_names) if item.feature_names else info.feature_columns
    unknown = [f for f in features if f not in info.columns]
    if unknown:
        raise FeatureTableError(
            f"feature table '{name}' has no features {unknown}; it has {info.feature_columns}"
        )
    absent = [k for k in item.lookup_keys if k not in frame.columns]
    if absent:
        raise DatasetError(
            f"lookup of '{name}': lookup_key columns {absent} are not in the spine "
            f"(columns: {list(frame.columns)})"
        )
    spine_time = item.timestamp_lookup_key if info.timestamp_key else None
    if spine_time is not None and spine_time not in frame.columns:
        raise DatasetError(
            f"lookup of '{name}': timestamp_lookup_key '{spine_time}' is not a spine column"
        )
    outputs = [item.output_name(f) for f in features]
    clash = [o for o in outputs if o in frame.columns]
    if clash:
        raise DatasetError(
            f"lookup of '{name}': features {clash} would replace spine or earlier columns; "
            "rename them with rename_outputs"
        )
    if len(item.lookup_keys) != len(info.primary_keys):
        raise DatasetError(
            f"lookup of '{name}': lookup_key {item.lookup_keys} has {len(item.lookup_keys)} "
            f"columns; the table's primary keys {info.primary_keys} have {len(info.primary_keys)}"
        )
    return features, outputs, spine_time


def _joined(
    store: DeltaFeatureStore,
    info: TableInfo,
    item: FeatureLookup,
    frame: pd.DataFrame,
    features: list[str],
    outputs: list[str],
    spine_time: str | None,
    spark: Any,
) -> LookupResult:
    """The point-in-time join of one lookup, on Spark when a session is given."""
    if spark is not None:
        from mlrecipes.features.spark import point_in_time_with_spark

        joined, unmatched = point_in_time_with_spark(
            spark, frame, info.location, info.version, item.lookup_keys, info.primary_keys,
            features, outputs, spine_time, info.timestamp_key,
        )  # fmt: skip
        return LookupResult(joined, unmatched)
    # with a timestamp key, a lookup without a time takes each key's latest snapshot
    timed = [info.timestamp_key] if info.timestamp_key else []
    columns = list(dict.fromkeys([*info.primary_keys, *timed, *features]))
    table = store.read_arrow(item.table_name, version=info.version, columns=columns)
    try:
        return lookup_table(
            frame, table, item.lookup_keys, info.primary_keys, features, outputs,
            spine_time, info.timestamp_key,
        )  # fmt: skip
    except ValueError as exc:
        raise DatasetError(f"lookup of '{item.table_name}': {exc}") from exc


def _naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as naive UTC (Delta's are UTC-aware; MLflow's model signature takes naive)."""
    aware = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not aware:
        return frame
    return frame.assign(**{c: frame[c].dt.tz_convert("UTC").dt.tz_localize(None) for c in aware})


def features_for_keys(
    store: DeltaFeatureStore,
    keys: pd.DataFrame,
    spec: FeatureSpec,
    as_of: datetime | str | None = None,
) -> TrainingSet:
    """The model's inputs for a table of keys, by the model's own feature spec: the same tables
    and features, at their latest version; a time lookup uses the keys table's own timestamp
    column when it has one, else ``as_of`` (else the latest snapshot of each key)."""
    lookups = spec.lookups()
    # a keys table may carry more (a whole snapshot): what the lookups produce comes from the
    # feature tables, not from it
    produced = {item.output_name(f) for item in lookups for f in item.feature_names or []}
    spine = keys.drop(columns=[c for c in keys.columns if c in produced])
    # keys without a time are looked up as of ``as_of``, else now: the latest snapshot
    when = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now(tz="UTC").floor("s")
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    for item in lookups:
        column = item.timestamp_lookup_key
        if column and column not in spine.columns:
            spine[column] = when.tz_localize(None)
    result = create_training_set(store, spine, lookups, None, spec.exclude_columns)
    label = spec.label
    frame = result.frame.drop(columns=[label] if label and label in result.frame else [])
    return TrainingSet(frame, result.feature_spec, result.missing)
