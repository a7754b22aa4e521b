"""The Delta feature store: schema enforcement, one commit per write, conflicts named, and a
failed, killed or concurrent write never leaving a half-written version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from mlrecipes.features import FeatureEngineeringClient, FeatureLookup
from mlrecipes.features.delta_store import DeltaFeatureStore, FeatureTableError


def snapshot(month: str, ids: list[str], base: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customerID": ids,
            "snapshot_date": pd.Timestamp(month, tz="UTC"),
            "tenure": [int(base) + i for i in range(len(ids))],
            "charges": [base * 10 + i for i in range(len(ids))],
        }
    )


@pytest.fixture
def fe(tmp_path: Path) -> FeatureEngineeringClient:
    client = FeatureEngineeringClient(root=tmp_path / "store")
    client.create_table(
        "churn.features",
        primary_keys=["customerID"],
        timestamp_keys="snapshot_date",
        df=snapshot("2026-01-31", ["a", "b", "c"]),
    )
    return client


def test_snapshots_append_and_time_travel(fe: FeatureEngineeringClient) -> None:
    info = fe.get_table("churn.features")
    assert (info.version, info.rows, info.primary_keys) == (1, 3, ["customerID"])
    assert info.location.endswith(os.path.join("store", "churn", "features"))
    fe.write_table("churn.features", snapshot("2026-02-28", ["a", "b"], 2.0), mode="append")
    assert fe.get_table("churn.features").version == 2
    assert len(fe.read_table("churn.features")) == 5
    assert len(fe.read_table("churn.features", version=1)) == 3
    assert DeltaTable(info.location).version() == 2  # a real Delta table, readable by others


def test_a_changed_type_is_an_error_naming_the_column(fe: FeatureEngineeringClient) -> None:
    bad = snapshot("2026-02-28", ["a"]).assign(tenure=["twelve"])
    with pytest.raises(FeatureTableError, match=r"column type changed for 'tenure' \(int64"):
        fe.write_table("churn.features", bad, mode="append")
    assert fe.get_table("churn.features").version == 1


def test_a_new_column_needs_schema_evolution(fe: FeatureEngineeringClient) -> None:
    wider = snapshot("2026-02-28", ["a"]).assign(num_services=[3])
    with pytest.raises(
        FeatureTableError, match=r"new columns \['num_services'\].*schema_evolution"
    ):
        fe.write_table("churn.features", wider, mode="append")
    assert fe.get_table("churn.features").version == 1
    fe.write_table("churn.features", wider, mode="append", schema_evolution=True)
    table = fe.read_table("churn.features")
    assert "num_services" in table and table["num_services"].notna().sum() == 1


def test_the_same_snapshot_twice_is_a_conflict_or_skipped(fe: FeatureEngineeringClient) -> None:
    again = snapshot("2026-01-31", ["a", "b", "c"])
    with pytest.raises(FeatureTableError, match="already holds the snapshot 2026-01-31"):
        fe.write_table("churn.features", again, mode="append")
    result = fe.store.write_table("churn.features", again, skip_existing_snapshots=True)
    assert result.rows == 0 and result.version == 1 and result.skipped_snapshots


def test_merge_upserts_by_key_and_time(fe: FeatureEngineeringClient) -> None:
    fe.write_table("churn.features", snapshot("2026-01-31", ["a", "d"], 5.0), mode="merge")
    table = fe.read_table("churn.features").set_index("customerID")
    assert len(table) == 4 and table.loc["a", "tenure"] == 5 and table.loc["d", "tenure"] == 6


def test_repeated_keys_in_one_snapshot_are_refused(fe: FeatureEngineeringClient) -> None:
    with pytest.raises(FeatureTableError, match="repeat a primary key"):
        fe.write_table("churn.features", snapshot("2026-02-28", ["a", "a"]), mode="append")
    assert fe.get_table("churn.features").version == 1


def test_a_write_failing_midway_leaves_the_previous_version(fe: FeatureEngineeringClient) -> None:
    store: DeltaFeatureStore = fe.store
    location = Path(fe.get_table("churn.features").location)
    files_before = set(location.rglob("*.parquet"))

    def batches():
        frame = snapshot("2026-02-28", ["a", "b"])
        yield pa.RecordBatch.from_pandas(frame, preserve_index=False)
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        store.write_table("churn.features", batches())
    assert DeltaTable(str(location)).version() == 1
    assert set(location.rglob("*.parquet")) == files_before  # no orphan files either


def test_unknown_tables_and_bad_names_are_clear_errors(fe: FeatureEngineeringClient) -> None:
    with pytest.raises(FeatureTableError, match=r"'churn\.nope' does not exist"):
        fe.read_table("churn.nope")
    with pytest.raises(FeatureTableError, match="feature table name"):
        fe.get_table("../escape")


def test_training_set_from_the_client(fe: FeatureEngineeringClient) -> None:
    fe.write_table("churn.features", snapshot("2026-02-28", ["a", "b"], 2.0), mode="append")
    labels = pd.DataFrame(
        {"customerID": ["a", "b", "c", "z"], "at": ["2026-02-28", "2026-02-01", "2026-03-01", "2026-03-01"], "y": [1, 0, 1, 0]}
    )  # fmt: skip
    lookup = FeatureLookup("churn.features", "customerID", "at", rename_outputs={"tenure": "t"})
    training = fe.create_training_set(labels, [lookup], label="y", exclude_columns=["at"])
    frame = training.load_df()
    assert list(frame.columns) == ["customerID", "y", "t", "charges"]
    assert frame["t"].tolist()[:3] == [2.0, 2.0, 3.0]  # a: February; b: January (before Feb 28)
    assert training.missing == {"churn.features": 1}
    (read,) = training.feature_spec.tables
    assert read.version == 2 and read.outputs == ["t", "charges"]
    with pytest.raises(Exception, match="1 of 4 spine rows have no snapshot"):
        fe.create_training_set(labels, [lookup], label="y", on_missing="error")


WRITER = textwrap.dedent(
    """
    import sys, pandas as pd
    from mlrecipes.features.delta_store import DeltaFeatureStore
    root, month, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    frame = pd.DataFrame({"customerID": [f"c{i}" for i in range(rows)],
                          "snapshot_date": pd.Timestamp(month, tz="UTC"),
                          "tenure": range(rows), "charges": [1.0] * rows})
    print("WRITING", flush=True)
    try:
        result = DeltaFeatureStore(root).write_table("churn.features", frame)
        print("COMMITTED", result.version)
    except Exception as exc:
        print("REFUSED", exc)
    """
)


def _writer(root: Path, month: str, rows: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), month, str(rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_writers_of_one_snapshot_one_commits_the_other_is_told(
    fe: FeatureEngineeringClient, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    writers = [_writer(root, "2026-03-31", 20_000) for _ in range(2)]
    outputs = sorted(w.communicate(timeout=120)[0].split("WRITING")[1].strip() for w in writers)
    assert outputs[0].startswith("COMMITTED 2"), outputs
    assert outputs[1].startswith("REFUSED") and "already holds the snapshot" in outputs[1]
    assert fe.get_table("churn.features").rows == 3 + 20_000
    # writers of different snapshots both commit, one after the other
    writers = [_writer(root, m, 1000) for m in ("2026-04-30", "2026-05-31")]
    outputs = sorted(w.communicate(timeout=120)[0].split("WRITING")[1].strip() for w in writers)
    assert outputs == ["COMMITTED 3", "COMMITTED 4"]


@pytest.mark.slow
def test_a_killed_writer_leaves_the_table_at_its_previous_version(
    fe: FeatureEngineeringClient, tmp_path: Path
) -> None:
    location = fe.get_table("churn.features").location
    before = set(Path(location).rglob("*.parquet"))
    writer = _writer(tmp_path / "store", "2026-03-31", 3_000_000)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "WRITING"
    deadline = time.monotonic() + 60
    while not set(Path(location).rglob("*.parquet")) - before:  # a data file is being written
        assert time.monotonic() < deadline and writer.poll() is None, "no write in progress"
        time.sleep(0.02)
    assert writer.poll() is None, "the writer finished before it could be killed"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert DeltaTable(location).version() == 1
    assert len(DeltaTable(location).to_pandas()) == 3
    # and the next write commits normally on top
    fe.write_table("churn.features", snapshot("2026-03-31", ["a"]), mode="append")
    assert fe.get_table("churn.features").version == 2


def test_the_databricks_backend_needs_its_package() -> None:
    with pytest.raises(ImportError, match=r"mlrecipes\[databricks\]"):
        FeatureEngineeringClient(backend="databricks")


def test_key_hashes_tell_keys_apart_and_agree_on_equal_keys() -> None:
    import numpy as np

    from mlrecipes.features.fingerprints import key_hashes

    words = ["", "a", "b", "ab", "ba", "aa", "0001-ABCDE", "0001-ABCDF", "é", "e\u0301", None]
    batch = pa.RecordBatch.from_pydict(
        {
            "id": words * 2,
            "at": [pd.Timestamp("2026-01-31", tz="UTC")] * len(words)
            + [pd.Timestamp("2026-02-28", tz="UTC")] * len(words),
            "n": list(range(len(words))) * 2,
        }
    )
    by_id = key_hashes(batch, ["id"])
    assert np.array_equal(by_id[: len(words)], by_id[len(words) :])  # same text, same hash
    assert len(set(by_id[: len(words)].tolist())) == len(words)
    assert len(set(key_hashes(batch, ["id", "at"]).tolist())) == 2 * len(words)
    sliced = key_hashes(batch.slice(3, 5), ["id", "at"])  # offsets inside shared buffers
    assert np.array_equal(sliced, key_hashes(batch, ["id", "at"])[3:8])
    many = pa.RecordBatch.from_pydict({"id": [f"C{i:08d}" for i in range(200_000)]})
    assert len(np.unique(key_hashes(many, ["id"]))) == 200_000


def test_null_primary_keys_are_refused_in_frames_and_streams(fe: FeatureEngineeringClient) -> None:
    """As Databricks does: a row without its key cannot be looked up, and would be lost."""
    import pyarrow as pa

    nulls = snapshot("2026-02-28", ["a", None, None])
    for write in (
        lambda: fe.write_table("churn.features", nulls, mode="append"),
        lambda: fe.write_table("churn.features", nulls, mode="merge"),
        lambda: fe.store.write_table(
            "churn.features", iter(pa.Table.from_pandas(nulls, preserve_index=False).to_batches())
        ),
    ):
        with pytest.raises(FeatureTableError, match=r"may not be null .* 'customerID' \(2 rows\)"):
            write()
        assert fe.get_table("churn.features").version == 1
    no_time = snapshot("2026-02-28", ["x"]).assign(snapshot_date=pd.NaT)
    with pytest.raises(FeatureTableError, match=r"'snapshot_date' \(1 rows\)"):
        fe.write_table("churn.features", no_time, mode="append")


def test_a_creation_killed_between_table_and_metadata_is_completed(tmp_path: Path) -> None:
    # What a kill between the Delta commit and the metadata file left (before #31 the table came
    # first): an empty table at version 0, no metadata. Every later run refused it.
    from deltalake import write_deltalake

    store = DeltaFeatureStore(tmp_path / "store")
    schema = pa.Schema.from_pandas(snapshot("2026-01-31", ["a"]), preserve_index=False)
    schema = schema.remove_metadata()
    write_deltalake(str(store.path("churn.features")), schema.empty_table(), mode="error")
    assert store.tables() == [] and not store.exists("churn.features")
    info = store.create_table("churn.features", ["customerID"], schema, "snapshot_date")
    assert (info.version, info.rows, info.primary_keys) == (0, 0, ["customerID"])
    store.write_table("churn.features", snapshot("2026-01-31", ["a", "b"]))
    assert store.info("churn.features").rows == 2


def test_metadata_without_a_table_is_completed_and_not_listed(tmp_path: Path) -> None:
    # The other crash window (metadata written, table not yet): the next creation completes it.
    store = DeltaFeatureStore(tmp_path / "store")
    folder = store.path("churn.features")
    folder.mkdir(parents=True)
    (folder / "_mlrecipes_feature_table.json").write_text('{"primary_keys": ["customerID"]}')
    assert store.tables() == []
    schema = pa.Schema.from_pandas(snapshot("2026-01-31", ["a"]), preserve_index=False)
    info = store.create_table("churn.features", ["customerID"], schema, "snapshot_date")
    assert (info.version, info.timestamp_key) == (0, "snapshot_date")
    assert store.tables() == ["churn.features"]


def test_a_table_with_rows_but_no_metadata_or_data_without_a_log_is_refused(
    fe: FeatureEngineeringClient,
) -> None:
    store: DeltaFeatureStore = fe.store
    folder = Path(store.path("churn.features"))
    schema = pa.Schema.from_pandas(snapshot("2026-01-31", ["a"]), preserve_index=False)
    (folder / "_mlrecipes_feature_table.json").unlink()
    with pytest.raises(FeatureTableError) as info:
        store.create_table("churn.features", ["customerID"], schema, "snapshot_date")
    assert f"{folder} holds a Delta table (version 1, 3 rows" in str(info.value)
    assert "restore the file, or move the folder away" in str(info.value)
    import shutil

    shutil.rmtree(folder / "_delta_log")
    with pytest.raises(FeatureTableError, match=r"data file\(s\) but no _delta_log"):
        store.create_table("churn.features", ["customerID"], schema, "snapshot_date")
    assert list(folder.rglob("*.parquet"))  # nothing was removed or written over


def test_a_snapshot_delivered_again_is_completed_never_silently_skipped(tmp_path: Path) -> None:
    # #31, 9: a month's file first lands half uploaded; the complete file, same snapshot date,
    # used to be skipped as "already written", and half the customers never arrived.
    from mlrecipes.features.write_checks import SnapshotsRedelivered

    fe = FeatureEngineeringClient(root=tmp_path / "store")
    full = snapshot("2026-01-31", ["a", "b", "c", "d"])
    fe.create_table("t", primary_keys=["customerID"], timestamp_keys="snapshot_date", df=full[:2])
    store: DeltaFeatureStore = fe.store
    with pytest.raises(SnapshotsRedelivered) as info:
        store.write_table("t", full, skip_existing_snapshots=True)
    assert info.value.snapshots == ["2026-01-31T00:00:00+00:00"]
    assert "2026-01-31T00:00:00+00:00: 2 rows written, 4 delivered now" in str(info.value)
    assert store.info("t").version == 1  # nothing was written

    done = store.write_table(
        "t", full, skip_existing_snapshots=True, complete_snapshots=info.value.snapshots
    )
    assert (done.rows, done.completed_snapshots) == (2, {"2026-01-31T00:00:00+00:00": 2})
    assert sorted(fe.read_table("t")["customerID"]) == ["a", "b", "c", "d"]
    # the complete delivery is what is recorded now: again, in another order and other
    # batches, it is the same snapshot, skipped
    shuffled = pa.Table.from_pandas(full.iloc[::-1], preserve_index=False).to_batches(1)
    again = store.write_table("t", iter(shuffled), skip_existing_snapshots=True)
    assert (again.rows, again.skipped_snapshots) == (0, ["2026-01-31T00:00:00+00:00"])


def test_a_redelivery_that_changes_or_drops_written_rows_is_refused(tmp_path: Path) -> None:
    fe = FeatureEngineeringClient(root=tmp_path / "store")
    first = snapshot("2026-01-31", ["a", "b"])
    fe.create_table("t", primary_keys=["customerID"], timestamp_keys="snapshot_date", df=first)
    store: DeltaFeatureStore = fe.store
    stamp = ["2026-01-31T00:00:00+00:00"]
    changed = pd.concat([first.assign(charges=[10.0, 99.0]), snapshot("2026-01-31", ["c"])])
    with pytest.raises(FeatureTableError) as info:
        store.write_table("t", changed, skip_existing_snapshots=True, complete_snapshots=stamp)
    assert "the snapshot 2026-01-31T00:00:00+00:00 was delivered again and changes rows" in str(
        info.value
    )
    assert "DELETE WHERE snapshot_date = '2026-01-31T00:00:00+00:00'" in str(info.value)
    fewer = pd.concat([first[:1], snapshot("2026-01-31", ["c"])])
    with pytest.raises(FeatureTableError, match=r"lacks 1 of the 2 rows written from it"):
        store.write_table("t", fewer, skip_existing_snapshots=True, complete_snapshots=stamp)
    assert store.info("t").version == 1 and len(fe.read_table("t")) == 2


def test_prints_are_independent_of_row_and_column_order(tmp_path: Path) -> None:
    from mlrecipes.features.fingerprints import prints_of, source_row_hashes

    raw = pd.DataFrame({"id": ["a", "b", "c"], "x": [1.0, 2.0, None], "y": ["u", "v", "w"]})
    hashes = source_row_hashes(raw)
    ids = pd.Series([7, 7, 7]).to_numpy()
    whole = prints_of(ids, hashes)[7]
    reordered = source_row_hashes(raw.iloc[[2, 0, 1]][["y", "id", "x"]])
    assert prints_of(ids, reordered)[7] == whole
    assert prints_of(ids, source_row_hashes(raw.assign(x=[1.0, 2.5, None])))[7] != whole
    assert whole.rows == 3


def test_a_row_hashes_alike_however_a_reader_typed_its_columns() -> None:
    # A CSV folder read whole types a column by all its files: TotalCharges is text in a month
    # with blanks and float in one without. The same rows must keep the same print (the demo's
    # second month made its first look redelivered before this).
    from mlrecipes.features.fingerprints import source_row_hashes

    as_text = pd.DataFrame({"id": ["x", "y"], "t": [1, 2], "c": ["29.85", " "]})
    as_numbers = pd.DataFrame({"id": ["x", "y"], "t": [1.0, 2.0], "c": [29.85, None]})
    mixed = pd.DataFrame({"id": ["x", "y"], "t": ["1", "2"], "c": [29.85, None]}, dtype=object)
    expected = source_row_hashes(as_text).tolist()
    assert source_row_hashes(as_numbers).tolist() == expected
    assert source_row_hashes(mixed).tolist() == expected
    assert source_row_hashes(as_text.assign(c=["29.86", " "])).tolist()[0] != expected[0]
