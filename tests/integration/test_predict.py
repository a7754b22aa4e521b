"""Batch scoring: ingest_scoring + predict with the registered model, Delta/parquet output."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mlrecipes.errors import StepError
from mlrecipes.execution.runner import Reporter
from mlrecipes.recipe import Recipe
from tests.conftest import cli, copy_template

pytestmark = pytest.mark.slow
OUTPUT = "data/scores/churn_local"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_template(tmp_path_factory.mktemp("predict") / "churn", rows=2500)
    Recipe("local", root=root, reporter=Reporter()).run()
    return root


def recipe(root: Path, **variables) -> Recipe:
    return Recipe("local", root=root, variables=variables, reporter=Reporter())


def test_slim_output_keeps_only_the_id_columns(trained: Path) -> None:
    recipe(
        trained,
        SCORING_KEEP_INPUT_COLUMNS=False,
        SCORING_OUTPUT_LOCATION="data/scores/slim",
        SCORING_SAVE_MODE="overwrite",
    ).run("predict")
    assert list(read_delta(trained, "data/scores/slim").columns) == [
        "customerID", "predicted_score_No", "predicted_score_Yes", "predicted_score", "predicted_label",
        "model_name", "model_version", "scored_at", "scoring_date",
    ]  # fmt: skip


def read_delta(root: Path, location: str = OUTPUT) -> pd.DataFrame:
    from deltalake import DeltaTable

    return DeltaTable(str(root / location)).to_pandas()


def test_predict_scores_with_the_registered_model_and_appends_dates(trained: Path) -> None:
    first = cli(
        "run",
        "--profile",
        "local",
        "--step",
        "predict",
        "--var",
        "SCORING_TIME=2026-11-20T06:00:00",
        cwd=trained,
    )
    assert first.returncode == 0, first.stderr
    status = json.loads(
        cli("inspect", "--profile", "local", "--step", "predict", "--json", cwd=trained).stdout
    )
    assert status["output"] == {"using": "delta", "location": OUTPUT}
    assert status["rows_scored"] == 2500
    assert (status["model_uri"], status["model_name"], status["model_version"]) == (
        "models:/churn@champion",  # the deploy step of the training run made version 1 champion
        "churn",
        "1",
    )
    scores = read_delta(trained)
    scoring_data = trained / ".mlrecipes/local/steps/ingest_scoring/outputs/scoring-dataset.parquet"
    assert list(scores.columns) == [
        *pd.read_parquet(scoring_data).columns,
        "predicted_score_No", "predicted_score_Yes", "predicted_score", "predicted_label",
        "model_name", "model_version", "scored_at", "scoring_date",
    ]  # fmt: skip
    # the model's inputs are written as the model's types (CSV columns are read as text)
    assert scores["tenure"].dtype.kind in "if" and scores["gender"].dtype == object
    assert scores["customerID"].is_unique and len(scores) == 2500
    assert ((scores["predicted_score_No"] + scores["predicted_score_Yes"]) - 1).abs().max() < 1e-9

    from deltalake import DeltaTable

    files_before = set(DeltaTable(str(trained / OUTPUT)).file_uris())
    second = cli(
        "run",
        "--profile",
        "local",
        "--step",
        "predict",
        "--var",
        "SCORING_TIME=2026-11-27T06:00:00",
        cwd=trained,
    )
    assert second.returncode == 0, second.stderr
    assert "ingest_scoring" in second.stdout.split("cached:")[1]  # the scoring data did not change
    table = DeltaTable(str(trained / OUTPUT))
    assert files_before <= set(table.file_uris())  # the first date's files were not rewritten
    scores = table.to_pandas()
    assert sorted(scores["scoring_date"].unique()) == ["2026-11-20", "2026-11-27"]
    assert len(scores) == 5000


def test_the_readmes_lines_read_the_scores(trained: Path) -> None:
    """#29: the batch-scoring guide's snippet for reading the scores, run as written."""
    import re

    from tests.conftest import REPO

    guide = (REPO / "docs" / "how-to" / "batch-scoring.md").read_text()
    block = re.search(r"Reading the scores.*?```python\n(.*?)```", guide, re.S).group(1)
    assert OUTPUT in block
    names: dict = {}
    cwd = Path.cwd()
    try:
        os.chdir(trained)
        exec(block, names)
    finally:
        os.chdir(cwd)
    latest, at_risk = names["latest"], names["at_risk"]
    assert len(latest) == 2500 and latest["scored_at"].nunique() == 1  # the last window only
    assert len(at_risk) == 100 and at_risk["predicted_score"].is_monotonic_decreasing


