"""The GitHub workflows are valid (schema) and safe (zizmor), checked offline; broken or unsafe
copies are caught; and ci.yml runs what .ci/run runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def check_schema(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip


def zizmor(path: Path) -> subprocess.CompletedProcess:
    # auditor persona: every finding, low confidence included; none may be above informational
    return subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--min-severity", "low", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip


def test_both_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "release.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid_and_has_no_findings(workflow: Path) -> None:
    schema = check_schema(workflow)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = zizmor(workflow)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings" in audit.stdout + audit.stderr


def test_a_broken_workflow_fails_the_schema_check(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
    del data["jobs"]["test"]["runs-on"]
    data["jobs"]["test"]["timeout-minutes"] = "soon"
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(data))
    result = check_schema(broken)
    assert result.returncode != 0
    assert "broken.yml" in result.stdout + result.stderr


def test_template_injection_is_caught(tmp_path: Path) -> None:
    text = (REPO / ".github/workflows/ci.yml").read_text()
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text(
        text.replace(
            "      - name: Install\n        run: make venv\n",
            '      - name: Greet\n        run: echo "${{ github.event.pull_request.title }}"\n'
            "      - name: Install\n        run: make venv\n",
        )
    )
    assert check_schema(unsafe).returncode == 0  # structurally fine...
    audit = zizmor(unsafe)
    assert audit.returncode != 0  # ...but a shell injection
    assert "template-injection" in audit.stdout + audit.stderr


def test_ci_runs_what_ci_run_runs() -> None:
    ci_run = (REPO / ".ci" / "run").read_text()
    make_targets = [line.split()[1] for line in ci_run.splitlines() if line.startswith("make ")]
    assert make_targets == ["lint", "docs", "install-check", "test"]
    steps = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())["jobs"]["test"]["steps"]
    commands = [s["run"] for s in steps if "run" in s]
    assert commands == ["make venv", "make lint", "make docs", "make install-check", "make test"]
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme.split("\n## ")[0]  # the README's test command, at the top
