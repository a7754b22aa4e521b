"""The Spark engines at scale, side by side in one run: batch scoring and monitoring of one
10M-row window by the pandas engine, Spark ``local[2]`` and a standalone cluster (a master and two
one-core workers, each a JVM of its own, on 127.0.0.1); and the point-in-time join of a 1M-row
spine against 12M feature rows (Delta) on the cluster, against the pandas engine.

Each measurement runs in its own process; time is the engine's per step, driver peak RSS is that
Python process's peak (VmHWM) reset when the step starts. The driver's JVM (a child process of
classic PySpark) and the executors' JVMs and Python workers are processes of their own, not
counted. A 2-core machine cannot show a cluster's speed-up: two one-core
workers share the cores the driver also needs; what it shows is that the work runs there, the
rows stay on the executors (driver memory), and what the distribution costs.
Usage: python benchmarks/spark_scale.py [--rows 10000000] [--customers 1000000] [--months 12]
Writes its section of benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feature_store import BUILD, COMMON, OURS
from feature_store import run as run_script
from monitoring import _variables, step
from report import cpu_model, markdown_table, write_section
from scoring import train

HERE = Path(__file__).resolve().parent

SPARK_PIT = COMMON + textwrap.dedent(
    """
    from deltalake import DeltaTable
    from mlrecipes.features.spark import point_in_time_with_spark
    from mlrecipes.io.sources import SparkConfig
    from mlrecipes.io.spark import spark_session
    root = sys.argv[1]
    spine = pd.read_parquet(root + "/spine.parquet")
    spark = spark_session(SparkConfig(conf={"spark.executor.memory": "1500m"}), "bench-pit")
    location = root + "/churn_features"
    columns = ["tenure", "MonthlyCharges", "TotalCharges", "num_services", "charge_ratio"]
    t0 = time.perf_counter()
    frame, missing = point_in_time_with_spark(
        spark, spine, location, DeltaTable(location).version(), ["customerID"], ["customerID"],
        columns, columns, "at", "snapshot_date")
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "rows": len(frame),
                      "checksum": float(frame["TotalCharges"].sum())}))
    """
)


def window(root: Path, data: Path, rows: int, engine: str) -> dict:
    """Child process: ingest_scoring, predict and monitor of ``data`` with ``engine``, into
    tables of this back end's own."""
    base = _variables(root, data, rows)
    slug = os.environ.get("BENCH_BACKEND", engine)
    found = step(root, data, rows, {
        "SCORING_ENGINE": engine,
        "SCORING_OUTPUT_LOCATION": f"{base['SCORING_OUTPUT_LOCATION']}-{slug}",
        "MONITORING_TABLE_LOCATION": f"{base['MONITORING_TABLE_LOCATION']}-{slug}",
    })  # fmt: skip
    return {**found, "alerts": sorted(found["alert_lines"])}


