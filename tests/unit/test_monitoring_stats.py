"""The monitoring statistics as pure functions: drift, measured and estimated performance, and
the retraining trigger's hysteresis, cooldown and daily cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from mlrecipes.monitoring import counts, drift, performance
from mlrecipes.monitoring.trigger import Firing, Window, decide


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "MonthlyCharges": rng.uniform(18, 119, 5000),
            "tenure": rng.gamma(1.6, 20, 5000).round(),
            "Contract": rng.choice(
                ["Month-to-month", "One year", "Two year"], 5000, p=[0.55, 0.21, 0.24]
            ),
        }
    )


def _summary(frame: pd.DataFrame) -> dict[str, drift.ColumnSummary]:
    return {c: drift.summarize(frame[c]) for c in frame.columns}


def _by(found: list[drift.Drift]) -> dict[tuple[str, str], float]:
    return {(d.column, d.metric): d.value for d in found}


def window_drift(
    summaries: dict[str, drift.ColumnSummary], window: pd.DataFrame
) -> list[drift.Drift]:
    return counts.drift_of(summaries, counts.frame_counts(window, summaries))


def test_a_window_like_the_reference_shows_no_drift(reference: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    same = reference.sample(2000, random_state=1).assign(MonthlyCharges=rng.uniform(18, 119, 2000))
    values = _by(window_drift(_summary(reference), same))
    assert all(values[(c, "psi")] < 0.05 for c in reference.columns)
    assert values[("Contract", "unseen_share")] == 0.0


def test_shifted_numbers_and_more_month_to_month_contracts_drift(reference: pd.DataFrame) -> None:
    rng = np.random.default_rng(2)
    shifted = pd.DataFrame(
        {
            "MonthlyCharges": rng.uniform(18, 119, 2000) + 15,
            "tenure": rng.gamma(1.6, 10, 2000).round(),
            "Contract": rng.choice(
                ["Month-to-month", "One year", "Two year"], 2000, p=[0.8, 0.1, 0.1]
            ),
        }
    )
    values = _by(window_drift(_summary(reference), shifted))
    assert values[("MonthlyCharges", "psi")] > 0.25  # Evidently's PSI on the same shift: 0.263
    assert values[("tenure", "psi")] > 0.25
    assert values[("Contract", "psi")] > 0.1 and values[("Contract", "js_distance")] > 0.1
    assert drift.status(values[("MonthlyCharges", "psi")], 0.1, 0.25) == "alert"


def test_psi_and_js_against_their_formulas() -> None:
    expected, actual = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    by_hand = sum((a - e) * np.log(a / e) for a, e in zip(actual, expected, strict=True))
    assert drift.psi(expected, actual) == pytest.approx(by_hand)
    m = (expected + actual) / 2
    kl = lambda p, q: float(np.sum(p * np.log2(p / q)))  # noqa: E731
    assert drift.js_distance(expected, actual) == pytest.approx(
        np.sqrt((kl(expected, m) + kl(actual, m)) / 2)
    )
    assert drift.psi(expected, expected) == pytest.approx(0.0)


def test_unseen_levels_and_null_rates_are_measured(reference: pd.DataFrame) -> None:
    window = pd.DataFrame(
        {
            "Contract": ["Month-to-month"] * 50 + ["Three year"] * 25 + [None] * 25,
            "MonthlyCharges": [None] * 40 + list(np.linspace(20, 100, 60)),
        }
    )
    values = _by(window_drift(_summary(reference), window))
    assert values[("Contract", "unseen_share")] == pytest.approx(25 / 75)
    assert values[("Contract", "null_rate_change")] == pytest.approx(0.25)
    assert values[("MonthlyCharges", "null_rate_change")] == pytest.approx(0.40)
    summary = drift.summarize(reference["MonthlyCharges"])
    found = counts.column_counts(window["MonthlyCharges"], summary).bins
    assert found.sum() == 60 and len(found) == len(summary.edges) + 1
    assert drift.ColumnSummary.from_dict(summary.as_dict()) == summary


def test_a_window_read_in_batches_counts_the_same_as_whole(reference: pd.DataFrame) -> None:
    summaries = _summary(reference)
    window = reference.sample(3000, random_state=7).reset_index(drop=True)
    window.loc[::50, "Contract"] = "Three year"
    rng = np.random.default_rng(7)
    window["predicted_score"] = rng.random(3000)
    positive = np.where(rng.random(3000) < 0.5, np.nan, (rng.random(3000) < 0.3).astype(float))
    scores = drift.summarize(window["predicted_score"])
    whole = counts.frame_counts(window, summaries, scores, 0.3, positive)
    total = counts.WindowCounts()
    for part in np.array_split(np.arange(3000), 7):
        total.add(counts.frame_counts(window.iloc[part], summaries, scores, 0.3, positive[part]))
    assert total.rows == whole.rows == 3000
    assert _by(counts.drift_of(summaries, total)) == _by(counts.drift_of(summaries, whole))
    assert np.array_equal(total.scores.bins, whole.scores.bins)
    assert total.grid.measured() == pytest.approx(whole.grid.measured(), rel=1e-12)
    assert total.grid.labelled_rows == int((~np.isnan(positive)).sum())


def _calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(-1.1, 1.3, n)))
    return rng.random(n) < p, p


def _grid(p: np.ndarray, threshold: float, y: np.ndarray | None = None) -> counts.ScoreGrid:
    grid = counts.ScoreGrid()
    grid.add_scores(p, threshold, None if y is None else y.astype(float))
    return grid


def test_grid_metrics_match_the_exact_ones() -> None:
    """One pass in fixed memory: F1, positive rate and calibration error exact, AUC and lift
    within a cell's width of scikit-learn's on all rows."""
    y, p = _calibrated(50_000, 8)
    for threshold in (0.2675, 0.5):
        exact, grid = performance.measured(y, p, threshold), _grid(p, threshold, y).measured()
        assert grid["f1_score"] == pytest.approx(exact["f1_score"], abs=1e-12)
        assert grid["positive_rate"] == pytest.approx(exact["positive_rate"], abs=1e-12)
        assert grid["calibration_error"] == pytest.approx(exact["calibration_error"], abs=1e-9)
        assert abs(grid["roc_auc"] - exact["roc_auc"]) < 1e-3
        assert abs(grid["lift_top_decile"] - exact["lift_top_decile"]) < 0.01
    # an unlabelled row counts for the estimate only
    half = np.where(np.arange(len(y)) % 2 == 0, y.astype(float), np.nan)
    grid = counts.ScoreGrid()
    grid.add_scores(p, 0.3, half)
    assert grid.labelled_rows == (len(y) + 1) // 2
    assert grid.measured()["f1_score"] == pytest.approx(
        performance.measured(y[::2], p[::2], 0.3)["f1_score"], abs=1e-12
    )


def test_the_estimate_tracks_the_measurement_when_scores_are_calibrated() -> None:
    y, p = _calibrated(20_000, 3)
    got, est = performance.measured(y, p, 0.3), _grid(p, 0.3).estimated()
    assert abs(got["roc_auc"] - est["roc_auc"]) < 0.01
    assert abs(got["f1_score"] - est["f1_score"]) < 0.02
    assert abs(got["lift_top_decile"] - est["lift_top_decile"]) < 0.15
    assert got["calibration_error"] < 0.02


def test_concept_drift_shows_in_the_measurement_not_in_the_estimate() -> None:
    y, p = _calibrated(20_000, 4)
    segment = p < 0.2  # churn becomes likelier where the model sees low risk
    rng = np.random.default_rng(5)
    y_drifted = np.where(segment, rng.random(len(p)) < 0.5, y)
    before, after = performance.measured(y, p, 0.3), performance.measured(y_drifted, p, 0.3)
    assert before["roc_auc"] - after["roc_auc"] > 0.1
    assert after["calibration_error"] > 0.1
    drop = performance.drop(before, after)
    assert drop["roc_auc"] > 0.1 and drop["calibration_error"] > 0.1
    # the scores did not move, so the estimate cannot see it: labels are needed for that
    assert abs(_grid(p, 0.3).estimated()["roc_auc"] - before["roc_auc"]) < 0.01


T0 = datetime(2026, 1, 31, tzinfo=UTC)


def _windows(breaches: list[bool], start: datetime = T0, version: str = "1") -> list[Window]:
    return [
        Window(
            f"w{i}",
            start + timedelta(days=30 * i),
            version,
            b,
            ("psi MonthlyCharges",) if b else (),
        )
        for i, b in enumerate(breaches)
    ]


def test_k_of_n_windows_fire_and_one_bad_window_does_not() -> None:
    assert not decide(_windows([False, False, True]), []).fired
    verdict = decide(_windows([False, True, True]), [])
    assert (
        verdict.fired and "2 of the last 3 windows breached: psi MonthlyCharges" in verdict.reason
    )
    assert not decide(_windows([True, True]), []).fired  # fewer than n windows
    assert "3 window" not in decide(_windows([True]), []).reason


def test_one_episode_fires_once_then_waits_for_windows_of_the_new_model() -> None:
    windows = _windows([False, True, True])
    fired_at = windows[-1].scored_at  # the newest window the firing saw
    again = decide(windows, [Firing("2", fired_at)])
    assert not again.fired and again.reason.startswith("cooldown")
    assert f"since the retrain at window {fired_at.isoformat()}" in again.reason
    # new windows after the retrain, still bad: fires again only when k of n of them are
    after = _windows([True, True, False], start=fired_at + timedelta(days=30), version="2")
    assert not decide(windows + after[:2], [Firing("2", fired_at)]).fired
    assert decide(windows + after, [Firing("2", fired_at)]).fired


def test_at_most_max_per_day_of_windows() -> None:
    daily = [
        Window(f"d{i}", T0 + timedelta(hours=6 * i), "1", True, ("psi tenure",)) for i in range(6)
    ]
    fired = Firing("2", daily[2].scored_at)
    verdict = decide(daily, [fired], max_per_day=1)  # windows 3-5 lie within 24 h of it
    assert not verdict.fired and verdict.reason.startswith("cap: 1 retrain(s) in the 24 h")
    assert decide(daily + _windows([True] * 3, start=T0 + timedelta(days=2)), [fired]).fired


def test_one_clock_windows_back_filled_after_a_retrain_count() -> None:
    """#25: the retrain of replayed months (windows 2026-01..04) was evaluated on the wall clock
    months later; windows back-filled afterwards with --at for 2026-04 and 2026-05 are newer
    than anything the retrain saw, so they count, and no reason quotes the wall clock."""
    import json

    from mlrecipes.loop.retrain import TRIGGER_SCHEMA, firings_of

    windows = _windows([True, True, True])
    seen = json.dumps([{"window": w.scored_at.isoformat()} for w in windows])
    wall = "2026-12-03T07:04:00.000000+00:00"
    rows = [
        {"evaluated_at": wall, "fired": True, "dry_run": False, "reason": "3 of the last 3",
         "windows": seen, "model_version": version, "run": run, "deploy": "null"}
        for version, run in (("", json.dumps({"state": "started"})), ("2", "{}"))
    ]  # fmt: skip
    [firing] = firings_of(pd.DataFrame(rows, columns=TRIGGER_SCHEMA.names))
    assert firing.at == windows[-1].scored_at and firing.finished
    back_filled = _windows([True, True], start=windows[-1].scored_at + timedelta(days=30))
    verdict = decide(windows + back_filled, [firing])
    newest_seen = windows[-1].scored_at.isoformat()
    assert verdict.reason.startswith(f"2 window(s) since the retrain at window {newest_seen}")
    assert [w.scored_at for w in verdict.windows] == [w.scored_at for w in back_filled]
    assert decide(windows + back_filled + _windows([True], start=T0 + timedelta(days=150)),
                  [firing]).fired  # fmt: skip
    for verdict in (decide(windows, [firing]), decide(windows + back_filled, [firing])):
        assert "2026-12" not in verdict.reason


def test_k_must_fit_n() -> None:
    with pytest.raises(ValueError, match="1 <= k <= n"):
        decide([], [], k=4, n=3)


def test_numbers_stored_as_text_are_compared_as_numbers() -> None:
    rng = np.random.default_rng(6)
    charges = rng.uniform(20, 8000, 3000).round(2)
    as_text = pd.Series([f"{v:g}" for v in charges], name="TotalCharges")
    as_text[:5] = " "  # the real data's blank for customers with tenure 0
    summary = drift.summarize(as_text)
    assert summary.kind == "numeric" and summary.null_rate == pytest.approx(5 / 3000)
    same = pd.DataFrame({"TotalCharges": [f"{v:g}" for v in rng.uniform(20, 8000, 2000).round(2)]})
    values = _by(window_drift({"TotalCharges": summary}, same))
    assert values[("TotalCharges", "psi")] < 0.05
    assert values[("TotalCharges", "null_rate_change")] == pytest.approx(-5 / 3000)
    assert drift.summarize(pd.Series(["a", "b", "1"], name="plan")).kind == "categorical"


def test_a_retrain_that_died_after_it_started_fires_again_within_the_cap() -> None:
    """The trigger row is written before the retrain runs. A kill -9 mid-retrain retrained
    nothing (#31): it starts no cooldown, so the next evaluation fires again and says so, but it
    counts against the daily cap; a finished retrain's two rows are one firing."""
    import json

    from mlrecipes.loop.retrain import TRIGGER_SCHEMA, firings_of

    def row(at: str, run: dict | None, version: str = "", dry: bool = False) -> dict:
        return {
            "evaluated_at": at, "fired": True, "dry_run": dry, "reason": "2 of the last 3",
            "windows": "[]", "model_version": version, "run": json.dumps(run), "deploy": "null",
        }  # fmt: skip

    finished = [
        row("2026-03-01T00:00:00+00:00", None, dry=True),
        row("2026-03-02T00:00:00+00:00", {"state": "started"}),
        row("2026-03-02T00:00:00+00:00", {"registered_model_version": 2}, "2"),
    ]
    died = [row("2026-04-02T00:00:00+00:00", {"state": "started"})]
    table = pd.DataFrame(finished + died, columns=TRIGGER_SCHEMA.names)
    firings = firings_of(table)
    assert [(f.version, f.at.month, f.finished) for f in firings] == [
        ("2", 3, True),
        (None, 4, False),
    ]
    windows = _windows([True, True, True], start=datetime(2026, 3, 10, tzinfo=UTC))
    verdict = decide(windows, firings)
    assert verdict.fired and "since the retrain" not in verdict.reason
    assert (
        "the retrain started at window 2026-04-02T00:00:00+00:00 never finished: firing again"
        in verdict.reason
    )
    same_day = [
        windows[0],
        replace(windows[1], scored_at=datetime(2026, 3, 20, tzinfo=UTC)),
        replace(windows[2], scored_at=datetime(2026, 4, 2, 6, tzinfo=UTC)),
    ]  # the newest window lies 6 h after the retrain that died
    capped = decide(same_day, firings, max_per_day=1)
    assert not capped.fired and capped.reason.startswith("cap: 1 retrain(s)")


def test_the_report_says_which_windows_had_no_input_drift() -> None:
    from mlrecipes.cards.monitoring_report import NOT_COMPUTED, render

    def row(window: str, kind: str, column: str, metric: str, value: float) -> dict:
        return {
            "window": window, "model_name": "churn", "model_version": "1", "rows": 100,
            "kind": kind, "column": column, "metric": metric, "value": value,
            "threshold": 0.25, "status": "ok",
        }  # fmt: skip

    table = pd.DataFrame(
        [
            row("2026-01-31T00:00:00", "drift", "tenure", "psi", 0.01),
            row("2026-01-31T00:00:00", "prediction_drift", "predicted_score", "psi", 0.02),
            row("2026-02-28T00:00:00", "drift", "", NOT_COMPUTED, float("nan")),
            row("2026-02-28T00:00:00", "prediction_drift", "predicted_score", "psi", 0.03),
        ]
    )
    html = render(table, "Monitoring")
    cells = [line for line in html.splitlines() if "2026-0" in line and "<td>v1</td>" in line]
    assert len(cells) == 2
    assert cells[0].endswith("<td>computed</td><td></td></tr>")  # no estimate in this table
    assert cells[1].endswith("<td>not computed</td><td></td></tr>")


def test_input_counts_of_a_scoring_input_equal_the_counts_of_its_frame(tmp_path) -> None:
    from mlrecipes.steps._monitor_window import input_counts

    frame = pd.DataFrame({"tenure": np.arange(500) % 70, "Contract": ["a", "b"] * 250})
    frame.to_parquet(tmp_path / "input.parquet", index=False)
    summaries = {
        "tenure": drift.summarize(frame["tenure"]),
        "Contract": drift.summarize(frame["Contract"]),
        "absent": drift.summarize(frame["tenure"].rename("absent")),
    }
    rows, counted = input_counts(tmp_path / "input.parquet", summaries)
    assert rows == 500 and set(counted) == {"tenure", "Contract"}
    whole = counts.frame_counts(frame, summaries)
    assert np.array_equal(counted["tenure"].bins, whole.columns["tenure"].bins)
    assert counted["Contract"].levels == {"a": 250, "b": 250}


def test_a_regression_window_is_measured_by_its_errors_batch_by_batch() -> None:
    """#26: a regression model's window: prediction drift on its predictions' bins, measured
    RMSE and MAE from error sums that add up exactly over batches, graded by how much larger
    they are than the holdout's; no estimate (nothing in a prediction says how wrong it is)."""
    from sklearn.metrics import mean_absolute_error, root_mean_squared_error

    from mlrecipes.monitoring.counts import WindowCounts, frame_counts
    from mlrecipes.monitoring.reference import regression_reference, scores_of
    from mlrecipes.monitoring.window import ESTIMATED, MEASURED, Thresholds, window_performance

    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 4000)
    y = 3 * x + rng.normal(0, 1, 4000)
    training = pd.DataFrame({"x": x})
    reference = regression_reference(training, ["x"], [], y[:1000], 3 * x[:1000])
    assert reference["holdout"]["root_mean_squared_error"] == pytest.approx(
        root_mean_squared_error(y[:1000], 3 * x[:1000])
    )

    def window(prediction: np.ndarray, outcome: np.ndarray) -> WindowCounts:
        total = WindowCounts()
        for part in np.array_split(np.arange(len(prediction)), 7):
            frame = pd.DataFrame({"x": x[part], "prediction": prediction[part]})
            total.add(frame_counts(frame, {}, scores_of(reference), 0.5, outcome[part],
                                   "prediction", regression=True))  # fmt: skip
        return total

    known = y.copy()
    known[::5] = np.nan  # a fifth of the outcomes not in yet
    same = window(3 * x, known)
    rows = {r.metric: r for r in window_performance(reference, same, Thresholds(), True)}
    labelled = ~np.isnan(known)
    assert same.errors.labelled == labelled.sum()
    assert rows["root_mean_squared_error"].value == pytest.approx(
        root_mean_squared_error(y[labelled], 3 * x[labelled])
    )
    assert rows["mean_absolute_error"].value == pytest.approx(
        mean_absolute_error(y[labelled], 3 * x[labelled])
    )
    assert {r.status for r in rows.values()} == {"ok"}
    worse = window(3 * x + 1.5, y)  # biased: errors about 80% larger
    graded = window_performance(reference, worse, Thresholds(), True)
    assert {r.kind for r in graded} == {MEASURED} and ESTIMATED not in {r.kind for r in graded}
    assert {r.metric: r.status for r in graded} == {
        "root_mean_squared_error": "alert", "mean_absolute_error": "alert",
    }  # fmt: skip
    assert window_performance(reference, worse, Thresholds(), measured=False) == []


def test_a_regression_outcome_is_its_value() -> None:
    from mlrecipes.monitoring.counts import LABEL
    from mlrecipes.monitoring.outcomes import outcomes_for

    labels = pd.DataFrame({"id": ["a", "b"], "price": [10.5, 3.0]})
    got = outcomes_for(labels, ["id"], "2026-01-31T00:00:00", "price", None)
    assert got[LABEL].tolist() == [10.5, 3.0]
