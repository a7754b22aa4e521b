from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlrecipes.splitting import drifting_columns, hash_buckets, partition, ratio_split


def frame(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "c": rng.choice(["a", "b"], n),
            "y": rng.choice(["p", "n"], n, p=[0.2, 0.8]),
        }
    )


def test_split_is_deterministic_and_close_to_ratios() -> None:
    df = frame()
    first = ratio_split(df, "y", [0.75, 0.125, 0.125], stratify=True)
    second = ratio_split(df.copy(), "y", [0.75, 0.125, 0.125], stratify=True)
    assert first.equals(second)
    shares = first.value_counts(normalize=True)
    assert abs(shares["TRAINING"] - 0.75) < 0.03 and abs(shares["TEST"] - 0.125) < 0.03


def test_stratification_keeps_class_balance_per_split() -> None:
    df = frame()
    train, val, test = partition(df, ratio_split(df, "y", [0.6, 0.2, 0.2], stratify=True))
    for part in (train, val, test):
        assert abs((part["y"] == "p").mean() - (df["y"] == "p").mean()) < 0.03


def test_ratios_are_normalised() -> None:
    df = frame()
    a = ratio_split(df, "y", [0.75, 0.125, 0.125], stratify=False)
    b = ratio_split(df, "y", [6, 1, 1], stratify=False)
    assert a.equals(b)


def test_row_assignment_depends_on_content_and_index_like_mlflow_recipes() -> None:
    df = frame(50)
    buckets = hash_buckets(df)
    expected = (pd.util.hash_pandas_object(df).to_numpy() % 1000) / 1000
    assert np.allclose(buckets, expected)
    shifted = df.set_axis(df.index + 1)
    assert not np.allclose(hash_buckets(shifted), buckets)


def test_unhashable_cells_are_hashed() -> None:
    df = pd.DataFrame({"tags": [["a", "b"], ["c"], {"k": 1}, np.arange(3)], "y": [1, 2, 3, 4]})
    assert len(hash_buckets(df)) == 4


def test_drift_detects_a_shifted_column() -> None:
    train = frame(2000, 1)
    other = frame(2000, 2)
    other["x"] = other["x"] + 2
    found = {c for c, _, _ in drifting_columns(train, other)}
    assert "x" in found and "c" not in found


def test_ks_statistic_matches_scipy() -> None:
    from scipy.stats import ks_2samp

    from mlrecipes.splitting import ks_statistic

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=500), rng.normal(0.3, 1.2, size=300)
    assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic)
    ints = rng.integers(0, 5, 400).astype(float)
    assert ks_statistic(ints, ints[:200]) == pytest.approx(ks_2samp(ints, ints[:200]).statistic)
