"""Monitoring on a scenario, through the real CLI: a stable month stays quiet, a covariate-drift
month alerts on the columns that moved, a concept-drift month alerts once its labels arrive (and
the estimate does not cry wolf on the stable month), and the trigger fires once per episode."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable
from mlflow.tracking import MlflowClient

from mlrecipes.loop.retrain import firings_of
from mlrecipes.sample_data.telco import generate
from tests.conftest import cli, copy_template
from tests.integration.test_card_in_browser import not_blank
from tests.report_browser import CHROMIUM, opened_report

pytestmark = pytest.mark.slow


def month(kind: str, seed: int, rows: int = 2000) -> pd.DataFrame:
    frame = generate(rows, seed)
    frame["customerID"] = [f"{kind[0].upper()}{seed}-{c}" for c in frame["customerID"]]
    rng = np.random.default_rng(seed)
    if kind == "covariate":  # pricier fiber, more month-to-month contracts, shorter tenure
        fiber = frame["InternetService"] == "Fiber optic"
        frame.loc[fiber, "MonthlyCharges"] = frame.loc[fiber, "MonthlyCharges"] + 25
        frame["Contract"] = rng.choice(
            ["Month-to-month", "One year", "Two year"], rows, p=[0.85, 0.1, 0.05]
        )
        frame["tenure"] = (frame["tenure"] // 3).astype(int)
    if kind == "concept":  # the same customers, but two-year contracts now churn
        two_year = frame["Contract"] == "Two year"
        frame.loc[two_year, "Churn"] = np.where(rng.random(int(two_year.sum())) < 0.75, "Yes", "No")
    return frame


def score(root: Path, name: str, frame: pd.DataFrame, when: str, *extra: str) -> dict:
    frame.drop(columns=["Churn"]).to_csv(root / "data" / f"{name}.csv", index=False)
    result = cli(
        "run", "--profile", "local", "--step", "monitor",
        "--var", f"SCORING_DATA_LOCATION=data/{name}.csv", "--var", f"SCORING_TIME={when}",
        *extra, cwd=root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    status = cli("inspect", "--profile", "local", "--step", "monitor", "--json", cwd=root)
    assert status.returncode == 0, status.stderr
    return json.loads(status.stdout)


def alerted_columns(window: dict) -> set[str]:
    return {c for c, d in window["drift"].items() if d["status"] == "alert"}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = copy_template(tmp_path_factory.mktemp("monitor") / "churn", rows=3000)
    trained = cli("run", "--profile", "local", cwd=root)
    assert trained.returncode == 0, trained.stderr
    months = {
        "stable": month("stable", 201),
        "covariate": month("covariate", 202),
        "concept": month("concept", 203),
        "after": month("stable", 204),
    }
    windows = {
        "stable": score(root, "stable", months["stable"], "2026-02-28T00:00:00"),
        "covariate": score(root, "covariate", months["covariate"], "2026-03-31T00:00:00"),
        "concept": score(root, "concept", months["concept"], "2026-04-30T00:00:00"),
    }
    # the outcomes of the first three months arrive with the fourth
    labels = pd.concat([months[k][["customerID", "Churn"]] for k in windows])
    labels.to_csv(root / "data" / "labels.csv", index=False)
    windows["after"] = score(
        root, "after", months["after"], "2026-05-31T00:00:00",
        "--var", "LABELS_DATA_LOCATION=data/labels.csv",
    )  # fmt: skip
    table = DeltaTable(str(root / "data/monitoring/churn_local")).to_pandas()
    return {"root": root, "months": months, "windows": windows, "table": table}


def test_a_stable_month_is_quiet(story: dict) -> None:
    stable = story["windows"]["stable"]
    assert stable["rows"] == 2000 and stable["model_version"] == "1"
    assert stable["alerts"] == [] and alerted_columns(stable) == set()
    assert stable["prediction_drift"]["status"] == "ok"
    assert stable["performance"] is None  # no labels yet
    # the estimate is not fooled into a false alarm
    assert stable["estimated_performance"]["roc_auc"]["status"] == "ok"


def test_covariate_drift_alerts_name_the_columns_that_moved(story: dict) -> None:
    window = story["windows"]["covariate"]
    assert {"MonthlyCharges", "Contract", "tenure"} <= alerted_columns(window)
    assert alerted_columns(window) <= {"MonthlyCharges", "Contract", "tenure", "TotalCharges"}
    assert any(line.startswith("drift MonthlyCharges") for line in window["alerts"])


def test_concept_drift_is_seen_in_the_labels_not_in_the_inputs(story: dict) -> None:
    concept = story["windows"]["concept"]
    assert alerted_columns(concept) == set()
    assert concept["prediction_drift"]["status"] != "alert"
    after = story["windows"]["after"]
    assert sorted(after["late_labelled_windows"]) == [
        "2026-02-28T00:00:00+00:00", "2026-03-31T00:00:00+00:00", "2026-04-30T00:00:00+00:00",
    ]  # fmt: skip
    table = story["table"]
    measured = table[(table["kind"] == "performance") & (table["metric"] == "roc_auc")]
    by_window = measured.set_index("window")["status"].to_dict()
    assert by_window["2026-04-30T00:00:00+00:00"] == "alert"
    assert by_window["2026-02-28T00:00:00+00:00"] == "ok"


def test_the_monitoring_table_and_mlflow_hold_every_window(story: dict) -> None:
    table = story["table"]
    assert table["window"].nunique() == 4
    assert set(table["kind"]) == {
        "drift",
        "prediction_drift",
        "estimated_performance",
        "performance",
    }
    assert set(table["model_version"]) == {"1"} and (table["rows"] == 2000).all()
    root = story["root"]
    uri = f"sqlite:///{root / 'metadata/mlflow/mlruns.db'}"
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("churn-local-monitoring")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4
    covariate = next(
        r for r in runs if r.data.tags["mlrecipes.monitor.window"].startswith("2026-03")
    )
    assert covariate.data.metrics["drift.MonthlyCharges.psi"] > 0.25


def test_monitoring_the_last_window_again_scores_nothing_and_appends_nothing(story: dict) -> None:
    """The monitoring job: `run --step monitor --only` takes predict's recorded window."""
    root = story["root"]
    before = DeltaTable(str(root / "data/monitoring/churn_local")).to_pandas()
    again = cli("run", "--profile", "local", "--step", "monitor", "--only", cwd=root)
    assert again.returncode == 0, again.stderr
    assert (
        "predict         cached" in again.stderr
        and "in the monitoring table already" in again.stderr
    )
    after = DeltaTable(str(root / "data/monitoring/churn_local")).to_pandas()
    assert len(after) == len(before)
    window = json.loads(
        cli("inspect", "--profile", "local", "--step", "monitor", "--json", cwd=root).stdout
    )
    assert window["window"] == story["windows"]["after"]["window"]
    # the result line says what this run did: it monitored, it scored nothing (#29)
    result = again.stdout.strip().splitlines()[-1]
    assert result.startswith(f"window {window['window']}: 2000 rows, ") and "scored" not in result
    never = cli("run", "--profile", "local_features", "--step", "monitor", "--only", cwd=root)
    assert never.returncode == 1
    assert (
        "--only monitor uses the recorded outputs of 'ingest_scoring', but its last run is NOT_RUN"
        in never.stderr
    )


