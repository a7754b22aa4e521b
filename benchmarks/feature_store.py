"""Feature tables at scale, side by side in one run (each side in its own process, for its peak RSS):

1. Point-in-time training set: a 1,000,000-row spine against 12 monthly snapshots of 1,000,000
   customers (12M feature rows in a Delta table). Ours: ``create_training_set`` (reads the table
   from Delta, then the lookup). The floor: a bare script doing ``pandas.merge_asof`` on the same
   data already in memory (its sort included, its load not). Targets: wall time <= 1.5x, peak
   RSS <= 1.5x.
2. Writing a snapshot streams: ``write_table`` of a 12M-row snapshot against a 1M-row one,
   batches generated on the fly. Target: peak RSS at 12M <= 1.3x the peak at 1M.

Usage: python benchmarks/feature_store.py [--customers 1000000] [--months 12]
Writes its section of benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import cpu_model, markdown_table, write_section

HERE = Path(__file__).resolve().parent
TIME_TARGET, RSS_TARGET, STREAM_TARGET = 1.5, 1.5, 1.3

COMMON = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np, pandas as pd, pyarrow as pa

    def month_frame(customers, month, start=0):
        rng = np.random.default_rng(month * 7919 + start)
        ids = np.arange(start, start + customers)
        return pd.DataFrame({
            "customerID": pd.Series(ids).map("C{:08d}".format),
            "snapshot_date": pd.Timestamp("2025-01-31", tz="UTC") + pd.DateOffset(months=month),
            "tenure": (ids % 72 + month).astype("int64"),
            "MonthlyCharges": rng.uniform(18, 119, customers).round(2),
            "TotalCharges": rng.uniform(0, 8000, customers).round(2),
            "num_services": rng.integers(0, 9, customers),
            "charge_ratio": rng.normal(1, 0.1, customers),
        })

    def peak_mb():
        # VmHWM: Linux keeps ru_maxrss across fork and exec, so a child started by a large
        # parent would report the parent's peak
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    """
)

BUILD = COMMON + textwrap.dedent(
    """
    from mlrecipes.features.delta_store import DeltaFeatureStore
    root, customers, months = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = DeltaFeatureStore(root)
    first = month_frame(10, 0)
    schema = pa.Schema.from_pandas(first, preserve_index=False).remove_metadata()
    store.create_table("churn_features", ["customerID"], schema, "snapshot_date")
    for month in range(months):
        store.write_table("churn_features", month_frame(customers, month))
    rng = np.random.default_rng(1)
    spine = pd.DataFrame({
        "customerID": pd.Series(rng.integers(0, customers, customers)).map("C{:08d}".format),
        "at": pd.Timestamp("2025-01-15") + pd.to_timedelta(rng.integers(0, 30 * months, customers), unit="D"),
        "label": rng.integers(0, 2, customers),
    })
    spine.to_parquet(root + "/spine.parquet", index=False)
    print(json.dumps({"rows": store.info("churn_features").rows}))
    """
)

OURS = COMMON + textwrap.dedent(
    """
    from mlrecipes.features.delta_store import DeltaFeatureStore
    from mlrecipes.features.spec import FeatureLookup
    from mlrecipes.features.training_set import create_training_set
    root = sys.argv[1]
    spine = pd.read_parquet(root + "/spine.parquet")
    store = DeltaFeatureStore(root)
    t0 = time.perf_counter()
    result = create_training_set(
        store, spine, [FeatureLookup("churn_features", "customerID", "at")], "label")
    seconds = time.perf_counter() - t0
    frame = result.load_df()
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "rows": len(frame),
                      "checksum": float(frame["TotalCharges"].sum())}))
    """
)

