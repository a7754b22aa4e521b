"""The Spark engines through Spark Connect (no JVM in the client, no RDD, no ``_jvm``: how
Databricks serverless, shared clusters, Databricks Connect and Spark 4 clients talk to Spark),
against two real servers on 127.0.0.1: Spark's own Spark Connect server (its jar ships with
pyspark) and Sail (``pysail``, no JVM, writes Delta itself). Features, the point-in-time
training set, batch scoring and monitoring equal the pandas engine's (#28)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from deltalake import DeltaTable

from mlrecipes.demo.spark_servers import spark_back_end
from tests.conftest import cli
from tests.integration.spark_scenario import (
    WHEN,
    assert_same_features,
    assert_same_monitoring,
    assert_same_scores,
    feature_outputs,
    features_root,
    scoring_outputs,
    trained_root,
)

pytestmark = pytest.mark.slow

SERVERS = [
    pytest.param(
        "connect",
        marks=pytest.mark.skipif(shutil.which("java") is None, reason="Spark's server needs Java"),
    ),
    "sail",
]


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    if request.param == "sail":
        pytest.importorskip("pysail", reason="Sail is the optional extra mlrecipes[sail]")
    with spark_back_end(request.param, tmp_path_factory.mktemp(f"spark-{request.param}")) as env:
        yield {"kind": request.param, "env": env}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_root(tmp_path_factory.mktemp("trained") / "churn")


@pytest.fixture(scope="module")
def pandas_side(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    features = feature_outputs(features_root(tmp_path_factory.mktemp("pandas")), "pandas", {})
    scores, table, status = scoring_outputs(trained, "pandas", "pandas", {})
    assert status["engine"] == "pandas"
    return {"features": features, "scores": scores, "table": table}


def test_features_and_the_training_set_through_spark_connect(
    server: dict, pandas_side: dict, tmp_path: Path
) -> None:
    got = feature_outputs(features_root(tmp_path / "spark"), "spark", server["env"])
    assert_same_features(pandas_side["features"], got)


def test_scoring_and_monitoring_through_spark_connect(
    server: dict, pandas_side: dict, trained: Path
) -> None:
    name = f"connect_{server['kind']}"
    scores, table, status = scoring_outputs(trained, "spark", name, server["env"])
    assert status["engine"] == "spark" and status["rows_scored"] == 2000
    assert_same_scores(pandas_side["scores"], scores)
    assert_same_monitoring(pandas_side["table"], table)
    # who committed the Delta table: Sail writes Delta itself (format("delta"), after the checks
    # every output write passes); Spark's own server has no Delta here, so deltalake commits
    # the rows Spark staged, in one commit either way
    history = DeltaTable(str(trained / "data" / "scores" / name)).history()
    writer = "sail-delta-lake" if server["kind"] == "sail" else "delta-rs"
    assert len(history) == 1 and history[0]["engineInfo"].startswith(writer), history[0]


def test_output_checks_hold_when_spark_writes_delta_itself(server: dict, trained: Path) -> None:
    """save_mode error over an existing output is refused before Spark writes anything, on
    either path (one check, ``io.batches.output_writable``)."""
    name = f"checks_{server['kind']}"

    def predict(save_mode: str, when: str) -> object:
        return cli(
            "run", "--profile", "local", "--step", "predict",
            "--var", "SCORING_DATA_LOCATION=data/month.csv", "--var", f"SCORING_TIME={when}",
            "--var", "SCORING_ENGINE=spark", "--var", f"SCORING_SAVE_MODE={save_mode}",
            "--var", f"SCORING_OUTPUT_LOCATION=data/scores/{name}",
            cwd=trained, env=server["env"],
        )  # fmt: skip

    first = predict("append", WHEN)
    assert first.returncode == 0, first.stderr[-2000:]
    table = trained / "data" / "scores" / name
    before = DeltaTable(str(table)).version()
    refused = predict("error", "2026-03-31T00:00:00")  # a new window: only the mode refuses
    assert refused.returncode != 0
    assert "already exists and save_mode is error" in refused.stderr, refused.stderr[-2000:]
    assert DeltaTable(str(table)).version() == before
