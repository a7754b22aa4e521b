"""`mlrecipes ui --profile local` (#29): MLflow's UI on the profile's own store, started without
an activated venv, listing the recipe's runs in headless Chromium, and writing nothing into the
recipe (a plain `mlflow ui` showed only the Default experiment and left an `mlflow.db` in the
repository root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import cli, copy_template
from tests.integration.test_trust_runs import MLRECIPES
from tests.report_browser import CHROMIUM
from tests.servers import free_port, running

pytestmark = pytest.mark.slow


def _files(root: Path) -> set[str]:
    """Every file of the recipe but the execution directory (where the UI's folder is)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if ".mlrecipes" not in p.parts}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_template(tmp_path_factory.mktemp("ui") / "churn", rows=3000)
    done = cli("run", "--profile", "local", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_ui_lists_the_recipes_runs_and_writes_nothing_into_the_recipe(trained: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.integration.test_card_in_browser import FLAGS

    uri = f"sqlite:///{trained / 'metadata/mlflow/mlruns.db'}"
    client = MlflowClient(uri, uri)
    experiment = client.get_experiment_by_name("churn-local")
    [recorded] = client.search_runs([experiment.experiment_id])
    before = _files(trained)
    port = free_port()
    args = [
        MLRECIPES,
        "ui",
        "--profile",
        "local",
        "--port",
        str(port),
        "--recipe-root",
        str(trained),
    ]
    log = trained.parent / "ui.log"
    server = running(args, "/health", port, log, env={"PATH": "/usr/bin:/bin"}, timeout=120)
    with server as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/#/experiments/{experiment.experiment_id}/runs")
        page.get_by_text(recorded.info.run_name).first.wait_for(timeout=60_000)
        # the experiment's name renders after its runs on a loaded machine: waited for, not
        # sampled (wait_for raises when it never shows)
        page.get_by_text("churn-local").first.wait_for(state="visible", timeout=60_000)
        pictures = os.environ.get("MLRECIPES_PICTURES")  # `make pictures`: the README's
        if pictures:
            page.wait_for_timeout(1000)
            page.screenshot(path=str(Path(pictures) / "mlflow_ui.png"))
        browser.close()
    said = log.read_text()
    assert f"MLflow UI for profile local ({uri}) at {base}" in said
    assert _files(trained) == before  # no mlflow.db, mlruns or mlartifacts in the recipe


def test_a_profile_tracked_on_a_server_is_pointed_there(trained: Path) -> None:
    server = {"MLFLOW_TRACKING_URI": "http://ci:s3cret@127.0.0.1:9/"}  # never contacted
    out = cli("ui", "--profile", "local", cwd=trained, env=server)
    assert out.returncode == 0, out.stderr
    assert "its UI is there" in out.stdout and "127.0.0.1:9" in out.stdout
    assert "s3cret" not in out.stdout + out.stderr