def test_a_slim_scores_table_still_gets_input_drift_from_the_scoring_input(
    story: dict, tmp_path: Path
) -> None:
    # #31, 13: scored with SCORING_KEEP_INPUT_COLUMNS=false, a window used to get drift {} with
    # no word (a slim table), or null-rate alerts on every column (slim rows appended to a full
    # table, as here). Its input columns are counted from the rows predict scored instead.
    root = tmp_path / "churn"
    shutil.copytree(story["root"], root)
    slim = score(
        root, "covariate_again", month("covariate", 202), "2026-06-30T00:00:00",
        "--var", "SCORING_KEEP_INPUT_COLUMNS=false",
    )  # fmt: skip
    full = story["windows"]["covariate"]
    assert slim["input_drift_from"] == "the scoring input (the scores table keeps no input columns)"
    assert full["input_drift_from"] == "the scores table"
    assert slim["drift"] == full["drift"]  # the same month: the same figures, to the digit
    assert not any("null_rate" in d["metric"] for d in slim["drift"].values())
    scores = DeltaTable(str(root / "data/scores/churn_local")).to_pandas()
    window = scores[scores["scored_at"] == scores["scored_at"].max()]
    assert window["MonthlyCharges"].isna().all()  # the table really kept no input column


def test_the_trigger_fires_once_per_episode(story: dict) -> None:
    root = story["root"]
    dry = cli("retrain", "--profile", "local", "--dry-run", "--json", cwd=root)
    assert dry.returncode == 0, dry.stderr
    verdict = json.loads(dry.stdout)
    assert verdict["fired"] and verdict["run"] is None and verdict["deploy"] is None
    assert "2 of the last 3 windows breached" in verdict["reason"]
    # the latest data: the original customers and new ones (the drifted months' labels were
    # made before their inputs moved, so they would only teach noise)
    months = story["months"]
    sample = pd.read_csv(root / "data" / "telco_sample.csv")
    latest = pd.concat([sample, months["stable"], months["after"]])
    latest.to_csv(root / "data" / "latest.csv", index=False)
    fired = cli(
        "retrain", "--profile", "local", "--json", "--var", "INGEST_DATA_LOCATION=data/latest.csv",
        cwd=root,
    )  # fmt: skip
    assert fired.returncode == 0, fired.stderr
    result = json.loads(fired.stdout)
    assert result["fired"] and str(result["run"]["registered_model_version"]) == "2"
    deploy = result["deploy"]
    assert deploy["decision"] in ("promoted", "kept") and deploy["challenger_version"] == "2"
    uri = f"sqlite:///{root / 'metadata/mlflow/mlruns.db'}"
    champion = str(MlflowClient(uri, uri).get_model_version_by_alias("churn", "champion").version)
    assert champion == ("2" if deploy["decision"] == "promoted" else "1")
    again = json.loads(cli("retrain", "--profile", "local", "--json", cwd=root).stdout)
    assert not again["fired"] and again["reason"].startswith("cooldown")
    trigger = DeltaTable(str(root / "data/monitoring/churn_local_trigger")).to_pandas()
    trigger["started"] = trigger["run"] == json.dumps({"state": "started"})
    trigger = trigger.sort_values(["evaluated_at", "started"], ascending=[True, False])
    # the dry run; the firing, recorded before the retrain and with its result; the cooldown
    assert list(trigger["fired"]) == [True, True, True, False]
    assert list(trigger["dry_run"]) == [True, False, False, False]
    assert list(trigger["started"]) == [False, True, False, False]
    assert len(firings_of(trigger)) == 1
    # one clock (#25): a month back-filled with --at after the retrain (its window time is long
    # before the retrain's wall-clock time, after every window the retrain saw) counts
    score(root, "june", months["after"], "2026-06-30T00:00:00")
    later = json.loads(cli("retrain", "--profile", "local", "--dry-run", "--json", cwd=root).stdout)
    assert later["reason"] == (
        "1 window(s) since the retrain at window 2026-05-31T00:00:00+00:00; the rule looks at the "
        "last 3"
    )
    assert [w["window"] for w in later["windows"]] == ["2026-06-30T00:00:00+00:00"]


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's package)"
)
def test_the_report_opens_with_its_plots_and_no_network(story: dict) -> None:
    report = story["root"] / ".mlrecipes/local/steps/monitor/outputs/monitoring_report.html"
    with opened_report(report, "monitoring_report.png") as opened:
        images = opened.loaded_images(3)
        assert opened.page.locator("text=2026-04-30 00:00").count() >= 2  # windows and alerts
        colours, ink = not_blank(images.nth(0).screenshot())
    assert opened.problems == []
    assert all(url.startswith(("file:", "data:")) for url in opened.requests), opened.requests
    assert colours > 20 and ink > 0.05


