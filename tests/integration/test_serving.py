"""REST scoring: `mlrecipes serve --profile local` (MLflow's scoring server for the champion,
started without an activated venv) on 127.0.0.1, answering the sample payloads in requests/ with
the responses recorded next to them.

Set MLRECIPES_RECORD_RESPONSES=1 to rewrite requests/*.response.json from the live server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlrecipes.execution.runner import Reporter
from mlrecipes.recipe import Recipe
from tests.conftest import REPO, cli, copy_template
from tests.integration.test_trust_runs import MLRECIPES
from tests.servers import free_port, post_json, running

pytestmark = pytest.mark.slow
REQUESTS = REPO / "requests"
PAYLOADS = sorted(p for p in REQUESTS.glob("*.json") if not p.name.endswith(".response.json"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    # The same data as `make data` (7,043 rows, seed 42), so responses match the recorded ones.
    root = copy_template(tmp_path_factory.mktemp("serve") / "churn", rows=7043, seed=42)
    recipe = Recipe("local", root=root, reporter=Reporter())
    recipe.run()
    uri = recipe.status()["tracking_uri"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri, uri)
    version = client.get_model_version_by_alias("churn", "challenger").version
    client.set_registered_model_alias("churn", "champion", str(version))
    port = free_port()
    # no venv on PATH: the command finds uvicorn itself (#29: `mlflow models serve` did not)
    args = [
        MLRECIPES,
        "serve",
        "--profile",
        "local",
        "--port",
        str(port),
        "--recipe-root",
        str(root),
    ]
    log = root / "serve.log"
    with running(args, "/ping", port, log, env={"PATH": "/usr/bin:/bin"}, timeout=120) as base:
        yield base, root, version
    assert (
        f"serving churn v{version} (what batch scoring uses) at {base}/invocations"
        in log.read_text()
    )


def test_there_are_sample_payloads() -> None:
    assert {p.stem for p in PAYLOADS} >= {"three_customers", "new_customer_blank_total_charges"}


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.stem)
def test_payload_gets_its_recorded_response(server: tuple, payload: Path) -> None:
    server = server[0]
    body = payload.read_bytes()
    status, raw = post_json(server + "/invocations", body)
    assert status == 200, raw[:500]
    predictions = json.loads(raw)["predictions"]
    rows = len(json.loads(body)["dataframe_split"]["data"])
    assert len(predictions) == rows
    for row in predictions:
        assert set(row) == {
            "predicted_score_No",
            "predicted_score_Yes",
            "predicted_score",
            "predicted_label",
        }
        assert row["predicted_score_No"] + row["predicted_score_Yes"] == pytest.approx(1.0)
        assert row["predicted_score"] == row["predicted_score_Yes"]  # P(churn), not P(label)
        assert row["predicted_label"] in ("Yes", "No")
    recorded = payload.with_name(payload.stem + ".response.json")
    if os.environ.get("MLRECIPES_RECORD_RESPONSES") == "1":
        recorded.write_text(json.dumps({"predictions": predictions}, indent=1) + "\n")
    expected = json.loads(recorded.read_text())["predictions"]
    for got, want in zip(predictions, expected, strict=True):
        assert got["predicted_label"] == want["predicted_label"]
        assert got["predicted_score_Yes"] == pytest.approx(want["predicted_score_Yes"], abs=1e-6)


def test_bad_payload_gets_400(server: tuple) -> None:
    server = server[0]
    body = json.loads((REQUESTS / "three_customers.json").read_text())
    index = body["dataframe_split"]["columns"].index("Contract")
    body["dataframe_split"]["columns"].pop(index)
    for row in body["dataframe_split"]["data"]:
        row.pop(index)
    status, raw = post_json(server + "/invocations", json.dumps(body).encode())
    assert status == 400
    assert "Contract" in raw.decode()
    status, _ = post_json(server + "/invocations", b'{"not_a_format": 1}')
    assert status == 400


def test_serve_names_what_it_cannot_serve_in_one_line(server: tuple) -> None:
    _, root, version = server
    for args, said in (
        (
            ("--alias", "nope"),
            "Error: churn has no alias @nope (its aliases: @challenger, @champion)",
        ),
        (("--version", "99"), f"Error: churn has no version 99 (its versions: {version})"),
    ):
        out = cli("serve", "--profile", "local", *args, cwd=root)
        assert out.returncode == 1 and out.stderr.strip() == said
    both = cli("serve", "--profile", "local", "--alias", "champion", "--version", "1", cwd=root)
    assert both.returncode == 2 and "give --alias or --version, not both" in both.stderr
