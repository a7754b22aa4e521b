"""The wheel a user installs (#33): it builds from the repository, carries the license text in
its metadata, and its version is the one `mlrecipes --version` prints (one source)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.conftest import REPO, cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    [path] = out.glob("mlrecipes-*.whl")
    return path


def test_the_wheel_carries_the_license_and_the_version_the_cli_prints(
    wheel: Path, tmp_path: Path
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(archive.read(metadata).decode())
        [license_file] = [n for n in names if n.endswith("/LICENSE")]
        text = archive.read(license_file).decode()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert text == (REPO / "LICENSE").read_text()
    assert meta["License-Expression"] == "Apache-2.0"
    assert "mlrecipes/cards/templates/card.html.j2" in names  # package data travels
    printed = cli("--version", cwd=tmp_path)
    assert (
        printed.returncode == 0
        and printed.stdout.strip() == f"mlrecipes, version {meta['Version']}"
    )


def test_init_runs_from_the_wheels_own_files_outside_any_clone(wheel: Path, tmp_path: Path) -> None:
    """The template travels as package data: the wheel alone (unpacked, first on the path, the
    source tree nowhere near) writes a project that runs."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    from mlrecipes.sample_data.telco import write_sample

    work = tmp_path / "work"
    write_sample(work / "table.csv", rows=1500, seed=11)
    env = {**os.environ, "PYTHONPATH": str(site)}
    command = [sys.executable, "-m", "mlrecipes"]
    where = subprocess.run(
        [sys.executable, "-c", "import mlrecipes.scaffold.project as p; print(p.TEMPLATE)"],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert where.stdout.strip() == str(site / "mlrecipes" / "scaffold" / "template")
    made = subprocess.run(
        [*command, "init", "own", "--data", "table.csv", "--target", "Churn", "--id", "customerID"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    ran = subprocess.run(
        [*command, "run", "--profile", "local"],
        cwd=work / "own", env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "registered own v1 @challenger" in ran.stdout
    assert len(list((work / "own" / "notebooks").glob("*.ipynb"))) == 3
