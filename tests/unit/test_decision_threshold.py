"""The labels' cut-off: chosen to maximise F1, applied the same way by the fitted pipeline and by
the registered pyfunc, and calibration keeps the ranking while moving the mean to the base rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score

from mlrecipes.modeling.estimators import best_f1_threshold, unwrap_threshold, with_threshold
from mlrecipes.tracking.pyfunc_model import RecipeModel


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 3)), columns=["a", "b", "c"])
    logit = -1.3 + 1.2 * X["a"] - 0.8 * X["b"]
    y = np.where(rng.random(3000) < 1 / (1 + np.exp(-logit)), "Yes", "No")
    return X, y


def test_best_f1_threshold_is_the_best_of_every_cut_off(data) -> None:
    X, y = data
    scores = LogisticRegression().fit(X, y).predict_proba(X)[:, 1]
    positive = y == "Yes"
    chosen = best_f1_threshold(positive, scores)
    best = max(f1_score(positive, scores >= t) for t in np.unique(scores))
    assert f1_score(positive, scores >= chosen) == pytest.approx(best)
    assert f1_score(positive, scores >= chosen) > f1_score(positive, scores >= 0.5)


def test_one_class_gives_the_default_cut_off() -> None:
    assert best_f1_threshold(np.zeros(5, dtype=bool), np.linspace(0, 1, 5)) == 0.5


def test_pipeline_and_pyfunc_label_with_the_same_cut_off(data) -> None:
    X, y = data
    balanced = LogisticRegression(class_weight="balanced")
    calibrated = CalibratedClassifierCV(balanced, method="sigmoid", cv=5).fit(X, y)
    raw = balanced.fit(X, y).predict_proba(X)[:, 1]
    proba = calibrated.predict_proba(X)[:, 1]
    # balanced weights inflate P(positive); calibration brings the mean to the base rate
    assert raw.mean() - (y == "Yes").mean() > 0.1
    assert abs(proba.mean() - (y == "Yes").mean()) < 0.03
    assert roc_auc_score(y == "Yes", proba) == pytest.approx(
        roc_auc_score(y == "Yes", raw), abs=0.01
    )

    threshold = round(best_f1_threshold(y == "Yes", proba), 6)
    model = with_threshold(calibrated, X, y, threshold, "Yes")
    assert unwrap_threshold(model) is calibrated
    assert np.array_equal(model.predict_proba(X), calibrated.predict_proba(X))
    labels = model.predict(X)
    assert np.array_equal(labels == "Yes", proba >= threshold)

    wrapper = RecipeModel(
        model, ["a", "b", "c"], True, positive_class="Yes", decision_threshold=threshold
    )
    out = wrapper.predict(None, X)
    assert np.array_equal(out["predicted_label"].to_numpy(), labels)
    assert np.allclose(out["predicted_score"], proba)
    # without the cut-off the pyfunc labels by the highest probability, as before
    plain = RecipeModel(calibrated, ["a", "b", "c"], True, positive_class="Yes").predict(None, X)
    assert (plain["predicted_label"] == "Yes").mean() < (labels == "Yes").mean()
