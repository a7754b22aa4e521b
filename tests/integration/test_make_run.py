"""The README's first command, `make run`, on a fresh clone of the repository."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git"
)
def test_make_run_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    # Clone what is committed; then lay the working tree's versions of tracked files over it so the
    # test checks the code under test, not the last commit.
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in tracked:
        if (REPO / rel).is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, clone / rel)
    venv = Path(sys.prefix)
    # The test's own environment stands in for .venv; "-o" tells make it is already installed.
    args = ["make", "-o", f"{venv}/.installed", f"VENV={venv}", "SAMPLE_ROWS=2500"]
    result = subprocess.run([*args, "run"], cwd=clone, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (clone / "data" / "telco_sample.csv").is_file()
    # the last line says the result and what to do next
    assert (
        "VALIDATED: roc_auc 0." in result.stdout
        and " ≥ 0.8 · registered churn v1 @challenger" in result.stdout
    )
    assert (
        "champion v1 (first_champion) · next: mlrecipes inspect --profile local --step deploy"
        in result.stdout
    )
    inspect = subprocess.run(
        [
            str(venv / "bin" / "mlrecipes"),
            "inspect",
            "--profile",
            "local",
            "--json",
            "--step",
            "register",
        ],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    status = json.loads(inspect.stdout)
    assert status["steps"][0]["status"] == "SUCCEEDED"
    assert status["aliases"] == ["challenger"]
    deploy = subprocess.run(
        [str(venv / "bin" / "mlrecipes"), "champion", "--profile", "local", "--json"],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    champion = json.loads(deploy.stdout)
    assert champion["aliases"] == {"challenger": "1", "champion": "1"}  # make run ends with one
    assert [e["decision"] for e in champion["history"]] == ["first_champion"]
