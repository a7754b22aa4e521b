"""The Spark engines on a real standalone cluster (a master and two one-core workers, each a JVM
of its own, started from the installed pyspark on 127.0.0.1): features, the point-in-time
training set, batch scoring and monitoring equal the pandas engine's (#28)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlrecipes.demo.spark_servers import spark_back_end
from tests.integration.spark_scenario import (
    assert_same_features,
    assert_same_monitoring,
    assert_same_scores,
    feature_outputs,
    features_root,
    scoring_outputs,
    trained_root,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="a Spark cluster needs Java (17)"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    with spark_back_end("standalone", tmp_path_factory.mktemp("spark-standalone")) as env:
        yield env


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_root(tmp_path_factory.mktemp("trained") / "churn")


def test_features_and_the_training_set_on_the_cluster(
    cluster: dict[str, str], tmp_path: Path
) -> None:
    expected = feature_outputs(features_root(tmp_path / "pandas"), "pandas", {})
    got = feature_outputs(features_root(tmp_path / "spark"), "spark", cluster)
    assert_same_features(expected, got)


def test_scoring_and_monitoring_on_the_cluster(cluster: dict[str, str], trained: Path) -> None:
    scores, table, status = scoring_outputs(trained, "pandas", "pandas", {})
    assert status["engine"] == "pandas"
    spark_scores, spark_table, spark_status = scoring_outputs(trained, "spark", "cluster", cluster)
    assert spark_status["engine"] == "spark" and spark_status["rows_scored"] == 2000
    assert_same_scores(scores, spark_scores)
    assert_same_monitoring(table, spark_table)
