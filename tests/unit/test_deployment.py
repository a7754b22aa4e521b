"""The promotion rule, the paired bootstrap and the holdout check, without MLflow or files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as m

from mlrecipes.deployment.bootstrap import Scored, paired_bootstrap, resampled_metric
from mlrecipes.deployment.decision import decide
from mlrecipes.deployment.holdout import holdout_overlap, row_set


def comparison(improvement: float, low: float, high: float):
    from mlrecipes.deployment.bootstrap import PairedDifference

    return PairedDifference(
        "roc_auc", True, 0.8, 0.8 + improvement, improvement, low, high, 0.95, 1000, 0,
        np.array([]),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "compared", "margin", "manual", "outcome"),
    [
        ("VALIDATED", None, 0.0, False, "first_champion"),
        ("VALIDATED", None, 0.0, True, "pending_approval"),
        ("UNKNOWN", None, 0.0, False, "rejected"),
        ("REJECTED", comparison(0.05, 0.02, 0.08), 0.0, False, "rejected"),
        ("VALIDATED", comparison(0.05, 0.02, 0.08), 0.0, False, "promoted"),
        ("VALIDATED", comparison(0.05, 0.02, 0.08), 0.0, True, "pending_approval"),
        ("VALIDATED", comparison(0.05, 0.02, 0.08), 0.06, False, "kept"),  # below the margin
        ("VALIDATED", comparison(0.01, -0.01, 0.03), 0.0, False, "kept"),  # interval spans 0
        ("VALIDATED", comparison(0.0, 0.0, 0.0), 0.0, False, "kept"),  # a tie
        ("VALIDATED", comparison(-0.02, -0.04, -0.01), 0.0, False, "kept"),
    ],
)
def test_promotion_rule(status, compared, margin, manual, outcome) -> None:
    decision = decide(status, compared, margin, manual)
    assert decision.outcome == outcome
    assert decision.moves_champion == (
        outcome in ("first_champion", "promoted", "pending_approval")
    )


def test_the_champion_is_not_compared_with_itself() -> None:
    assert decide("VALIDATED", None, 0.0, False, challenger_is_champion=True).outcome == "kept"


def _binary(n: int = 400, seed: int = 1):
    rng = np.random.default_rng(seed)
    truth = np.where(rng.random(n) < 0.3, "Yes", "No")
    signal = (truth == "Yes").astype(float)
    good = np.clip(signal * 0.5 + rng.normal(0.3, 0.2, n), 0.001, 0.999)
    weak = np.clip(signal * 0.1 + rng.normal(0.4, 0.2, n), 0.001, 0.999)
    as_scored = lambda p: Scored(np.where(p > 0.5, "Yes", "No"), p)  # noqa: E731
    return truth, as_scored(good), as_scored(weak)


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("roc_auc", lambda y, s: m.roc_auc_score(y == "Yes", s.scores)),
        ("log_loss", lambda y, s: m.log_loss(y == "Yes", s.scores)),
        ("brier_score", lambda y, s: m.brier_score_loss(y == "Yes", s.scores)),
        ("f1_score", lambda y, s: m.f1_score(y, s.labels, pos_label="Yes")),
        ("precision_score", lambda y, s: m.precision_score(y, s.labels, pos_label="Yes")),
        ("recall_score", lambda y, s: m.recall_score(y, s.labels, pos_label="Yes")),
        ("accuracy_score", lambda y, s: m.accuracy_score(y, s.labels)),
    ],
)
def test_resampled_metrics_equal_scikit_learn_on_every_resample(name, reference) -> None:
    truth, good, _ = _binary()
    fn = resampled_metric(name, "classification/binary", truth, "Yes")
    idx = np.random.default_rng(3).integers(0, len(truth), size=(5, len(truth)))
    ours = fn(idx, good)
    for row, value in zip(idx, ours, strict=True):
        picked = Scored(good.labels[row], good.scores[row])
        assert value == pytest.approx(reference(truth[row], picked), rel=1e-9)


def test_regression_metrics_equal_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=300), rng.normal(size=300)
    identity = np.arange(300)[None, :]
    for name, ref in [
        ("root_mean_squared_error", lambda: m.root_mean_squared_error(y, p)),
        ("mean_absolute_error", lambda: m.mean_absolute_error(y, p)),
        ("r2_score", lambda: m.r2_score(y, p)),
        ("max_error", lambda: m.max_error(y, p)),
    ]:
        assert resampled_metric(name, "regression", y)(identity, Scored(p))[0] == pytest.approx(
            ref()
        )


def test_paired_bootstrap_separates_a_better_model_and_is_seeded() -> None:
    truth, good, weak = _binary()
    fn = resampled_metric("roc_auc", "classification/binary", truth, "Yes")
    first = paired_bootstrap("roc_auc", True, fn, weak, good, len(truth), 1000, 0.95, seed=7)
    assert first.improvement == pytest.approx(
        m.roc_auc_score(truth == "Yes", good.scores) - m.roc_auc_score(truth == "Yes", weak.scores)
    )
    assert 0 < first.ci_low < first.improvement < first.ci_high
    assert len(first.distribution) == 1000
    again = paired_bootstrap("roc_auc", True, fn, weak, good, len(truth), 1000, 0.95, seed=7)
    assert (again.ci_low, again.ci_high) == (first.ci_low, first.ci_high)
    reverse = paired_bootstrap("roc_auc", True, fn, good, weak, len(truth), 1000, 0.95, seed=7)
    assert reverse.ci_high < 0
    same = paired_bootstrap("roc_auc", True, fn, good, good, len(truth), 1000, 0.95, seed=7)
    assert (same.improvement, same.ci_low, same.ci_high) == (0.0, 0.0, 0.0)


def test_lower_is_better_metrics_count_a_drop_as_improvement() -> None:
    truth, good, weak = _binary()
    fn = resampled_metric("log_loss", "classification/binary", truth, "Yes")
    result = paired_bootstrap("log_loss", False, fn, weak, good, len(truth), 1000)
    assert result.improvement > 0 and result.challenger < result.champion


def test_fallback_metric_is_computed_per_resample() -> None:
    truth, good, _ = _binary(100)
    calls = []

    def one(rows, s):
        calls.append(len(rows))
        return float(m.average_precision_score(truth[rows] == "Yes", s.scores[rows]))

    fn = resampled_metric("precision_recall_auc", "classification/binary", truth, "Yes", one)
    assert len(fn(np.zeros((3, 100), dtype=int) + np.arange(100), good)) == 3 and calls == [100] * 3


def test_holdout_overlap_by_keys_and_by_rows() -> None:
    train = pd.DataFrame({"customerID": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]})
    sets = {
        "rows": row_set(train, ["customerID", "x"], "rows"),
        "keys": row_set(train, ["customerID"], "keys"),
    }
    clean = pd.DataFrame({"customerID": ["d", "e"], "x": [1.0, 2.0]})
    assert holdout_overlap(clean, sets, ["customerID"]).clean
    # same features but other customers: clean by key, not by whole row
    assert holdout_overlap(clean, {"rows": sets["rows"]}, []).clean
    dirty = pd.DataFrame({"customerID": ["b", "z"], "x": [9.0, 1.0]})
    found = holdout_overlap(dirty, sets, ["customerID"])
    assert (found.rows, found.kind, found.columns) == (1, "keys", ("customerID",))
    copied = pd.DataFrame({"x": [3.0], "customerID": ["c"]})  # column order does not matter
    assert holdout_overlap(copied, {"rows": sets["rows"]}, []).rows == 1


def test_keys_match_across_types() -> None:
    """A key read as a number from parquet and as text from a CSV is the same key."""
    train = pd.DataFrame({"id": [101, 102]})
    sets = {"keys": row_set(train, ["id"], "keys")}
    assert holdout_overlap(pd.DataFrame({"id": ["102"]}), sets, ["id"]).rows == 1
