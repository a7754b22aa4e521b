"""The up-to-date manifest: any change to what it watches sends the run down the full check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlrecipes.execution import fastpath
from mlrecipes.execution.context import load_recipe
from tests.conftest import copy_template

PLAN = ["ingest", "split"]


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    root = tmp_path / "recipe"
    (root / "steps").mkdir(parents=True)
    data = root / "data.csv"
    data.write_text("a,b\n1,2\n")
    (root / "steps" / "train.py").write_text("x = 1\n")
    monkeypatch.setenv("CHURN_TEST_SETTING", "one")
    ws = tmp_path / "ws"
    watched = [fastpath.stat_entry(p) for p in [data, *fastpath.tree_paths(root / "steps")]]
    fastpath.write_manifest(ws, root, "local", "split", PLAN, {}, ["CHURN_TEST_SETTING"], watched)
    return root, ws, data


def check(root: Path, ws: Path, overrides: dict | None = None, target: str = "split"):
    return fastpath.up_to_date_plan(ws, root, "local", target, overrides or {})


def test_unchanged_inputs_return_the_plan(setup) -> None:
    root, ws, _ = setup
    assert check(root, ws) == PLAN


def test_a_touch_without_a_content_change_still_invalidates(setup) -> None:
    root, ws, data = setup
    os.utime(data, ns=(data.stat().st_atime_ns, data.stat().st_mtime_ns + 1_000_000))
    assert check(root, ws) is None


def test_a_new_file_under_steps_invalidates(setup) -> None:
    root, ws, _ = setup
    (root / "steps" / "helpers.py").write_text("y = 2\n")
    assert check(root, ws) is None


def test_a_deleted_file_invalidates(setup) -> None:
    root, ws, data = setup
    data.unlink()
    assert check(root, ws) is None


def test_an_environment_variable_read_by_the_templates_invalidates(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, ws, _ = setup
    monkeypatch.setenv("CHURN_TEST_SETTING", "two")
    assert check(root, ws) is None
    monkeypatch.delenv("CHURN_TEST_SETTING")
    assert check(root, ws) is None


def test_tracking_environment_is_always_part_of_the_context(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, ws, _ = setup
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert check(root, ws) is None


def test_overrides_target_and_corrupt_manifests(setup) -> None:
    root, ws, _ = setup
    assert check(root, ws, overrides={"C": 0.3}) is None
    assert check(root, ws, target="register") is None  # no manifest for that target
    assert check(root, ws, target="../split") is None
    fastpath.manifest_path(ws, "split").write_text("{not json")
    assert check(root, ws) is None


def test_loading_a_recipe_records_what_rendering_read(tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=50)
    loaded = load_recipe(root, "local")
    files = {Path(f).relative_to(root).as_posix() for f in loaded.template_inputs.files}
    assert {"recipe.yaml", "profiles/local.yaml"} <= files
    assert "MLFLOW_TRACKING_URI" in loaded.template_inputs.env_names


def test_bytecode_caches_written_by_python_do_not_invalidate(setup) -> None:
    root, ws, _ = setup
    (root / "steps" / "__pycache__").mkdir()
    (root / "steps" / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    assert check(root, ws) == PLAN
