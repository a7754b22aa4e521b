"""Batch scoring throughput and memory: the pandas engine at 1M and 10M rows, Spark local[2] at 1M.

Each measurement runs in its own process (peak RSS is per process). The floor is a bare
``predict_proba`` of the same fitted pipeline over rows already held in memory.
Targets: pandas throughput >= 0.5x the floor; peak RSS at 10M within 1.2x of the peak at 1M.
Usage: python benchmarks/scoring.py [--sizes 1000000 10000000] [--spark-rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import markdown_table

ROOT = Path(__file__).resolve().parents[1]


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would include the forking parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(work: Path) -> Path:
    """A copy of the template with a trained, registered model (its own SQLite store)."""
    root = work / "churn"
    root.mkdir(parents=True)
    for part in ("recipe.yaml", "profiles", "steps"):
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / part)
    from mlrecipes.execution.runner import Reporter
    from mlrecipes.recipe import Recipe
    from mlrecipes.sample_data.telco import write_sample

    write_sample(root / "data" / "telco_sample.csv", rows=7043, seed=42)
    Recipe("local", root=root, reporter=Reporter()).run()
    return root


def measure_engine(root: Path, data: Path, engine: str) -> dict:
    """Child process: ingest_scoring + predict of ``data`` with one engine."""
    from mlrecipes.execution.runner import Reporter
    from mlrecipes.recipe import Recipe

    variables = {
        "SCORING_DATA_FORMAT": "parquet",
        "SCORING_DATA_LOCATION": str(data),
        "SCORING_OUTPUT_LOCATION": str(root / "scores" / engine),
        "SCORING_SAVE_MODE": "overwrite",
        "SCORING_ENGINE": engine,
    }
    recipe = Recipe("local", root=root, variables=variables, reporter=Reporter())
    recipe.clean("ingest_scoring")
    t0 = time.perf_counter()
    recipe.run("predict")
    seconds = time.perf_counter() - t0
    rows = recipe.status("predict")["rows_scored"]
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }


def measure_floor(root: Path, data: Path, rows: int) -> dict:
    """Child process: predict_proba of the bare pipeline over rows held in memory."""
    import pyarrow.parquet as pq

    from mlrecipes.execution.runner import Reporter
    from mlrecipes.recipe import Recipe

    model = Recipe("local", root=root, reporter=Reporter()).get_artifact("model")
    wrapper = model.unwrap_python_model()
    frame = pq.read_table(data, columns=wrapper.feature_columns).slice(0, rows).to_pandas()
    pipeline = wrapper.pipeline
    t0 = time.perf_counter()
    pipeline.predict_proba(frame)
    seconds = time.perf_counter() - t0
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }


def child(kind: str, root: Path, data: Path, rows: int) -> dict:
    code = (
        f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import scoring; "
        f"print('RESULT', json.dumps(scoring.{kind}(*scoring._args({str(root)!r}, {str(data)!r}, {rows}, {kind!r}))))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def _args(root: str, data: str, rows: int, kind: str) -> tuple:
    if kind == "measure_floor":
        return Path(root), Path(data), rows
    return Path(root), Path(data), "spark" if kind == "measure_spark" else "pandas"


def measure_pandas(root: Path, data: Path, engine: str) -> dict:
    return measure_engine(root, data, "pandas")


def measure_spark(root: Path, data: Path, engine: str) -> dict:
    os.environ["MLRECIPES_SPARK_MASTER"] = "local[2]"
    return measure_engine(root, data, "spark")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--spark-rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from mlrecipes.sample_data.telco import write_sample_parquet_in_chunks

    work = Path(tempfile.mkdtemp(prefix="mlrecipes-bench-scoring-"))
    try:
        root = train(work)
        results = []
        for rows in sorted(set(args.sizes) | {args.spark_rows}):
            t0 = time.perf_counter()
            data = write_sample_parquet_in_chunks(work / f"scoring_{rows}.parquet", rows, seed=1000)
            print(f"generated {rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
            if rows in args.sizes:
                result = child("measure_pandas", root, data, rows)
                results.append({"engine": "pandas", **result})
                print(
                    f"pandas engine, {rows:,} rows: {result['rows_per_s']:,.0f} rows/s, peak RSS {result['peak_rss_mb']:.0f} MB",
                    flush=True,
                )
            if rows == args.spark_rows:
                result = child("measure_spark", root, data, rows)
                results.append({"engine": "spark local[2]", **result})
                print(
                    f"spark local[2], {rows:,} rows: {result['rows_per_s']:,.0f} rows/s", flush=True
                )
        floor_rows = min(args.sizes)
        floor = child("measure_floor", root, work / f"scoring_{floor_rows}.parquet", floor_rows)
        results.append({"engine": "floor: bare predict_proba in memory", **floor})
    finally:
        shutil.rmtree(work, ignore_errors=True)

    pandas_runs = {r["rows"]: r for r in results if r["engine"] == "pandas"}
    spark_runs = [r for r in results if r["engine"].startswith("spark")]
    for r in results:
        r["vs_floor"] = r["rows_per_s"] / floor["rows_per_s"]
    print()
    print(
        markdown_table(
            results, ["engine", "rows", "seconds", "rows_per_s", "peak_rss_mb", "vs_floor"], ".2f"
        )
    )
    ok = True
    for r in pandas_runs.values():
        passed = r["vs_floor"] >= 0.5
        ok &= passed
        print(
            f"pandas {r['rows']:,} rows: throughput {r['vs_floor']:.2f}x the floor (target >= 0.5): {'PASS' if passed else 'FAIL'}"
        )
    if len(pandas_runs) >= 2:
        small, large = pandas_runs[min(pandas_runs)], pandas_runs[max(pandas_runs)]
        ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
        ok &= ratio <= 1.2
        print(
            f"peak RSS {large['rows']:,} / {small['rows']:,} rows: {ratio:.2f}x (target <= 1.2): {'PASS' if ratio <= 1.2 else 'FAIL'}"
        )
    if spark_runs and args.spark_rows in pandas_runs:
        ratio = spark_runs[0]["rows_per_s"] / pandas_runs[args.spark_rows]["rows_per_s"]
        print(f"spark local[2] / pandas throughput at {args.spark_rows:,} rows: {ratio:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
