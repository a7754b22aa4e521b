"""The regression table of the real-table check (Grunfeld's investment panel, from statsmodels),
and the quality benchmark judging an init project by its own bar: a file of its own, so the two
pytest workers share the real tables (see test_init_real_tables.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, cli
from tests.integration.test_init_real_tables import packaged, runs_locally_and_on_dev

pytestmark = pytest.mark.slow


def test_a_real_regression_table_gets_a_project_that_runs_locally_and_on_dev(
    tmp_path: Path,
) -> None:
    runs_locally_and_on_dev("grunfeld", tmp_path)


def test_the_quality_benchmark_judges_a_project_by_its_own_criteria(tmp_path: Path) -> None:
    table = packaged("lifelines", "gbsg2.csv")
    table.insert(0, "patient_id", range(len(table)))
    table.to_csv(tmp_path / "gbsg2.csv", index=False)
    assert (
        cli("init", "gbsg2", "--data", "gbsg2.csv", "--target", "cens", cwd=tmp_path).returncode
        == 0
    )
    root = tmp_path / "gbsg2"
    criterion = next(
        line.split(":")[1].strip()
        for line in (root / "recipe.yaml").read_text().splitlines()
        if line.strip().startswith("threshold:")
    )
    benchmark = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "quality.py"), "--root", str(root),
         "--repeats", "1", "--default-only"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert benchmark.returncode == 0, benchmark.stdout + benchmark.stderr
    assert (
        f"(target >= {criterion}, recipe.yaml, steps.evaluate.validation_criteria): PASS"
        in benchmark.stdout
    )
    strict = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "quality.py"), "--root", str(root),
         "--repeats", "1", "--default-only", "--target-auc", "0.99"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert strict.returncode == 1 and "(target >= 0.99, --target-auc): FAIL" in strict.stdout
