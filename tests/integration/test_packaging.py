"""The wheel a user installs (#33): it builds from the repository, carries the license text in
its metadata, and its version is the one `mlrecipes --version` prints (one source)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.conftest import REPO, cli

pytestmark = pytest.mark.slow


def test_the_wheel_carries_the_license_and_the_version_the_cli_prints(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = tmp_path.glob("mlrecipes-*.whl")
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
