"""`make bench`: every benchmark of the project, one after the other, printing their tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "compare_recipes.py",
    "quality.py",
    "scoring.py",
    "deploy.py",
    "feature_store.py",
    "monitoring.py",
    "monitoring_quality.py",
    "spark_scale.py",
    "demo.py",
]


def main() -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # 2 cores: avoid thread oversubscription noise
    failed = []
    for script in BENCHMARKS:
        print(f"\n=== {script} ===", flush=True)
        if subprocess.run([sys.executable, str(HERE / script)], env=env).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nbenchmarks missing their targets: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
