"""One batch of a source table as feature rows and label rows: the featurization contract both
engines of the features step share (pure: frames in, frames out)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from mlrecipes.errors import DatasetError
from mlrecipes.features.fingerprints import ROW_HASH, source_row_hashes
from mlrecipes.modeling.data_checks import check_declared_numeric


def split_snapshot(
    raw: pd.DataFrame,
    featurize: Any,
    keys: list[str],
    timestamp_key: str,
    label: str | None,
    stamp: datetime,
    numeric_columns: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """One batch of the source as (feature rows, label rows), each with keys, the snapshot
    time (the source's own column, else ``stamp``) and its source row's hash (``ROW_HASH``,
    dropped by the write). Pure: both engines call it (Spark first on
    the driver, on a sample, so a column delivered as words fails there in one clear line)."""
    check_declared_numeric(raw, list(numeric_columns), "steps.features.source")
    missing = [k for k in keys if k not in raw.columns]
    if missing:
        raise DatasetError(
            f"steps.features.source: primary key columns {missing} are not in the data "
            f"(columns: {list(raw.columns)})"
        )
    if timestamp_key in raw.columns:
        times = pd.to_datetime(raw[timestamp_key], utc=True, format="mixed")
        if times.isna().any():
            raise DatasetError(
                f"steps.features.source: column '{timestamp_key}' has "
                f"{int(times.isna().sum())} empty or unreadable timestamps"
            )
    else:
        times = pd.Series(pd.Timestamp(stamp), index=raw.index)
    source = source_row_hashes(raw)  # each row's print: a redelivered snapshot is told apart
    labels = None
    if label is not None and label in raw.columns:
        labels = raw[keys].assign(**{timestamp_key: times, label: raw[label], ROW_HASH: source})
    inputs = raw.drop(columns=[c for c in (label, timestamp_key) if c and c in raw.columns])
    features = featurize(inputs.reset_index(drop=True))
    features = features.drop(columns=[timestamp_key], errors="ignore")
    features.insert(len(keys), timestamp_key, times.to_numpy())
    ordered = [
        *keys,
        timestamp_key,
        *[c for c in features.columns if c not in (*keys, timestamp_key, ROW_HASH)],
    ]
    features = features[ordered].assign(**{ROW_HASH: source})
    return features, labels.reset_index(drop=True) if labels is not None else None
