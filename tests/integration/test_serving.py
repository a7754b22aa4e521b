"""REST scoring: `mlflow models serve -m models:/churn@champion --env-manager local` on 127.0.0.1,
answering the sample payloads in requests/ with the responses recorded next to them.

Set MLRECIPES_RECORD_RESPONSES=1 to rewrite requests/*.response.json from the live server.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from mlrecipes.execution.runner import Reporter
from mlrecipes.recipe import Recipe
from tests.conftest import REPO, copy_template
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
    args = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/churn@champion",
            "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    env = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri}
    with running(args, "/ping", port, root / "serve.log", env=env, timeout=120) as base:
        yield base


def test_there_are_sample_payloads() -> None:
    assert {p.stem for p in PAYLOADS} >= {"three_customers", "new_customer_blank_total_charges"}


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.stem)
def test_payload_gets_its_recorded_response(server: str, payload: Path) -> None:
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


def test_bad_payload_gets_400(server: str) -> None:
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