def child_window(
    root: Path, data: Path, rows: int, backend: str, slug: str, env: dict[str, str]
) -> dict:
    engine = "pandas" if backend == "pandas" else "spark"
    full_env = {**os.environ, **env, "OMP_NUM_THREADS": "1", "BENCH_BACKEND": slug}
    args = [sys.executable, __file__, "--child", str(root), str(data), str(rows), engine]
    out = subprocess.run(args, capture_output=True, text=True, env=full_env, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{backend}, {rows:,} rows failed:\n{out.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def pit(root: Path, script: str, env: dict[str, str]) -> dict:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return run_script(script, str(root))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        root, data, rows, engine = args.child
        print("RESULT", json.dumps(window(Path(root), Path(data), int(rows), engine)))
        return 0
    from mlrecipes.demo.spark_servers import standalone_cluster
    from mlrecipes.sample_data.telco import write_sample_parquet_in_chunks

    work = Path(tempfile.mkdtemp(prefix="mlrecipes-bench-spark-"))
    windows, joins = [], []
    try:
        with ExitStack() as stack:
            cluster = stack.enter_context(standalone_cluster(work / "cluster", memory="3g"))
            backends = {
                "pandas": {},
                "spark local[2]": {"MLRECIPES_SPARK_MASTER": "local[2]"},
                "spark standalone (2 workers x 1 core)": {"MLRECIPES_SPARK_MASTER": cluster},
            }
            root = train(work)
            data = write_sample_parquet_in_chunks(work / "window.parquet", args.rows, seed=1000)
            for number, (name, env) in enumerate(backends.items()):
                found = child_window(root, data, args.rows, name, f"b{number}", env)
                if found["rows_scored"] != args.rows or found["rows_monitored"] != args.rows:
                    raise RuntimeError(f"{name}: {found}")
                windows.append({"back end": name, **found})
                print(f"{name}: predict {found['predict']['seconds']:.1f} s, "
                      f"monitor {found['monitor']['seconds']:.1f} s", flush=True)  # fmt: skip
            data.unlink()
            store = work / "store"
            built = run_script(BUILD, str(store), str(args.customers), str(args.months))
            print(f"feature table: {built['rows']:,} rows", flush=True)
            for name, script, env in (
                ("pandas engine (create_training_set)", OURS, {}),
                ("spark standalone (2 workers x 1 core)", SPARK_PIT, {"MLRECIPES_SPARK_MASTER": cluster}),
            ):  # fmt: skip
                found = pit(store, script, env)
                joins.append({"engine": name, **found})
                print(f"{name}: {found['seconds']:.1f} s, {found['peak_mb']:.0f} MB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    same_alerts = len({json.dumps(w["alerts"]) for w in windows}) == 1
    same_join = len({(j["rows"], round(j["checksum"], 2)) for j in joins}) == 1
    window_rows = [
        {
            "back end": w["back end"],
            "predict (s)": w["predict"]["seconds"],
            "predict driver peak (MB)": w["predict"]["peak_rss_mb"],
            "monitor (s)": w["monitor"]["seconds"],
            "monitor driver peak (MB)": w["monitor"]["peak_rss_mb"],
        }
        for w in windows
    ]
    join_rows = [
        {"engine": j["engine"], "seconds": j["seconds"], "peak RSS (MB)": j["peak_mb"],
         "rows": f"{j['rows']:,}"}
        for j in joins
    ]  # fmt: skip
    body = "\n\n".join([
        "## Spark past one machine (`benchmarks/spark_scale.py`)",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {cpu_model()} "
        f"({os.cpu_count()} cores, {platform.machine()}), `OMP_NUM_THREADS=1`, each "
        "measurement in its own process; the cluster is a standalone master and two one-core "
        "workers (3 GB each) on 127.0.0.1, started from the installed pyspark.",
        f"One window of {args.rows:,} generated rows: ingest_scoring, predict, monitor "
        "(driver peak: the Python driver process's peak, reset when the step starts; its JVM "
        "and the executors are other processes).",
        markdown_table(window_rows, list(window_rows[0]), ".1f"),
        f"Every back end scored and monitored all {args.rows:,} rows; the windows' alerts were "
        + ("the same." if same_alerts else "NOT the same: " + "; ".join(
            f"{w['back end']}: {w['alerts']}" for w in windows)),
        f"Point-in-time training set: a {args.customers:,}-row spine against "
        f"{args.customers * args.months:,} feature rows (Delta, {args.months} snapshots).",
        markdown_table(join_rows, list(join_rows[0]), ".1f"),
        "Both joins returned the same rows and feature sums." if same_join
        else "The joins DIFFER: " + json.dumps(joins),
        "What a 2-core box can and cannot show: the two workers and the driver share two "
        "cores, so the cluster cannot be faster than local[2] here; it shows the work done in "
        "executors of their own (other JVMs and Python workers), the driver's memory staying "
        "flat while the rows stay there, and the cost of shipping the model and the rows "
        "between processes.",
    ])  # fmt: skip
    print(body)
    write_section(HERE / "results.md", "spark-scale", body)
    return 0 if same_alerts and same_join else 1


if __name__ == "__main__":
    raise SystemExit(main())
