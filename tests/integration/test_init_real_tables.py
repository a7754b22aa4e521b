"""`mlrecipes init` on real tables nobody here wrote, from three domains, read from the CSV files
the `lifelines` and `statsmodels` packages ship (no download): GBSG2 (breast-cancer recurrence,
medicine), the democracy-dictatorship leader spells (politics) and Grunfeld's investment panel
(economics, a regression target). Each gets a key column added, as a user's table has one.
Each project runs locally, then through the five jobs of its bundle on the dev profile."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from tests.conftest import cli

pytestmark = pytest.mark.slow


def packaged(package: str, relative: str) -> pd.DataFrame:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        pytest.skip(f"{package} is not installed (requirements.txt pins it for these tables)")
    return pd.read_csv(Path(spec.origin).parent / "datasets" / relative)


TABLES = {
    # name: (package, file, key column added, init arguments)
    "gbsg2": ("lifelines", "gbsg2.csv", "patient_id", ["--target", "cens"]),
    "leaders": (
        "lifelines", "dd.csv", "spell_id",
        ["--target", "democracy", "--drop", "regime", "--drop", "ehead", "--drop",
         "leaderspellreg"],
    ),
    "grunfeld": ("statsmodels", "grunfeld/grunfeld.csv", "obs_id", ["--target", "invest"]),
}  # fmt: skip
JOBS = (
    "feature-table-creation", "model-train", "model-inference-batch", "monitoring",
    "retraining-trigger",
)  # fmt: skip


def inspect(root: Path, step: str, env: dict[str, str]) -> dict:
    shown = cli("inspect", "--profile", "dev", "--step", step, "--json", cwd=root, env=env)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


@pytest.mark.parametrize("name", ["gbsg2", "leaders"])
def test_a_real_table_gets_a_project_that_runs_locally_and_on_dev(
    name: str, tmp_path: Path
) -> None:
    runs_locally_and_on_dev(name, tmp_path)


def runs_locally_and_on_dev(name: str, tmp_path: Path) -> None:
    """init, a local run and the five jobs on dev (the two files share it: xdist spreads files)."""
    package, relative, key, args = TABLES[name]
    table = packaged(package, relative)
    table.insert(0, key, [f"{name[0].upper()}{i:05d}" for i in range(len(table))])
    table.to_csv(tmp_path / f"{name}.csv", index=False)
    made = cli("init", name, "--data", f"{name}.csv", *args, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert f"{key:<24} id (key, never a feature)" in made.stdout  # detected, not given
    root = tmp_path / name
    local = cli("run", "--profile", "local", cwd=root)
    assert local.returncode == 0, local.stderr
    assert f"registered {name} v1 @challenger · champion v1" in local.stdout
    env = {f"{name.upper()}_DATA_LOCATION": f"data/{name}.csv"}
    for job in JOBS:
        result = cli("job", "run", job, "--profile", "dev", cwd=root, env=env)
        assert result.returncode == 0, f"{job}: {result.stderr[-2000:]}"
    assert inspect(root, "deploy", env)["steps"][0]["status"] == "SUCCEEDED"
    champion = cli("champion", "--profile", "dev", "--json", cwd=root, env=env)
    assert champion.returncode == 0, champion.stderr
    assert json.loads(champion.stdout)["aliases"]["champion"] == "1"
    test = inspect(root, "evaluate", env)["metrics"]["test"]
    if "roc_auc" in test:  # classification: better than a majority-class model (ROC AUC 0.5)
        assert test["roc_auc"] > 0.6
    else:  # regression: better than predicting the mean
        assert test["root_mean_squared_error"] < table[args[1]].std(ddof=0)
    monitoring = DeltaTable(str(root / "data" / "monitoring" / f"{name}_dev")).to_pandas()
    assert monitoring["window"].nunique() == 1 and len(monitoring) > 0
    scores = DeltaTable(str(root / "data" / "scores" / f"{name}_dev")).to_pandas()
    assert len(scores) == len(table)
