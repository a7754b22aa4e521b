"""Monitoring at scale: the monitor step over a 1M- and a 10M-row scoring window (pandas engine).

For each size, one process runs ingest_scoring, predict and monitor (drift of every input column,
prediction drift, the CBPE estimate, the monitoring table, the report, the MLflow run); each
step's time is the engine's, and its peak RSS is the kernel's peak reset when the step starts.
Targets: monitor's peak RSS at 10M rows <= 1.2x its peak at 1M (it streams the window); the
monitor step <= 0.5x the time predict took to score the same rows (side by side, one run).
Writes its section of benchmarks/results.md.
Usage: python benchmarks/monitoring.py [--sizes 1000000 10000000]
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
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import cpu_model, markdown_table, write_section
from scoring import _peak_rss_mb, train

from mlrecipes.execution.report import Reporter

HERE = Path(__file__).resolve().parent
RSS_TARGET, TIME_TARGET = 1.2, 0.5


def _variables(root: Path, data: Path, rows: int) -> dict[str, str]:
    return {
        "SCORING_DATA_FORMAT": "parquet",
        "SCORING_DATA_LOCATION": str(data),
        "SCORING_OUTPUT_LOCATION": str(root / "scores" / str(rows)),
        "SCORING_SAVE_MODE": "overwrite",
        "MONITORING_TABLE_LOCATION": str(root / "monitoring" / str(rows)),
    }


class StepMeter(Reporter):
    """Each step's time and peak RSS: the kernel's peak (VmHWM) is reset when a step starts."""

    def __init__(self) -> None:
        super().__init__(emit=lambda _line: None)
        self.steps: dict[str, dict[str, float]] = {}

    def running(self, step: str, reason: str) -> None:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        super().running(step, reason)

    def done(self, step: str, seconds: float) -> None:
        self.steps[step] = {"seconds": seconds, "peak_rss_mb": _peak_rss_mb()}
        super().done(step, seconds)


def step(root: Path, data: Path, rows: int, variables: dict[str, str] | None = None) -> dict:
    """Child process: ingest_scoring, predict and monitor of ``data``, as one run
    (``variables``: the profile's own, overridden; spark_scale.py picks the engine with them)."""
    from mlrecipes.recipe import Recipe

    meter = StepMeter()
    variables = {**_variables(root, data, rows), **(variables or {})}
    recipe = Recipe("local", root=root, variables=variables, reporter=meter)
    recipe.run("monitor")
    window = recipe.status("monitor")
    return {
        "predict": meter.steps["predict"],
        "monitor": meter.steps["monitor"],
        "rows_scored": recipe.status("predict")["rows_scored"],
        "rows_monitored": window["rows"],
        "alerts": len(window["alerts"]),
        "alert_lines": window["alerts"],
    }


def child(root: Path, data: Path, rows: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [sys.executable, __file__, "--child", str(root), str(data), str(rows)]
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{rows:,} rows failed:\n{out.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000_000, 10_000_000])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        root, data, rows = args.child
        print("RESULT", json.dumps(step(Path(root), Path(data), int(rows))))
        return 0
    from mlrecipes.sample_data.telco import write_sample_parquet_in_chunks

    work = Path(tempfile.mkdtemp(prefix="mlrecipes-bench-monitoring-"))
    results = []
    try:
        root = train(work)
        for rows in sorted(args.sizes):
            data = write_sample_parquet_in_chunks(work / f"scoring_{rows}.parquet", rows, seed=1000)
            found = child(root, data, rows)
            if found["rows_scored"] != rows or found["rows_monitored"] != rows:
                raise RuntimeError(f"{rows:,} rows: {found}")
            predict, monitor = found["predict"], found["monitor"]
            results.append({"rows": rows, **found})
            print(
                f"{rows:,} rows: predict {predict['seconds']:.1f} s ({predict['peak_rss_mb']:.0f} MB), "
                f"monitor {monitor['seconds']:.1f} s ({monitor['peak_rss_mb']:.0f} MB)",
                flush=True,
            )
            data.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    small, large = results
    rss_ratio = large["monitor"]["peak_rss_mb"] / small["monitor"]["peak_rss_mb"]
    time_ratios = [r["monitor"]["seconds"] / r["predict"]["seconds"] for r in results]
    verdict = {"rss": rss_ratio <= RSS_TARGET, "time": max(time_ratios) <= TIME_TARGET}
    table_rows = [
        {
            "rows": f"{r['rows']:,}",
            "predict (s)": r["predict"]["seconds"],
            "monitor (s)": r["monitor"]["seconds"],
            "monitor / predict": ratio,
            "predict peak RSS (MB)": r["predict"]["peak_rss_mb"],
            "monitor peak RSS (MB)": r["monitor"]["peak_rss_mb"],
        }
        for r, ratio in zip(results, time_ratios, strict=True)
    ]
    table = markdown_table(table_rows, list(table_rows[0]), ".2f")
    report = (
        f"## Monitoring\n\nMeasured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by "
        "`benchmarks/monitoring.py` (`make bench`): the churn template's local profile, pandas "
        "engine, one `run --step monitor` per size in its own process, `OMP_NUM_THREADS=1`. "
        "Step times are the engine's; a step's peak RSS is the process's peak reset when the "
        "step starts (so monitor's includes what predict left allocated). Monitor includes the "
        "Delta append, the HTML report and the MLflow run. No labels in these windows (the estimate is computed; a labels file is read whole, "
        "so it is not part of the streaming target).\n\n"
        f"Machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}.\n\n"
        f"{table}\n\n"
        f"- monitor peak RSS, {large['rows']:,} / {small['rows']:,} rows: **{rss_ratio:.2f}x** "
        f"(target <= {RSS_TARGET}x): {'PASS' if verdict['rss'] else 'FAIL'}\n"
        f"- monitor / predict time, worst of the two sizes: **{max(time_ratios):.2f}x** "
        f"(target <= {TIME_TARGET}x): {'PASS' if verdict['time'] else 'FAIL'}\n"
    )
    print(report)
    write_section(HERE / "results.md", "monitoring", report)
    return 0 if all(verdict.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
