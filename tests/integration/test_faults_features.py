"""Every commit boundary of the features step is recoverable by running again (#31, 8): the
process is killed (SIGKILL, no cleanup) at each one in turn, and the next ordinary run leaves
each source row in each table exactly once, and says what it wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from tests.conftest import cli, copy_template

pytestmark = pytest.mark.slow
PROFILE = "local_features"
STORE = Path("data/feature_store/local_features")
POINTS = (
    "features.table_metadata_written",  # create: metadata in place, no Delta table yet
    "features.feature_table_committed",  # features committed, labels not
    "features.tables_committed",  # both committed, the step's state not recorded
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_template(tmp_path_factory.mktemp("faults_fs") / "churn", rows=10)
    made = cli(
        "sample-data", "--months", "2", "--rows", "600", "--seed", "9",
        "--out", "data/telco_snapshots", cwd=root,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return root


def features(root: Path, env: dict | None = None):
    return cli("run", "--profile", PROFILE, "--step", "features", cwd=root, env=env)


def table(root: Path, name: str) -> pd.DataFrame:
    return DeltaTable(str(root / STORE / name)).to_pandas()


@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_each_commit_boundary_is_recovered_by_running_again(
    source: Path, tmp_path: Path, point: str
) -> None:
    root = tmp_path / "churn"
    shutil.copytree(source, root)
    rows = sum(len(pd.read_csv(f)) for f in (root / "data/telco_snapshots").glob("*.csv"))

    killed = features(root, env={"MLRECIPES_FAULT_POINT": point})
    # SIGKILL: nothing of the step ran after it; the engine's parent process says so
    assert killed.returncode == 137, killed.stderr
    assert "killed by SIGKILL inside step features; marked FAILED" in killed.stderr

    again = features(root)
    assert again.returncode == 0, again.stderr
    for name in ("churn_features", "churn_labels"):
        frame = table(root, name)
        assert len(frame) == rows, name  # every row once: nothing lost, nothing twice
        assert not frame.duplicated(["customerID", "snapshot_date"]).any()
    state = json.loads((root / ".mlrecipes" / PROFILE / "steps/features/state.json").read_text())
    assert state["status"] == "SUCCEEDED"
    written = state["summary"]["rows_written"]
    # what the second run itself wrote: all of a table the kill left unwritten, none of one it
    # had committed (its snapshots are skipped, and said)
    expected = {
        "features.table_metadata_written": (rows, rows),
        "features.feature_table_committed": (0, rows),
        "features.tables_committed": (0, 0),
    }[point]
    assert (written["churn_features"], written["churn_labels"]) == expected
    if expected[0] == 0:
        assert len(state["summary"]["skipped_snapshots"]) == 2


def test_a_month_delivered_half_then_whole_reaches_the_tables_whole(
    source: Path, tmp_path: Path
) -> None:
    root = tmp_path / "churn"
    shutil.copytree(source, root)
    month = sorted((root / "data/telco_snapshots").glob("*.csv"))[-1]
    whole = month.read_text()
    lines = whole.splitlines(keepends=True)
    half = len(lines) // 2
    month.write_text("".join(lines[:half]))  # the upload was cut short
    first = features(root)
    assert first.returncode == 0, first.stderr
    rows = sum(len(pd.read_csv(f)) for f in (root / "data/telco_snapshots").glob("*.csv"))
    assert len(table(root, "churn_features")) == rows

    month.write_text(whole)  # the complete file replaces it, same snapshot date
    again = features(root)
    assert again.returncode == 0, again.stderr
    assert "were delivered again with other content: adding the rows that are missing" in (
        again.stderr
    )
    total = sum(len(pd.read_csv(f)) for f in (root / "data/telco_snapshots").glob("*.csv"))
    for name in ("churn_features", "churn_labels"):
        frame = table(root, name)
        assert len(frame) == total and not frame.duplicated(["customerID", "snapshot_date"]).any()
    summary = json.loads((root / ".mlrecipes" / PROFILE / "steps/features/state.json").read_text())[
        "summary"
    ]
    added = total - rows
    assert [list(v.values()) for v in summary["completed_snapshots"].values()] == [[added]] * 2
    assert summary["rows_written"] == {"churn_features": added, "churn_labels": added}

    # a later delivery that changes a row already written is refused, naming the snapshot
    versions = {n: DeltaTable(str(root / STORE / n)).version() for n in ("churn_features",)}
    changed = pd.read_csv(month)
    changed.loc[0, "MonthlyCharges"] = changed.loc[0, "MonthlyCharges"] + 1
    changed.to_csv(month, index=False)
    refused = features(root)
    assert refused.returncode == 1
    line = refused.stderr.strip().splitlines()[-1]
    assert "feature table 'churn_features': the snapshot" in line
    assert "was delivered again and changes rows written from it" in line
    assert {n: DeltaTable(str(root / STORE / n)).version() for n in versions} == versions
