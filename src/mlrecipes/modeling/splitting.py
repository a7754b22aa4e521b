"""Deterministic train/validation/test assignment (pure functions over DataFrames).

Reproduces MLflow Recipes' hash split, so a recipe's rows land in the same split under both
engines: each row's ``hash_pandas_object`` (index included) modulo 1000 picks its bucket, and
classification stratifies by running the procedure per class in ``np.unique`` order, the
training rows then grouped class by class as MLflow Recipes concatenated them.

MLflow Recipes hashed ``df.map(make_hashable)`` computed on row chunks (10 chunks, 2 per class
when stratified), and ``map`` re-infers each column's type: ``datetime64[us]`` from parquet
becomes nanoseconds, ``int32`` becomes ``int64``, ``float32`` becomes ``float64``, object columns
of numbers and nulls become floats. Hashes depend on those types, so :func:`hash_ready` applies
the same conversions; for the common column types without calling Python per value (``map``
over every cell took most of a split's time), and with the chunked ``map`` itself otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRAIN, VALIDATION, TEST = "TRAINING", "VALIDATION", "TEST"
SPLIT_VALUES = (TRAIN, VALIDATION, TEST)
HASH_CHUNKS = 10  # MLflow Recipes' _NUM_DEFAULT_CPUS: the chunks its map ran on
HASH_CHUNKS_PER_CLASS = 2


def make_hashable(value):
    """MLflow Recipes' ``_make_elem_hashable``: containers become tuples."""
    if isinstance(value, list):
        return tuple(make_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple((make_hashable(k), make_hashable(v)) for k, v in value.items())
    if isinstance(value, np.ndarray):
        return value.shape, tuple(value.flatten(order="C"))
    return value


def _as_mapped(column: pd.Series, chunks: int) -> pd.Series:
    """``column`` as MLflow Recipes' chunked ``map`` left it (same values, re-inferred type)."""
    dtype = column.dtype
    if dtype.kind == "M":
        return column.dt.as_unit("ns")
    if dtype.kind == "m":
        return column.dt.as_unit("ns")
    if isinstance(dtype, np.dtype):
        if dtype in (np.int64, np.float64, np.bool_):
            return column
        if dtype.kind in "iu" and dtype.itemsize < 8:
            return column.astype(np.int64)
        if dtype.kind == "f" and dtype.itemsize < 8:
            return column.astype(np.float64)
        if dtype.kind == "O" and pd.api.types.infer_dtype(column, skipna=True) in (
            "string",
            "empty",
        ):
            return column
    elif isinstance(dtype, pd.CategoricalDtype):
        return column
    parts = np.array_split(np.arange(len(column)), chunks)
    return pd.concat([column.iloc[rows].map(make_hashable) for rows in parts])


def hash_ready(df: pd.DataFrame, chunks: int = HASH_CHUNKS) -> pd.DataFrame:
    converted = {c: _as_mapped(df[c], chunks) for c in df.columns}
    if all(converted[c] is df[c] for c in df.columns):
        return df
    return pd.DataFrame(converted, index=df.index)


def hash_buckets(df: pd.DataFrame, chunks: int = HASH_CHUNKS) -> np.ndarray:
    hashes = pd.util.hash_pandas_object(hash_ready(df, chunks))
    return (hashes.to_numpy() % 1000) / 1000.0


def assign_by_ratios(buckets: np.ndarray, ratios: list[float]) -> np.ndarray:
    total = float(sum(ratios))
    train_cut = ratios[0] / total
    val_cut = (ratios[0] + ratios[1]) / total
    return np.where(buckets < train_cut, TRAIN, np.where(buckets < val_cut, VALIDATION, TEST))


def ratio_split(df: pd.DataFrame, target: str, ratios: list[float], stratify: bool) -> pd.Series:
    """A Series of TRAINING/VALIDATION/TEST aligned on ``df``'s rows (positions, as ``df``).

    Stratified, the Series lists the rows class by class (``np.unique`` order), each class in
    its original order: the order MLflow Recipes' splits had, which order-sensitive estimators
    (SGD) train in.
    """
    positions = pd.RangeIndex(len(df))
    if not stratify:
        return pd.Series(assign_by_ratios(hash_buckets(df), ratios), index=positions)
    parts = []
    labels = df[target].to_numpy()
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        group = df.iloc[rows]
        buckets = hash_buckets(group, HASH_CHUNKS_PER_CLASS)
        parts.append(pd.Series(assign_by_ratios(buckets, ratios), index=positions[rows]))
    return pd.concat(parts)


def group_split(df: pd.DataFrame, columns: list[str], ratios: list[float]) -> pd.Series:
    """Splits by group (new in mlrecipes): each row's bucket hashes only ``columns`` (as text,
    no index), so every row of a group (a customer's monthly snapshots) lands in the same split,
    and stays there when the data grows: a retrained challenger's test rows are rows the
    champion never trained on."""
    text = df[columns].astype("string").fillna("\x00<NA>")
    buckets = (pd.util.hash_pandas_object(text, index=False).to_numpy() % 1000) / 1000.0
    return pd.Series(assign_by_ratios(buckets, ratios), index=pd.RangeIndex(len(df)))


def partition(
    df: pd.DataFrame, assignment: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three splits, rows in ``assignment``'s order (its index holds row positions)."""
    return tuple(  # type: ignore[return-value]
        df.iloc[assignment.index[assignment.to_numpy() == value]].reset_index(drop=True)
        for value in SPLIT_VALUES
    )


def drifting_columns(
    train: pd.DataFrame, other: pd.DataFrame, threshold: float = 0.1
) -> list[tuple[str, str, float]]:
    """Columns whose distribution differs between two splits.

    Numeric (numbers stored as text included): two-sample Kolmogorov-Smirnov statistic;
    categorical: total variation distance of the level shares. Identifier columns (a distinct
    text value per row) are not compared. Returns (column, measure, value) above
    ``threshold``, largest first.
    """
    from mlrecipes.modeling.data_checks import is_identifier, numbers_in_text

    found = []
    for col in train.columns:
        if is_identifier(train[col]):
            continue  # an id has a new value in every row: every split "differs"
        a, b = train[col], other[col]
        numbers_a, numbers_b = numbers_in_text(a), numbers_in_text(b)
        if numbers_a is not None and numbers_b is not None:
            a, b = numbers_a, numbers_b  # numbers stored as text are compared as numbers
        a, b = a.dropna(), b.dropna()
        if a.empty or b.empty:
            continue
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            value = ks_statistic(a.to_numpy(float), b.to_numpy(float))
            measure = "KS statistic"
        else:
            pa = a.astype(str).value_counts(normalize=True)
            pb = b.astype(str).value_counts(normalize=True)
            value = float(0.5 * pa.subtract(pb, fill_value=0).abs().sum())
            measure = "total variation"
        if value > threshold:
            found.append((str(col), measure, round(value, 4)))
    return sorted(found, key=lambda t: -t[2])


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))
