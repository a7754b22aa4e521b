"""The engine's own speed against an earlier commit, side by side (for refactors: `make bench`
compares with MLflow Recipes; this compares with ourselves).

    .venv/bin/python benchmarks/against_commit.py 9b574cd [--rounds 3]

Both trees run the churn template's local profile on the same sample with this checkout's
virtual environment (each tree's own ``src`` first on the path), alternating which goes first,
``OMP_NUM_THREADS=1``: a cold run after removing the execution directory and the MLflow store,
a fully cached re-run, and ``inspect --step train``. Prints medians and new/old ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
COMMANDS = {
    "cold run": ["run", "--profile", "local"],
    "cached re-run": ["run", "--profile", "local"],
    "inspect --step train": ["inspect", "--profile", "local", "--step", "train"],
}


def timed(tree: Path, args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mlrecipes", *args], cwd=tree, env=env, capture_output=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{tree.name}: mlrecipes {' '.join(args)} failed:\n{done.stderr.decode()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("commit")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"old": Path(tmp) / "old", "new": Path(tmp) / "new"}
        for name, ref in (("old", options.commit), ("new", "HEAD")):
            subprocess.run(["git", "clone", "-q", str(HERE), str(trees[name])], check=True)
            subprocess.run(["git", "-C", str(trees[name]), "checkout", "-q", ref], check=True)
            shutil.copytree(HERE / "data", trees[name] / "data")
        times: dict[tuple[str, str], list[float]] = {}
        for round_ in range(options.rounds):
            for name in ("old", "new") if round_ % 2 == 0 else ("new", "old"):
                tree = trees[name]
                shutil.rmtree(tree / ".mlrecipes", ignore_errors=True)
                shutil.rmtree(tree / "metadata", ignore_errors=True)
                for label, args in COMMANDS.items():
                    times.setdefault((name, label), []).append(timed(tree, args))
    print(f"| measure | {options.commit} (s) | HEAD (s) | HEAD / {options.commit} |")
    print("|---|---|---|---|")
    for label in COMMANDS:
        old = statistics.median(times[("old", label)])
        new = statistics.median(times[("new", label)])
        print(f"| {label} | {old:.2f} | {new:.2f} | {new / old:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
