"""Point-in-time lookups: the latest snapshot at or before each spine row's time, never a later
one (property-style, over many random timestamps), checked against a brute-force answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlrecipes.features.point_in_time import lookup


def _snapshots(rng: np.random.Generator, keys: int, rows: int) -> pd.DataFrame:
    days = rng.choice(np.arange(0, 400), size=rows)
    frame = pd.DataFrame(
        {
            "id": rng.integers(0, keys, size=rows).astype(str),
            "at": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(days, unit="D"),
        }
    ).drop_duplicates(["id", "at"])
    # the feature value encodes its own snapshot time, so a leak is visible in the value
    frame["value"] = frame["at"].astype("int64") // 10**9
    return frame.reset_index(drop=True)


def _brute_force(spine: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    out = []
    for key, when in zip(spine["cid"], pd.to_datetime(spine["when"], utc=True), strict=True):
        candidates = table[(table["id"] == key) & (table["at"] <= when)]
        out.append(candidates.sort_values("at")["value"].iloc[-1] if len(candidates) else np.nan)
    return pd.Series(out, index=spine.index, dtype=float)


@pytest.mark.parametrize("seed", range(8))
def test_no_feature_from_after_the_spine_time_ever_leaks(seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = _snapshots(rng, keys=30, rows=400)
    days = rng.integers(-30, 430, size=300)
    spine = pd.DataFrame(
        {
            "cid": rng.integers(0, 35, size=300).astype(str),  # some keys have no snapshot at all
            # text timestamps, as a CSV spine holds them
            "when": (pd.Timestamp("2026-01-01") + pd.to_timedelta(days, unit="D")).astype(str),
            "label": rng.integers(0, 2, size=300),
        },
        index=rng.permutation(np.arange(1000, 1300)),  # an index of its own, kept
    )
    result = lookup(spine, table, ["cid"], ["id"], ["value"], ["value"], "when", "at")
    got = result.frame
    assert list(got.index) == list(spine.index) and list(got["cid"]) == list(spine["cid"])
    when_s = pd.to_datetime(spine["when"], utc=True).astype("int64") // 10**9
    found = got["value"].notna()
    assert (got.loc[found, "value"] <= when_s[found]).all(), "a later snapshot leaked in"
    expected = _brute_force(spine, table)
    assert np.array_equal(got["value"].to_numpy(dtype=float), expected.to_numpy(), equal_nan=True)
    assert result.missing == int(expected.isna().sum())


def test_a_snapshot_at_exactly_the_spine_time_is_used() -> None:
    table = pd.DataFrame(
        {
            "id": ["a", "a"],
            "at": pd.to_datetime(["2026-01-31", "2026-02-28"], utc=True),
            "v": [1, 2],
        }
    )
    spine = pd.DataFrame({"id": ["a", "a", "a"], "t": ["2026-01-30", "2026-02-28", "2026-03-01"]})
    got = lookup(spine, table, ["id"], ["id"], ["v"], ["v"], "t", "at")
    assert got.frame["v"].tolist()[1:] == [2.0, 2.0] and np.isnan(got.frame["v"].iloc[0])
    assert got.missing == 1


def test_without_a_time_each_key_gets_its_latest_snapshot_and_renames_apply() -> None:
    table = pd.DataFrame(
        {
            "id": [1, 1, 2],
            "at": pd.to_datetime(["2026-01-31", "2026-02-28", "2026-01-31"], utc=True),
            "v": [1.0, 2.0, 3.0],
        }
    )
    spine = pd.DataFrame({"key": ["2", "1", "3"]})  # text keys match integer keys
    got = lookup(spine, table, ["key"], ["id"], ["v"], ["latest_v"], None, "at")
    assert got.frame["latest_v"].tolist()[:2] == [3.0, 2.0] and got.missing == 1
    assert got.frame["key"].tolist() == ["2", "1", "3"]


def test_a_row_found_with_empty_features_is_not_counted_missing() -> None:
    table = pd.DataFrame({"id": ["a"], "v": [np.nan]})
    got = lookup(pd.DataFrame({"id": ["a", "b"]}), table, ["id"], ["id"], ["v"], ["v"])
    assert got.missing == 1


def test_key_count_must_match_and_times_must_parse() -> None:
    table = pd.DataFrame({"id": ["a"], "at": pd.to_datetime(["2026-01-01"], utc=True), "v": [1]})
    with pytest.raises(ValueError, match="lookup_key"):
        lookup(pd.DataFrame({"id": ["a"]}), table, ["id", "x"], ["id"], ["v"], ["v"])
    with pytest.raises(ValueError, match="empty timestamps"):
        spine = pd.DataFrame({"id": ["a"], "t": [None]})
        lookup(spine, table, ["id"], ["id"], ["v"], ["v"], "t", "at")


@pytest.mark.parametrize("seed", range(4))
def test_the_arrow_lookup_gives_the_pandas_answer(seed: int) -> None:
    import pyarrow as pa

    from mlrecipes.features.point_in_time import lookup_table

    rng = np.random.default_rng(seed)
    table = _snapshots(rng, keys=30, rows=400)
    table.loc[table.index[:5], "id"] = None  # empty keys never match anything
    spine = pd.DataFrame(
        {
            "cid": rng.integers(0, 35, size=300).astype(str),
            "when": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(-30, 430, 300), "D"),
        }
    )
    spine.loc[3, "cid"] = None
    expected = lookup(spine, table, ["cid"], ["id"], ["value"], ["v"], "when", "at")
    got = lookup_table(
        spine, pa.Table.from_pandas(table), ["cid"], ["id"], ["value"], ["v"], "when", "at"
    )
    pd.testing.assert_frame_equal(got.frame, expected.frame)
    assert got.missing == expected.missing


def test_lookups_match_keys_by_the_loops_one_rule() -> None:
    import pyarrow as pa

    from mlrecipes.features.point_in_time import lookup_table
    from mlrecipes.stats.keys import arrow_normalised_key, normalised_key

    table = pa.table({"customerID": ["7590-VHVEG", "0042", "b"], "tenure": [1, 2, 3]})
    spine = pd.DataFrame({"id": [" 7590-vhveg ", "42", "B", "c"]})
    found = lookup_table(spine, table, ["id"], ["customerID"], ["tenure"], ["tenure"])
    assert found.frame["tenure"].tolist()[:3] == [1, 2, 3] and found.missing == 1
    assert found.frame["id"].tolist() == spine["id"].tolist()  # the spine keeps its spelling
    values = pd.Series([" 0042 ", "AbC", "000", None, "0x1"])
    expected = ["42", "abc", "0", None, "0x1"]
    assert arrow_normalised_key(pa.array(values)).to_pylist() == expected
    assert normalised_key(values).astype(object).where(values.notna(), None).tolist() == expected
