"""`mlrecipes init` as a user runs it: bad inputs get one line and leave nothing behind; a
regression table runs locally and through the five jobs on dev, its errors measured once the
outcomes arrive; a table of snapshots keeps a key's rows together. (Classification tables through
the five jobs: test_init_real_tables.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable

from tests.conftest import cli


def accounts(rows: int = 1500, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "premium"], size=rows, p=[0.5, 0.3, 0.2])
    months = rng.integers(1, 61, size=rows)
    calls = rng.poisson(np.where(plan == "basic", 2.5, 1.0))
    logit = -0.6 + 0.55 * calls - 0.06 * months + 0.9 * (plan == "basic")
    fee = np.select([plan == "basic", plan == "plus"], [20.0, 45.0], 80.0) + rng.normal(0, 3, rows)
    return pd.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(rows)],
            "plan": plan,
            "months_active": months,
            "monthly_fee": fee.round(2),
            "support_calls": calls,
            "churned": np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no"),
        }
    )


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".init-" in p.name]


@pytest.mark.parametrize(
    ("table", "args", "message"),
    [
        (accounts().assign(churned="no"), [], "target column 'churned' is constant ('no' on every"),
        (accounts(), ["--target", "churn"], "no column 'churn' for --target"),
        (
            accounts().assign(account_id="A1"),
            ["--id", "account_id"],
            "id 'account_id' is not unique: 1500 rows share a key",
        ),
        (None, [], "cannot be read as csv"),
    ],
    ids=["constant-target", "missing-target", "duplicate-id", "unreadable"],
)
def test_bad_input_gets_one_line_and_leaves_no_project(
    tmp_path: Path, table: pd.DataFrame | None, args: list[str], message: str
) -> None:
    data = tmp_path / "accounts.csv"
    if table is None:
        data.write_bytes(b"\xff\xfe\x00bad\x00\xff" * 50)
    else:
        table.to_csv(data, index=False)
    target = [] if "--target" in args else ["--target", "churned"]
    result = cli("init", "proj", "--data", str(data), *target, *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "proj").exists() and leftovers(tmp_path) == []


def test_a_folder_that_holds_a_project_is_left_as_it_was(tmp_path: Path) -> None:
    accounts().to_csv(tmp_path / "accounts.csv", index=False)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "recipe.yaml").write_text("mine\n")
    result = cli("init", "proj", "--data", "accounts.csv", "--target", "churned", cwd=tmp_path)
    assert result.returncode == 1 and "already holds a project (recipe.yaml)" in result.stderr
    assert [p.name for p in (tmp_path / "proj").iterdir()] == ["recipe.yaml"]
    assert (tmp_path / "proj" / "recipe.yaml").read_text() == "mine\n"


def test_dry_run_shows_the_schema_and_the_files_and_writes_nothing(tmp_path: Path) -> None:
    accounts().to_csv(tmp_path / "accounts.csv", index=False)
    result = cli(
        "init", "proj", "--data", "accounts.csv", "--target", "churned", "--dry-run", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "target 'churned' (classification, positive class 'yes'" in result.stdout
    assert "account_id               id (key, never a feature)" in result.stdout
    assert "  profiles/prod.yaml" in result.stdout and "  data/accounts.csv" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.csv"]


def test_a_folder_with_other_files_gains_the_project_beside_them(tmp_path: Path) -> None:
    accounts().to_csv(tmp_path / "accounts.csv", index=False)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "NOTES.md").write_text("my notes\n")
    result = cli("init", "proj", "--data", "accounts.csv", "--target", "churned", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "proj" / "NOTES.md").read_text() == "my notes\n"
    assert (tmp_path / "proj" / "recipe.yaml").is_file() and leftovers(tmp_path) == []


def jobs(root: Path, profile: str, names: tuple[str, ...], env: dict[str, str]) -> None:
    for name in names:
        result = cli("job", "run", name, "--profile", profile, cwd=root, env=env)
        assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"


def inspect(root: Path, step: str, env: dict[str, str], profile: str = "dev") -> dict:
    shown = cli("inspect", "--profile", profile, "--step", step, "--json", cwd=root, env=env)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


FIVE_JOBS = (
    "feature-table-creation", "model-train", "model-inference-batch", "monitoring",
    "retraining-trigger",
)  # fmt: skip


@pytest.mark.slow
def test_a_regression_table_runs_locally_and_through_the_five_jobs_on_dev(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    table = accounts(1500).drop(columns="churned")
    table["lifetime_value"] = (
        12 * table["monthly_fee"] * (1 + table["months_active"] / 12) / (1 + table["support_calls"])
        + rng.normal(0, 40, len(table))
    ).round(2)
    table.to_csv(tmp_path / "value.csv", index=False)
    made = cli("init", "value", "--data", "value.csv", "--target", "lifetime_value", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "target 'lifetime_value' (regression)" in made.stdout
    root = tmp_path / "value"
    local = cli("run", "--profile", "local", cwd=root)
    assert local.returncode == 0, local.stderr
    assert "VALIDATED: root_mean_squared_error" in local.stdout
    env = {"VALUE_DATA_LOCATION": "data/value.csv"}
    jobs(root, "dev", FIVE_JOBS, env)
    test = inspect(root, "evaluate", env)["metrics"]["test"]
    assert test["root_mean_squared_error"] < table["lifetime_value"].std()  # beats the mean
    scores = DeltaTable(str(root / "data" / "scores" / "value_dev")).to_pandas()
    assert len(scores) == 1500
    window = inspect(root, "monitor", env)
    assert window["rows"] == 1500 and window["prediction_drift"]["status"] == "ok"
    # outcomes arrive (the local profile's labels file): the window's errors are measured
    (root / "data" / "labels").mkdir(parents=True)
    table[["account_id", "lifetime_value"]].to_csv(
        root / "data" / "labels" / "value_labels.csv", index=False
    )
    scored = cli("run", "--profile", "local", "--step", "monitor", cwd=root)
    assert scored.returncode == 0, scored.stderr
    measured = inspect(root, "monitor", {}, profile="local")["performance"]
    assert measured["root_mean_squared_error"]["status"] == "ok"
    assert measured["root_mean_squared_error"]["value"] < table["lifetime_value"].std()


def test_without_target_it_asks_only_a_person_at_a_terminal(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    accounts().to_csv(tmp_path / "accounts.csv", index=False)
    piped = cli("init", "proj", "--data", "accounts.csv", cwd=tmp_path)  # stdin: not a terminal
    assert piped.returncode == 2 and "Missing option '--target'" in piped.stderr
    assert not (tmp_path / "proj").exists()
    person, terminal = pty.openpty()
    asked = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlrecipes"), "init", "proj", "--data", "accounts.csv"],
        stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, text=True,
    )  # fmt: skip
    os.write(person, b"churned\n")
    out, err = asked.communicate(timeout=300)
    os.close(person)
    os.close(terminal)
    assert asked.returncode == 0, err
    assert "Columns of accounts.csv: account_id, plan, months_active" in out
    assert "Target column (what the model predicts)" in out
    assert (tmp_path / "proj" / "recipe.yaml").read_text().count('target_col: "churned"') == 1


@pytest.mark.slow
def test_a_table_of_snapshots_keeps_a_keys_rows_in_one_split_and_its_time_out_of_the_model(
    tmp_path: Path,
) -> None:
    """--time: the same accounts in two monthly snapshots. The snapshot time is the feature
    tables' timestamp key and never a feature; a key's snapshots share one split on every profile,
    so deploy's holdout stays clean of the rows the model trained on."""
    first = accounts(1200, seed=4).assign(snapshot="2026-01-31")
    second = accounts(1200, seed=4).assign(snapshot="2026-02-28")
    second["months_active"] = second["months_active"] + 1
    pd.concat([first, second]).to_parquet(tmp_path / "monthly.parquet", index=False)
    made = cli(
        "init", "monthly", "--data", "monthly.parquet", "--target", "churned", "--time", "snapshot",
        cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "snapshot                 snapshot time (never a feature)" in made.stdout
    root = tmp_path / "monthly"
    recipe = (root / "recipe.yaml").read_text()
    assert 'timestamp_key: "snapshot"' in recipe and 'exclude_columns: ["snapshot"]' in recipe
    assert 'SPLIT_GROUP_COLUMNS: ["account_id"]' in (root / "profiles" / "local.yaml").read_text()
    local = cli("run", "--profile", "local", cwd=root)
    assert local.returncode == 0, local.stderr
    env = {"MONTHLY_DATA_LOCATION": "data/monthly.parquet"}
    jobs(root, "dev", FIVE_JOBS[:3], env)
    features = DeltaTable(str(root / "data/feature_store/dev/monthly_features")).to_pandas()
    assert features["snapshot"].nunique() == 2 and len(features) == 2400
