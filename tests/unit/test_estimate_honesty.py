"""The label-free estimate says how far it can be trusted: the holdout's calibration check and
map, the window's 90% interval, and a caveat instead of a bare number when the holdout cannot
vouch for it (pure: no MLflow, no files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlrecipes.monitoring import calibration, counts, performance, reference, window


def _world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes drawn from true probabilities p."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(-1.1, 1.3, n)))
    return rng.random(n) < p, p


def _grid(scores: np.ndarray, threshold: float) -> counts.ScoreGrid:
    grid = counts.ScoreGrid()
    grid.add_scores(scores, threshold)
    return grid


def test_calibrated_scores_pass_the_holdout_check_and_are_read_as_they_are() -> None:
    y, p = _world(4000, 1)
    checked = calibration.fit(y, p)
    assert checked["checked"] and checked["method"] == "none"
    assert checked["calibration_error"] <= checked["calibration_error_bound"]
    assert calibration.unsupported(checked) is None
    assert checked["score_range"] == [pytest.approx(p.min()), pytest.approx(p.max())]


def test_overconfident_scores_are_read_through_the_holdout_map() -> None:
    """A model whose scores are the true probabilities squashed towards 0 and 1: read as they
    are, the estimate misses the measurement; read through the holdout's map, it tracks it."""
    y_holdout, p_holdout = _world(6000, 2)
    y, p = _world(20_000, 3)

    def squash(q: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-3 * np.log(q / (1 - q))))

    checked = calibration.fit(y_holdout, squash(p_holdout))
    assert checked["method"] == "isotonic"
    assert checked["brier_isotonic_out_of_fold"] < checked["brier_scores"]
    measured = performance.measured(y, squash(p), 0.5)
    raw = _grid(squash(p), 0.5).estimated()
    mapped = _grid(squash(p), 0.5).estimated(checked)
    assert abs(raw["f1_score"] - measured["f1_score"]) > 0.05
    assert abs(mapped["f1_score"] - measured["f1_score"]) < 0.02
    assert abs(raw["roc_auc"] - measured["roc_auc"]) > 0.03
    assert abs(mapped["roc_auc"] - measured["roc_auc"]) < 0.01
    # the monitor's rows read the scores through the reference's map
    ref = reference.reference_summary(
        pd.DataFrame({"x": np.zeros(6000)}), ["x"], [], y_holdout, squash(p_holdout), 0.5
    )
    rows = window.performance_rows(ref, _grid(squash(p), 0.5), window.Thresholds(), False)
    estimated_f1 = next(r.value for r in rows if r.metric == "f1_score")
    assert abs(estimated_f1 - measured["f1_score"]) < 0.02


def test_a_holdout_that_shows_bad_calibration_makes_the_estimate_unsupported() -> None:
    checked = {
        "checked": True, "method": "none", "calibration_error": 0.061,
        "calibration_error_bound": 0.032, "holdout_rows": 1409, "score_range": [0.01, 0.9],
    }  # fmt: skip
    why = calibration.unsupported(checked)
    assert why is not None and "0.061" in why and "0.032" in why and "1409 rows" in why
    _, p = _world(2000, 4)
    rows = window.estimate_support_rows(checked, _grid(p, 0.5))
    assert window.estimate_caveats(rows, checked) == [why]
    calib = next(r for r in rows if r.metric == window.HOLDOUT_CALIBRATION)
    assert (calib.value, calib.threshold, calib.status) == (0.061, 0.032, "warn")
    # read back from the monitoring table (no reference at hand): the rows alone say it
    assert "0.061" in window.estimate_caveats(rows)[0]


def test_a_holdout_with_too_few_of_a_class_is_not_checked_and_says_so() -> None:
    y = np.zeros(500, dtype=bool)
    y[:5] = True
    checked = calibration.fit(y, np.linspace(0.01, 0.5, 500))
    assert not checked["checked"] and "5 row(s) of one class" in checked["reason"]
    assert calibration.unsupported(checked).startswith("calibration not checked")
    # a reference from before the check: unsupported, and the caveat says why
    assert "predates" in calibration.unsupported(None)
    rows = window.estimate_support_rows(None, _grid(np.linspace(0.1, 0.9, 100), 0.5))
    assert [r.status for r in rows if r.metric == window.HOLDOUT_CALIBRATION] == ["warn"]
    assert "predates" in window.estimate_caveats(rows, {})[0]  # a reference without the check
    assert "not checked" in window.estimate_caveats(rows)[0]  # read back from the table


