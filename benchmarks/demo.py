"""`make demo` end to end: the wall-clock time of `mlrecipes demo play` on this machine, server
start-up included (target: <= 5 minutes on 2 cores), reported here, not asserted in a test.
Writes its section of benchmarks/results.md.
Usage: python benchmarks/demo.py
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import cpu_model, markdown_table, write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_S = 300


def main() -> int:
    out = Path(tempfile.mkdtemp(prefix="mlrecipes-bench-demo-")) / "demo"
    try:
        t0 = time.perf_counter()
        done = subprocess.run(
            [str(Path(sys.executable).parent / "mlrecipes"), "demo", "play", "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            print(done.stderr[-3000:])
            return 1
        summary = json.loads((out / "summary.json").read_text())
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    commands = summary["commands"]
    slowest = sorted(commands, key=lambda c: -c["seconds"])[:5]
    rows = [
        {"measure": "make demo (demo play, server start-up included)", "seconds": seconds,
         "target": f"<= {TARGET_S}", "": "PASS" if seconds <= TARGET_S else "FAIL"},
        {"measure": f"{len(commands)} commands of the story", "seconds": sum(c["seconds"] for c in commands),
         "target": "", "": ""},
    ] + [
        {"measure": f"slowest: {c['command']}", "seconds": c["seconds"], "target": "", "": ""}
        for c in slowest
    ]  # fmt: skip
    report = (
        f"## make demo\n\nMeasured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `benchmarks/demo.py` "
        "(`make bench`): `mlrecipes demo play` once, wall-clock, a basic-auth MLflow server "
        f"started and stopped inside it, {len(summary['months'])} months of "
        f"{summary['months'][0]['rows_scored']:,} generated customers.\n\n"
        f"Machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}.\n\n"
        f"{markdown_table(rows, ['measure', 'seconds', 'target', ''], '.1f')}\n"
    )
    print(report)
    write_section(HERE / "results.md", "demo", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