def test_without_a_champion_predict_refuses_and_without_deploy_uses_the_challenger(
    trained: Path,
) -> None:
    """With a deploy step only a chosen champion scores (#31: the register alias may hold a
    version deploy kept out); a recipe without deploy scores its register alias, and says so."""
    from mlflow.tracking import MlflowClient

    uri = recipe(trained).status()["tracking_uri"]
    client = MlflowClient(uri, uri)
    champion = client.get_model_version_by_alias("churn", "champion").version
    client.delete_registered_model_alias("churn", "champion")
    recipe_file = trained / "recipe.yaml"
    text = recipe_file.read_text()
    scoring = ("--var", "SCORING_SAVE_MODE=overwrite",
               "--var", "SCORING_OUTPUT_LOCATION=data/scores/fallback")  # fmt: skip
    try:
        out = cli("run", "--profile", "local", "--step", "predict", *scoring, cwd=trained)
        assert out.returncode == 1
        assert "churn: there is no champion; predict scores only a version deploy or a reviewer chose" in out.stderr  # fmt: skip
        assert not (trained / "data" / "scores" / "fallback").exists()
        start, end = text.index("  deploy:"), text.index("  predict:")
        recipe_file.write_text(text[:start] + text[end:])
        out = cli("run", "--profile", "local", "--step", "predict", *scoring, cwd=trained)
        assert out.returncode == 0, out.stderr
        assert "warning: churn has no champion yet; scoring with @challenger" in out.stderr
    finally:
        recipe_file.write_text(text)
        client.set_registered_model_alias("churn", "champion", champion)


def test_champion_is_preferred_and_an_explicit_model_uri_wins(trained: Path) -> None:
    from mlflow.tracking import MlflowClient

    r = recipe(
        trained, SCORING_SAVE_MODE="overwrite", SCORING_OUTPUT_LOCATION="data/scores/champion"
    )
    uri = r.status()["tracking_uri"]
    client = MlflowClient(uri, uri)
    r.run("train")  # nothing to do: cached
    # a second version, then promote version 1 to champion
    r.clean("train")
    r.run()
    assert str(client.get_model_version_by_alias("churn", "challenger").version) == "2"
    client.set_registered_model_alias("churn", "champion", "1")
    r.run("predict")
    assert r.status("predict")["model_uri"] == "models:/churn@champion"
    assert r.status("predict")["model_version"] == "1"
    explicit = recipe(
        trained, SCORING_SAVE_MODE="overwrite", SCORING_OUTPUT_LOCATION="data/scores/explicit"
    )
    edit_predict_model_uri(trained, "models:/churn/2")
    try:
        explicit.run("predict")
        assert explicit.status("predict")["model_version"] == "2"
        assert read_delta(trained, "data/scores/explicit")["model_version"].unique().tolist() == [
            "2"
        ]
    finally:
        edit_predict_model_uri(trained, None)


def edit_predict_model_uri(root: Path, uri: str | None) -> None:
    path = root / "recipe.yaml"
    lines = [line for line in path.read_text().splitlines() if "model_uri:" not in line]
    if uri:
        at = lines.index("  predict:") + 1
        lines.insert(at, f'    model_uri: "{uri}"')
    path.write_text("\n".join(lines) + "\n")


def write_scoring(root: Path, frame: pd.DataFrame) -> str:
    path = root / "data" / "to_score.csv"
    frame.to_csv(path, index=False)
    return "data/to_score.csv"


