"""Every shell block a tutorial marks runnable (``<!-- runnable -->`` before it) runs as
written, in order, on a fresh copy of the template with the venv's commands on PATH (#29): a
tutorial whose commands stopped working fails here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_template

pytestmark = pytest.mark.slow
TUTORIALS = sorted((REPO / "docs" / "tutorials").glob("*.md"))
# the how-to pages' quick starts too (monitoring's, #25)
PAGES = TUTORIALS + sorted((REPO / "docs" / "how-to").glob("*.md"))


def runnable_blocks(page: Path) -> list[str]:
    return re.findall(r"<!-- runnable -->\n```bash\n(.*?)```", page.read_text(), flags=re.S)


def test_the_tutorials_mark_blocks_to_run() -> None:
    marked = {p.stem: len(runnable_blocks(p)) for p in TUTORIALS}
    assert marked["churn-loop"] >= 1 and marked["from-mlflow-recipes"] >= 1
    assert runnable_blocks(REPO / "docs" / "how-to" / "monitoring.md")


@pytest.mark.parametrize("page", [p for p in PAGES if runnable_blocks(p)], ids=lambda p: p.stem)
def test_a_tutorials_runnable_blocks_run_as_written(page: Path, tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=3000)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for block in runnable_blocks(page):
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block], cwd=root, env=env,
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert done.returncode == 0, (
            f"{page.name}:\n{block}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    if page.stem == "monitoring":
        _check_monitoring_quick_start(root)


def _check_monitoring_quick_start(root: Path) -> None:
    """What the monitoring quick start says happened: each window measured by the outcomes
    recorded after it (the last one's not yet), input drift from the month the world changed,
    and the trigger firing on the two drifted windows."""
    import json

    from mlrecipes.io.monitoring_table import read_table

    table = read_table(root / "data" / "monitoring" / "churn_local")
    measured = table[(table["kind"] == "performance") & (table["metric"] == "roc_auc")]
    status = dict(zip(measured["window"], measured["status"], strict=True))
    day = "T00:00:00+00:00"
    assert status == {
        f"2026-01-31{day}": "ok",
        f"2026-02-28{day}": "ok",
        f"2026-03-31{day}": "alert",
    }
    drift = table[(table["kind"] == "drift") & (table["status"] == "alert")]
    assert set(drift["window"]) == {f"2026-03-31{day}", f"2026-04-30{day}"}
    trigger = read_table(root / "data" / "monitoring" / "churn_local_trigger")
    # one evaluation (its journal: started, then what the retrain ran)
    real = trigger[~trigger["dry_run"].astype(bool)]
    assert real["evaluated_at"].nunique() == 1
    fired = real.to_dict("records")[0]
    assert bool(fired["fired"]) and fired["reason"].startswith("2 of the last 3 windows breached")
    breached = [w["window"] for w in json.loads(fired["windows"]) if w["breached"]]
    assert breached == [f"2026-03-31{day}", f"2026-04-30{day}"]
