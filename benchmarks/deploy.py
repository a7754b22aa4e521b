"""The cost of a deploy decision against a cold training run of the same recipe, side by side.

A copy of the churn template on the generated sample (7,043 rows) gets a deliberately weak first
champion; then, alternately, a cold training run (``clean``, then ingest → train) and a deploy
decision (the template's parameters as challenger: both registered models scored on the test
split, 1,000 paired bootstrap resamples, tags, the alias move). Times are the steps' own
durations as the engine records them (``inspect --json``), so process start-up counts for
neither. Target: deploy <= 0.3x cold training.
Usage: python benchmarks/deploy.py [--repeats 3]. Writes its section of benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import cpu_model, markdown_table, write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MLRECIPES = str(Path(sys.executable).parent / "mlrecipes")
TARGET = 0.3
TRAINING_STEPS = ("ingest", "split", "transform", "train")


def cli(root: Path, *args: str) -> str:
    out = subprocess.run(
        [MLRECIPES, *args, "--profile", "local"], cwd=root, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"mlrecipes {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def durations(root: Path) -> dict[str, float]:
    status = json.loads(cli(root, "inspect", "--json"))
    return {s["name"]: s["duration_s"] or 0.0 for s in status["steps"]}


def setup(work: Path) -> Path:
    root = work / "churn"
    root.mkdir()
    for part in ("recipe.yaml", "profiles", "steps"):
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / part)
    subprocess.run(
        [MLRECIPES, "sample-data", "--rows", "7043", "--seed", "42", "--out", "data/telco_sample.csv"],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip
    cli(root, "run", "--var", "ESTIMATOR_PARAMS={C: 0.0001}")  # the first, weak champion
    return root


def one_round(root: Path, rep: int) -> tuple[float, float, str]:
    cli(root, "clean")
    cli(
        root,
        "run",
        "--step",
        "train",
        "--var",
        f"ESTIMATOR_PARAMS={{C: 0.0001, tol: {1e-4 + rep * 1e-9}}}",
    )
    training = sum(durations(root)[s] for s in TRAINING_STEPS)
    # a new challenger each round (the template's parameters), against the weak champion
    client_reset(root)
    cli(root, "run", "--var", f"ESTIMATOR_PARAMS={{tol: {1e-4 + rep * 1e-9}}}")
    deploy = durations(root)["deploy"]
    decision = json.loads(cli(root, "inspect", "--step", "deploy", "--json"))["decision"]
    return training, deploy, decision


def client_reset(root: Path) -> None:
    """Champion back on version 1 (the weak model), so every round decides a promotion."""
    script = (
        "import sys; from mlflow.tracking import MlflowClient\n"
        f"uri = 'sqlite:///{root}/metadata/mlflow/mlruns.db'\n"
        "c = MlflowClient(uri, uri); c.set_registered_model_alias('churn', 'champion', '1')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        root = setup(Path(tmp))
        rounds = [one_round(root, rep) for rep in range(args.repeats)]
    training = statistics.median(r[0] for r in rounds)
    deploy = statistics.median(r[1] for r in rounds)
    ratio = deploy / training
    rows = [
        {"measure": "cold training run: ingest → train (s)", "value": training},
        {"measure": "deploy decision (s)", "value": deploy, "decisions": ", ".join(r[2] for r in rounds)},
        {"measure": "deploy / cold training", "value": ratio, "target": f"<= {TARGET}",
         "": "PASS" if ratio <= TARGET else "FAIL"},
    ]  # fmt: skip
    table = markdown_table(rows, ["measure", "value", "target", "", "decisions"], ".2f")
    cpu = cpu_model()
    report = (
        f"## Deploy decision vs cold training\n\nMeasured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"by `benchmarks/deploy.py` (`make bench`): medians of {args.repeats} alternating rounds, "
        "the churn template on the generated sample (7,043 rows), step durations as recorded by "
        f"the engine, `OMP_NUM_THREADS=1`.\n\nMachine: {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}.\n\n{table}\n"
    )
    print(report)
    write_section(HERE / "results.md", "deploy", report)
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