def test_a_window_scored_outside_the_holdouts_range_is_flagged() -> None:
    checked = {
        "checked": True, "method": "none", "calibration_error": 0.01,
        "calibration_error_bound": 0.03, "holdout_rows": 2000, "score_range": [0.05, 0.8],
    }  # fmt: skip
    inside = np.linspace(0.06, 0.79, 1000)
    grid = _grid(np.concatenate([inside, np.full(100, 0.95)]), 0.5)  # 100 of 1100 above 0.8
    assert grid.share_outside(checked["score_range"]) == pytest.approx(100 / 1100)
    rows = window.estimate_support_rows(checked, grid)
    caveats = window.estimate_caveats(rows, checked)
    assert len(caveats) == 1 and caveats[0].startswith("9% of the window is scored outside")
    # within the range (to the grid's resolution): nothing to say
    assert window.estimate_caveats(window.estimate_support_rows(checked, _grid(inside, 0.5))) == []


def test_the_interval_holds_the_measured_value_about_as_often_as_it_says() -> None:
    """90% intervals over 120 windows of 1,500 calibrated rows: the measured ROC AUC and F1
    fall inside in 80-98% of them (a binomial band around 90% for 120 windows)."""
    inside = {"roc_auc": 0, "f1_score": 0}
    windows = 120
    for seed in range(windows):
        y, p = _world(1500, 100 + seed)
        measured = performance.measured(y, p, 0.4)
        intervals = _grid(p, 0.4).estimate_interval(draws=200, seed=seed)
        for metric, (low, high) in intervals.items():
            inside[metric] += low <= measured[metric] <= high
    for metric, count in inside.items():
        assert 0.80 <= count / windows <= 0.98, (metric, count)


def test_a_small_window_gets_a_wider_interval() -> None:
    _, p = _world(20_000, 5)
    small, large = _grid(p[:500], 0.4), _grid(p, 0.4)
    width = {
        name: high - low
        for name, (low, high) in (
            ("small", small.estimate_interval()["roc_auc"]),
            ("large", large.estimate_interval()["roc_auc"]),
        )
    }
    assert width["small"] > 4 * width["large"]  # sqrt(40) ~ 6.3 times wider


def test_the_reference_carries_the_check_and_the_window_rows_carry_the_interval() -> None:
    y, p = _world(3000, 6)
    training = pd.DataFrame({"x": np.arange(3000.0)})
    ref = reference.reference_summary(training, ["x"], [], y, p, 0.4)
    assert ref["calibration"]["checked"]
    _, p2 = _world(2000, 7)
    grid = _grid(p2, 0.4)
    rows = window.performance_rows(ref, grid, window.Thresholds(), measured=False)
    interval = window.interval_of(rows, "roc_auc")
    estimate = next(r.value for r in rows if r.metric == "roc_auc")
    assert interval is not None and interval[0] < estimate < interval[1]
    assert window.interval_of(rows, "f1_score") is not None
    assert window.estimate_caveats(rows, ref["calibration"]) == []
    # the support rows never alert: they qualify the estimate, they do not breach
    assert {r.status for r in rows if r.metric.endswith("_interval_low")} == {"info"}


def test_the_interval_is_widened_by_the_estimates_error_on_the_holdout() -> None:
    """Scores overconfident out of sample: the holdout's estimate sits above its measurement,
    so a window's interval reaches down by that much (and no further up)."""
    y_holdout, p_holdout = _world(3000, 8)
    overconfident = np.clip(p_holdout + 0.15 * (p_holdout - p_holdout.mean()), 0.001, 0.999)
    ref = reference.reference_summary(
        pd.DataFrame({"x": np.zeros(3000)}), ["x"], [], y_holdout, overconfident, 0.4
    )
    seen = ref["calibration"]["holdout_estimate"]["roc_auc"]
    assert seen["error"] == pytest.approx(seen["estimated"] - seen["measured"])
    _, p = _world(2000, 9)
    grid = _grid(p, 0.4)
    plain = grid.estimate_interval(ref["calibration"])["roc_auc"]
    widened = window.estimate_interval(ref["calibration"], grid)["roc_auc"]
    error = seen["error"]
    assert error > 0.01  # overconfident: the estimate says better than the labels do
    assert widened[0] < plain[0] - 0.01 and widened[1] == plain[1]
    assert widened == pytest.approx((plain[0] - max(error, 0.0), plain[1] + max(-error, 0.0)))
    rows = window.estimate_support_rows(ref["calibration"], grid)
    assert window.interval_of(rows, "roc_auc") == pytest.approx(widened)
    recorded = {r.metric: r.value for r in rows}
    assert recorded["roc_auc_holdout_error"] == pytest.approx(error)


def test_on_a_calibrated_holdout_the_estimate_is_close_to_the_measurement() -> None:
    y, p = _world(5000, 10)
    ref = reference.reference_summary(pd.DataFrame({"x": np.zeros(5000)}), ["x"], [], y, p, 0.4)
    for metric in ("roc_auc", "f1_score"):
        assert abs(ref["calibration"]["holdout_estimate"][metric]["error"]) < 0.02, metric