BARE = COMMON + textwrap.dedent(
    """
    import pyarrow.dataset as ds
    from deltalake import DeltaTable
    root = sys.argv[1]
    spine = pd.read_parquet(root + "/spine.parquet")
    table = DeltaTable(root + "/churn_features").to_pyarrow_dataset().to_table().to_pandas()
    table["snapshot_date"] = table["snapshot_date"].dt.tz_localize(None).astype("datetime64[ns]")
    spine["at"] = spine["at"].astype("datetime64[ns]")
    t0 = time.perf_counter()
    frame = pd.merge_asof(
        spine.sort_values("at"), table.sort_values("snapshot_date"),
        left_on="at", right_on="snapshot_date", by="customerID", direction="backward")
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "rows": len(frame),
                      "checksum": float(frame["TotalCharges"].sum())}))
    """
)

WRITE = COMMON + textwrap.dedent(
    """
    from mlrecipes.features.delta_store import DeltaFeatureStore
    root, rows = sys.argv[1], int(sys.argv[2])
    store = DeltaFeatureStore(root)
    schema = pa.Schema.from_pandas(month_frame(10, 0), preserve_index=False).remove_metadata()
    store.create_table("snapshot", ["customerID"], schema, "snapshot_date")
    chunk = 500_000
    batches = (
        batch
        for start in range(0, rows, chunk)
        for batch in pa.Table.from_pandas(
            month_frame(min(chunk, rows - start), 0, start), preserve_index=False).to_batches()
    )
    t0 = time.perf_counter()
    result = store.write_table("snapshot", batches)
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mb": peak_mb(), "rows": result.rows}))
    """
)


def run(script: str, *args: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "store")
        built = run(BUILD, store, str(args.customers), str(args.months))
        bare, ours = run(BARE, store), run(OURS, store)
        if abs(bare["checksum"] - ours["checksum"]) > 1e-6 * abs(bare["checksum"]):
            raise RuntimeError(f"the two sides disagree: {bare} vs {ours}")
        small = run(WRITE, str(Path(tmp) / "w1"), str(args.customers))
        large = run(WRITE, str(Path(tmp) / "w12"), str(args.customers * args.months))
    time_ratio = ours["seconds"] / bare["seconds"]
    rss_ratio = ours["peak_mb"] / bare["peak_mb"]
    stream_ratio = large["peak_mb"] / small["peak_mb"]
    verdict = {
        "time": time_ratio <= TIME_TARGET,
        "rss": rss_ratio <= RSS_TARGET,
        "stream": stream_ratio <= STREAM_TARGET,
    }
    rows = [
        {"measure": f"point-in-time training set, {args.customers:,}-row spine vs {built['rows']:,} feature rows",
         "bare merge_asof": f"{bare['seconds']:.2f} s, {bare['peak_mb']:.0f} MB",
         "mlrecipes": f"{ours['seconds']:.2f} s, {ours['peak_mb']:.0f} MB",
         "ratio": f"time {time_ratio:.2f}x, RSS {rss_ratio:.2f}x",
         "target": f"<= {TIME_TARGET}x, <= {RSS_TARGET}x",
         "": "PASS" if verdict["time"] and verdict["rss"] else "FAIL"},
        {"measure": "write_table of one snapshot, streamed",
         "bare merge_asof": "",
         "mlrecipes": f"{small['rows']:,} rows: {small['peak_mb']:.0f} MB ({small['seconds']:.1f} s); "
                      f"{large['rows']:,} rows: {large['peak_mb']:.0f} MB ({large['seconds']:.1f} s)",
         "ratio": f"RSS {stream_ratio:.2f}x", "target": f"<= {STREAM_TARGET}x",
         "": "PASS" if verdict["stream"] else "FAIL"},
    ]  # fmt: skip
    table = markdown_table(rows, ["measure", "bare merge_asof", "mlrecipes", "ratio", "target", ""])
    report = (
        f"## Feature tables\n\nMeasured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by "
        "`benchmarks/feature_store.py` (`make bench`): each side in its own process (peak RSS is "
        "the process's), `OMP_NUM_THREADS=1`. mlrecipes' time includes reading the 12 snapshots "
        "from Delta; the bare script's starts with the data in memory.\n\n"
        f"Machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}.\n\n"
        f"{table}\n"
    )
    print(report)
    write_section(HERE / "results.md", "feature_store", report)
    return 0 if all(verdict.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
