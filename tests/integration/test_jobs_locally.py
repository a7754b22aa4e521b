"""The bundle's jobs run locally, in the seed's order, as exactly the commands the workspace
runs: feature-table-creation, model-train (train, then deploy), model-inference-batch,
monitoring (the window just scored), retraining-trigger; on the feature-store profile."""

from __future__ import annotations

import json

import pytest

from mlrecipes.sample_data.telco import write_snapshots
from tests.conftest import cli, copy_template

pytestmark = pytest.mark.slow


def test_the_five_jobs_run_here_as_the_bundle_defines_them(tmp_path) -> None:
    root = copy_template(tmp_path / "churn", rows=1500)
    write_snapshots(root / "data" / "telco_snapshots", rows=1500, months=3, seed=5)
    listed = cli("job", "list", cwd=root)
    assert listed.returncode == 0, listed.stderr
    ran = []
    for name in (
        "feature-table-creation", "model-train", "model-inference-batch", "monitoring",
        "retraining-trigger",
    ):  # fmt: skip
        at = ("--at", "2026-03-31T00:00:00") if name == "model-inference-batch" else ()
        result = cli("job", "run", name, "--profile", "local_features", *at, cwd=root)
        assert result.returncode == 0, result.stderr
        ran += [
            line.split(": ", 1)[1] for line in result.stderr.splitlines() if line.startswith("» ")
        ]
    assert ran == [
        f"mlrecipes {args} --recipe-root {root}"
        for args in (
            "run --profile local_features --step features",
            "run --profile local_features --step register",
            "run --profile local_features --step deploy",
            "run --profile local_features --step predict --var SCORING_TIME=2026-03-31T00:00:00",
            "run --profile local_features --step monitor --only",
            "retrain --profile local_features --json",
        )
    ]
    # the dev default of `job list` shows the same commands with the target's profile
    assert f"run --profile dev --step monitor --only --recipe-root {root}" in listed.stdout
    window = json.loads(
        cli(
            "inspect", "--profile", "local_features", "--step", "monitor", "--json", cwd=root
        ).stdout
    )
    assert window["model_version"] == "1" and window["rows"] > 0
    assert window["window"] == "2026-03-31T00:00:00+00:00"
    deploy = json.loads(
        cli("inspect", "--profile", "local_features", "--step", "deploy", "--json", cwd=root).stdout
    )
    assert deploy["steps"][0]["status"] == "SUCCEEDED"
    failing = cli("job", "run", "monitoring", "--profile", "nosuch", cwd=root)
    assert failing.returncode == 1 and "task monitor failed (exit 1)" in failing.stderr
    unknown = cli("job", "run", "model-training", cwd=root)
    assert unknown.returncode == 1 and "no job 'model-training'" in unknown.stderr