def test_scoring_data_missing_a_column_fails_before_writing(trained: Path) -> None:
    data = pd.read_csv(trained / "data" / "telco_sample.csv").drop(columns=["Churn", "Contract"])
    location = write_scoring(trained, data)
    r = recipe(trained, SCORING_DATA_LOCATION=location, SCORING_OUTPUT_LOCATION="data/scores/bad1")
    with pytest.raises(StepError, match=r"missing columns \['Contract'\].*Nothing was written"):
        r.run("predict")
    assert not (trained / "data" / "scores" / "bad1").exists()


def test_scoring_data_with_a_wrong_type_fails_before_writing(trained: Path) -> None:
    data = pd.read_csv(trained / "data" / "telco_sample.csv").drop(columns=["Churn"])
    data["tenure"] = data["tenure"].map(lambda v: f"{v} months")
    location = write_scoring(trained, data)
    r = recipe(trained, SCORING_DATA_LOCATION=location, SCORING_OUTPUT_LOCATION="data/scores/bad2")
    with pytest.raises(
        StepError,
        match=r"column 'tenure', data row 1: '\d+ months' is not a valid long.*Nothing was written",
    ):
        r.run("predict")
    assert not (trained / "data" / "scores" / "bad2").exists()


def test_unknown_model_uri_names_what_was_looked_up(trained: Path) -> None:
    edit_predict_model_uri(trained, "models:/churn@nonexistent")
    try:
        r = recipe(trained, SCORING_OUTPUT_LOCATION="data/scores/bad3")
        with pytest.raises(
            StepError, match=r"models:/churn@nonexistent not found in the registry at sqlite"
        ):
            r.run("predict")
    finally:
        edit_predict_model_uri(trained, None)
    assert not (trained / "data" / "scores" / "bad3").exists()


def test_no_registered_model_names_the_aliases_tried(tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=300)
    with pytest.raises(
        StepError, match=r"looked up models:/churn@champion and models:/churn@challenger"
    ):
        recipe(root).run("predict")


def test_parquet_output_overwrite(trained: Path) -> None:
    path = trained / "recipe.yaml"
    original = path.read_text()
    path.write_text(original.replace('using: "delta"', 'using: "parquet"'))
    try:
        r = recipe(trained, SCORING_SAVE_MODE="overwrite", SCORING_OUTPUT_LOCATION="data/scores/pq")
        r.run("predict")
        r.run("predict")
        out = pd.read_parquet(trained / "data" / "scores" / "pq")
        assert len(out) == 2500  # overwritten, not appended
        assert r.get_artifact("scored_data") is not None
    finally:
        path.write_text(original)


@pytest.mark.skipif(
    shutil.which("java") is None, reason="the Spark engine needs a Java runtime (17)"
)
def test_spark_engine_gives_identical_scores(trained: Path) -> None:
    pytest.importorskip("pyspark")
    pandas_run = recipe(
        trained, SCORING_SAVE_MODE="overwrite", SCORING_OUTPUT_LOCATION="data/scores/pandas_engine"
    )
    pandas_run.run("predict")
    spark_run = recipe(
        trained,
        SCORING_ENGINE="spark",
        SCORING_SAVE_MODE="overwrite",
        SCORING_OUTPUT_LOCATION="data/scores/spark_engine",
    )
    spark_run.run("predict")
    status = spark_run.status("predict")
    assert status["engine"] == "spark" and status["rows_scored"] == 2500
    a = read_delta(trained, "data/scores/pandas_engine").set_index("customerID").sort_index()
    b = read_delta(trained, "data/scores/spark_engine").set_index("customerID").sort_index()
    assert list(a.columns) == list(b.columns)
    assert a.index.equals(b.index)
    for column in ("predicted_score_No", "predicted_score_Yes", "predicted_score"):
        assert (a[column] - b[column]).abs().max() < 1e-9
    assert (a["predicted_label"] == b["predicted_label"]).all()


def test_delta_overwrite_replaces_the_table(trained: Path) -> None:
    r = recipe(
        trained, SCORING_SAVE_MODE="overwrite", SCORING_OUTPUT_LOCATION="data/scores/overwritten"
    )
    r.run("predict")
    r.run("predict")
    from deltalake import DeltaTable

    table = DeltaTable(str(trained / "data/scores/overwritten"))
    assert table.version() == 1 and len(table.to_pandas()) == 2500
    assert table.metadata().partition_columns == ["scoring_date"]
