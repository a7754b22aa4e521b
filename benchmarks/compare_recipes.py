"""mlrecipes vs MLflow Recipes 2.x on the same recipe directory, alternating, several times.

Creates (once) benchmarks/.venv-recipes2 with the last MLflow 2.x, copies benchmarks/recipes_churn
(a churn recipe in MLflow Recipes format, keys both engines accept) twice, and times under both:
cold full run after `clean`, fully cached re-run, re-run after editing steps/train.py,
`inspect --step train`, and the peak RSS of the cold run; plus a bare scikit-learn script doing
the same read, split, fit and evaluation (the floor). Data: ../shared/data/telco_churn.csv when
present, else the generated sample. OMP_NUM_THREADS=1 for everything.
Writes benchmarks/results.md. Usage: python benchmarks/compare_recipes.py [--repeats 3]
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
from report import cpu_model, ensure_venv, markdown_table, write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECIPE = HERE / "recipes_churn"
REAL_DATA = ROOT.parent / "shared" / "data" / "telco_churn.csv"
RECIPES2_VENV = HERE / ".venv-recipes2"
# The last MLflow 2.x (it still has `mlflow recipes`); SQLAlchemy 2.1 breaks its train step.
RECIPES2_REQUIREMENTS = ["mlflow==2.22.5", "sqlalchemy<2.1", "scikit-learn==1.5.2"]
TARGETS = {"cold": 0.10, "edit_train": 0.12, "cached": 0.02, "peak_rss": 1.0}
COLD_VS_BARE_TARGET = 5.0
CARD_BUDGET_S = 1.0

# Runs a command with its output discarded; prints wall seconds, exit code and the peak RSS of
# the command's whole process tree (RUSAGE_CHILDREN covers make and every step subprocess).
_MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
    "wall = time.perf_counter() - t\n"
    "print(json.dumps({'seconds': wall, 'rc': rc, 'rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n"
)


def ensure_recipes2_venv() -> Path:
    return ensure_venv(RECIPES2_VENV, RECIPES2_REQUIREMENTS, "MLflow 2.x")


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed in {cwd} (exit {result['rc']})")
    return result


class Engine:
    def __init__(self, name: str, root: Path, cli: list[str], env: dict[str, str]):
        self.name, self.root, self.cli, self.env = name, root, cli, env

    def run(self, *args: str) -> dict:
        return measure([*self.cli, *args, "--profile", "local"], self.root, self.env)


def engines(work: Path, data: Path, recipes2_bin: Path) -> tuple[Engine, Engine]:
    base_env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "GITHUB_ACTIONS": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    roots = {}
    for name in ("theirs", "ours"):
        root = work / name / "churn"
        shutil.copytree(RECIPE, root)
        # the template's own featurization, so both engines (and the floor) run the same code
        shutil.copy2(ROOT / "steps" / "transform.py", root / "steps" / "transform.py")
        (root / "data").mkdir()
        shutil.copy2(data, root / "data" / "churn.csv")
        roots[name] = root
    theirs_env = {
        **base_env,
        "PATH": f"{recipes2_bin}:{os.environ['PATH']}",  # its Makefile calls `python`
        "MLFLOW_RECIPES_EXECUTION_DIRECTORY": str(work / "theirs" / "exec"),
    }
    ours_bin = Path(sys.executable).parent
    theirs = Engine(
        "MLflow Recipes 2.x", roots["theirs"], [str(recipes2_bin / "mlflow"), "recipes"], theirs_env
    )
    ours = Engine("mlrecipes", roots["ours"], [str(ours_bin / "mlrecipes")], base_env)
    return theirs, ours


def card_seconds(engine: Engine) -> float:
    """Seconds the last run of mlrecipes spent on step cards (profiles, plots, HTML)."""
    out = subprocess.run(
        [*engine.cli, "inspect", "--profile", "local", "--json"],
        cwd=engine.root, env=engine.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return sum(step["card_seconds"] or 0.0 for step in json.loads(out.stdout)["steps"])


def edit_train(root: Path, rep: int) -> None:
    path = root / "steps" / "train.py"
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("# benchmark edit")]
    path.write_text("\n".join([*lines, f"# benchmark edit {rep}"]) + "\n")


LABELS = {
    "cold": "cold full run after clean (s)",
    "cached": "fully cached re-run (s)",
    "edit_train": "re-run after editing steps/train.py (s)",
    "inspect_train": "inspect --step train (s)",
    "peak_rss": "peak RSS of the cold run (MB)",
}


def summary(
    ours: dict[str, float], theirs: dict[str, float], bare_median: float
) -> tuple[list[dict], bool]:
    """Table rows (every ratio ours/theirs with its target and verdict) and whether all hold."""
    rows, ok = [], True
    for key, label in LABELS.items():
        ratio = ours[key] / theirs[key]
        target = TARGETS.get(key)
        verdict = "" if target is None else ("PASS" if ratio <= target else "FAIL")
        ok &= verdict != "FAIL"
        rows.append({"measure": label, "mlrecipes": ours[key], "MLflow Recipes 2.x": theirs[key],
                     "ours/theirs": f"{ratio:.3f}", "target": "" if target is None else f"<= {target}", "": verdict})  # fmt: skip
    cards = ours["card_seconds"]
    ok &= cards < CARD_BUDGET_S
    rows.append({"measure": "mlrecipes: time spent on cards in a cold run (s)", "mlrecipes": cards,
                 "MLflow Recipes 2.x": "", "ours/theirs": "", "target": f"< {CARD_BUDGET_S}",
                 "": "PASS" if cards < CARD_BUDGET_S else "FAIL"})  # fmt: skip
    cold_vs_bare = ours["cold"] / bare_median
    ok &= cold_vs_bare <= COLD_VS_BARE_TARGET
    rows.append({"measure": "bare scikit-learn script (s)", "mlrecipes": bare_median, "MLflow Recipes 2.x": "",
                 "ours/theirs": "", "target": "", "": ""})  # fmt: skip
    rows.append({"measure": "mlrecipes cold run / bare script", "mlrecipes": cold_vs_bare, "MLflow Recipes 2.x": "",
                 "ours/theirs": "", "target": f"<= {COLD_VS_BARE_TARGET}", "": "PASS" if cold_vs_bare <= COLD_VS_BARE_TARGET else "FAIL"})  # fmt: skip
    return rows, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    recipes2_bin = ensure_recipes2_venv()
    # both engines measured as installed: MLflow 2.x's modules were byte-compiled by pip; ours,
    # installed editable, are compiled here (on a machine with PYTHONDONTWRITEBYTECODE set,
    # nothing else would, and every run would compile ~100 modules again)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    work = Path(tempfile.mkdtemp(prefix="mlrecipes-vs-recipes2-"))
    try:
        if REAL_DATA.is_file():
            data, data_note = REAL_DATA, f"real IBM Telco data ({REAL_DATA.name}, 7,043 rows)"
        else:
            from mlrecipes.sample_data.telco import write_sample

            data = write_sample(work / "sample.csv", rows=7043, seed=42)
            data_note = "generated sample (7,043 rows; the real data was not found)"
        theirs, ours = engines(work, data, recipes2_bin)
        samples: dict[str, dict[str, list[float]]] = {e.name: {} for e in (theirs, ours)}

        def record(engine: Engine, key: str, value: float) -> None:
            samples[engine.name].setdefault(key, []).append(value)

        for engine in (theirs, ours):  # warm-up: creates each MLflow store once
            engine.run("run")
        for rep in range(args.repeats):
            order = (theirs, ours) if rep % 2 == 0 else (ours, theirs)
            for engine in order:
                engine.run("clean")
                cold = engine.run("run")
                record(engine, "cold", cold["seconds"])
                record(engine, "peak_rss", cold["rss_mb"])
                if engine is ours:
                    record(engine, "card_seconds", card_seconds(engine))
                record(engine, "cached", engine.run("run")["seconds"])
                edit_train(engine.root, rep)
                record(engine, "edit_train", engine.run("run")["seconds"])
                record(engine, "inspect_train", engine.run("inspect", "--step", "train")["seconds"])
                print(
                    f"rep {rep + 1}/{args.repeats} {engine.name}: cold {cold['seconds']:.1f} s",
                    flush=True,
                )
        bare = [
            measure(
                [sys.executable, str(HERE / "bare_sklearn.py"), str(data), str(theirs.root)],
                work,
                {**os.environ, "OMP_NUM_THREADS": "1"},
            )["seconds"]
            for _ in range(args.repeats)
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {name: {k: statistics.median(v) for k, v in d.items()} for name, d in samples.items()}
    rows, ok = summary(med[ours.name], med[theirs.name], statistics.median(bare))
    table = markdown_table(
        rows, ["measure", "mlrecipes", "MLflow Recipes 2.x", "ours/theirs", "target", ""], ".2f"
    )
    print()
    print(table)
    report = f"""# mlrecipes vs MLflow Recipes 2.x

Measured {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")} by `benchmarks/compare_recipes.py` (`make bench`):
medians of {args.repeats} alternating repetitions, the same recipe directory (`benchmarks/recipes_churn`),
{data_note}, `OMP_NUM_THREADS=1`.

Machine: {os.cpu_count()} CPUs ({cpu_model()}), {_memory_gb():.0f} GB RAM, {platform.platform()}, Python {platform.python_version()}.
Engines: mlrecipes {_version(sys.executable, "mlrecipes")} on MLflow {_version(sys.executable, "mlflow")};
MLflow Recipes from MLflow {_version(str(RECIPES2_VENV / "bin" / "python"), "mlflow")}.

{table}
"""
    write_section(HERE / "results.md", "compare", report)
    print(f"\nwritten to {HERE / 'results.md'}")
    return 0 if ok else 1


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _version(python: str, package: str) -> str:
    out = subprocess.run(
        [python, "-c", f"from importlib.metadata import version; print(version({package!r}))"],
        capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip() or "?"


if __name__ == "__main__":
    raise SystemExit(main())