def test_the_estimate_says_how_far_it_can_be_trusted(story: dict) -> None:
    """The template's calibrated model passes its holdout check, so its estimate carries a 90%
    interval and no caveat; the stable month's measurement falls inside it, the concept-drift
    month's (which no label-free estimate can see) below it."""
    table = story["table"]
    intervals = {}
    for name in ("stable", "concept"):
        summary = story["windows"][name]["estimate"]
        assert summary["caveats"] == [] and summary["calibration"] in {"none", "isotonic"}
        intervals[name] = summary["interval_90"]["roc_auc"]
        estimate = story["windows"][name]["estimated_performance"]["roc_auc"]["value"]
        assert intervals[name][0] < estimate < intervals[name][1]
    measured = table[(table["kind"] == "performance") & (table["metric"] == "roc_auc")]
    by_window = measured.set_index("window")["value"].to_dict()
    low, high = intervals["stable"]
    assert low <= by_window["2026-02-28T00:00:00+00:00"] <= high
    assert by_window["2026-04-30T00:00:00+00:00"] < intervals["concept"][0]
    card = (story["root"] / ".mlrecipes/local/steps/monitor/card.html").read_text()
    assert "90% of measured values fall in" in card and "NOT SUPPORTED" not in card
    report = story["root"] / ".mlrecipes/local/steps/monitor/outputs/monitoring_report.html"
    assert "estimate (ROC AUC [90% interval])" in report.read_text()


# last: it monitors into its own table, and its report replaces the scenario's
@pytest.mark.skipif(shutil.which("java") is None, reason="the Spark engine needs Java (17)")
def test_a_window_scored_by_spark_is_monitored_by_spark_with_the_same_figures(
    story: dict,
) -> None:
    """predict on Spark, so monitor aggregates on Spark: the same rows as the pandas engine's
    (both score the same month with the same champion, into tables of their own)."""
    root, when, month = story["root"], "2026-06-30T00:00:00", story["months"]["after"]
    tables = {}
    for engine in ("pandas", "spark"):
        window = score(
            root, "after", month, when, "--var", f"SCORING_ENGINE={engine}",
            "--var", f"SCORING_OUTPUT_LOCATION=data/scores/{engine}",
            "--var", f"MONITORING_TABLE_LOCATION=data/monitoring/{engine}",
        )  # fmt: skip
        assert window["rows"] == 2000
        status = json.loads(
            cli("inspect", "--profile", "local", "--step", "predict", "--json", cwd=root).stdout
        )
        assert status["engine"] == engine
        tables[engine] = DeltaTable(str(root / f"data/monitoring/{engine}")).to_pandas()
    spark_rows, pandas_rows = tables["spark"], tables["pandas"]
    key = ["kind", "column", "metric"]
    joined = pandas_rows.merge(spark_rows, on=key, suffixes=("_pandas", "_spark"))
    assert len(joined) == len(pandas_rows) == len(spark_rows) > 40
    assert np.allclose(joined["value_pandas"], joined["value_spark"], rtol=1e-9, atol=1e-12)
    assert (joined["status_pandas"] == joined["status_spark"]).all()
