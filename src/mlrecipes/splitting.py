"""Deterministic train/validation/test assignment (pure functions over DataFrames).

Reproduces MLflow Recipes' hash split so existing splits stay the same: each row's
``hash_pandas_object`` (index included) modulo 1000 picks its bucket; classification stratifies
by running the procedure per class in ``np.unique`` order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRAIN, VALIDATION, TEST = "TRAINING", "VALIDATION", "TEST"
SPLIT_VALUES = (TRAIN, VALIDATION, TEST)


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, np.ndarray):
        return (value.shape, tuple(value.flatten().tolist()))
    return value


def _make_hashable(df: pd.DataFrame) -> pd.DataFrame:
    object_cols = [c for c in df.columns if df[c].dtype == object]
    if not object_cols:
        return df
    out = df.copy()
    for col in object_cols:
        if out[col].map(lambda v: isinstance(v, list | dict | np.ndarray)).any():
            out[col] = out[col].map(_hashable)
    return out


def hash_buckets(df: pd.DataFrame) -> np.ndarray:
    hashes = pd.util.hash_pandas_object(_make_hashable(df))
    return (hashes.to_numpy() % 1000) / 1000.0


def assign_by_ratios(buckets: np.ndarray, ratios: list[float]) -> np.ndarray:
    total = float(sum(ratios))
    train_cut = ratios[0] / total
    val_cut = (ratios[0] + ratios[1]) / total
    return np.where(buckets < train_cut, TRAIN, np.where(buckets < val_cut, VALIDATION, TEST))


def ratio_split(df: pd.DataFrame, target: str, ratios: list[float], stratify: bool) -> pd.Series:
    """A Series of TRAINING/VALIDATION/TEST aligned on ``df.index``."""
    if not stratify:
        return pd.Series(assign_by_ratios(hash_buckets(df), ratios), index=df.index)
    parts = []
    for value in np.unique(df[target].to_numpy()):
        group = df[df[target] == value]
        parts.append(pd.Series(assign_by_ratios(hash_buckets(group), ratios), index=group.index))
    return pd.concat(parts).reindex(df.index)


def partition(
    df: pd.DataFrame, assignment: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return tuple(  # type: ignore[return-value]
        df[assignment == value].reset_index(drop=True) for value in SPLIT_VALUES
    )


def drifting_columns(
    train: pd.DataFrame, other: pd.DataFrame, threshold: float = 0.1
) -> list[tuple[str, str, float]]:
    """Columns whose distribution differs between two splits.

    Numeric: two-sample Kolmogorov-Smirnov statistic; categorical: total variation distance of the
    level shares. Returns (column, measure, value) above ``threshold``, largest first.
    """
    found = []
    for col in train.columns:
        a, b = train[col].dropna(), other[col].dropna()
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
