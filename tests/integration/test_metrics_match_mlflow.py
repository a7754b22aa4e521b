"""The built-in metrics (scikit-learn) equal what MLflow's own evaluator reports for the same model.

mlrecipes computes metrics once from predictions it already holds instead of calling
``mlflow.models.evaluate`` per split; this pins that the numbers users see did not change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlrecipes.config.metrics import BUILTIN_METRICS
from mlrecipes.modeling.evaluation import builtin_metric

# Metrics MLflow's evaluator does not report (it has one weighted F1 for multiclass).
NOT_IN_MLFLOW = {"f1_score_macro", "f1_score_micro"}


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    # (mlflow.set_tracking_uri would export MLFLOW_TRACKING_URI for every later test)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", None)
    monkeypatch.chdir(tmp_path)


def _data(task: str) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    signal = X["a"] + 0.5 * X["b"] + rng.normal(size=600)
    if task == "classification/binary":
        return X, np.where(signal > 0.5, "Yes", "No")
    if task == "classification/multiclass":
        return X, np.array(["x", "y", "z"])[np.digitize(signal, [-0.5, 0.7])]
    return X, 3.0 * signal + 10.0


@pytest.mark.parametrize(
    "task", ["classification/binary", "classification/multiclass", "regression"]
)
def test_builtin_metrics_equal_mlflow_evaluate(task: str, tracking: None) -> None:
    import mlflow
    from sklearn.linear_model import LinearRegression, LogisticRegression

    X, y = _data(task)
    is_classifier = task != "regression"
    model = (LogisticRegression() if is_classifier else LinearRegression()).fit(X, y)
    positive = "Yes" if task == "classification/binary" else None
    config = {"log_model_explainability": False}
    if positive:
        config["pos_label"] = positive
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model")
        reported = mlflow.models.evaluate(
            info.model_uri,
            X.assign(target=y),
            targets="target",
            model_type="classifier" if is_classifier else "regressor",
            evaluator_config=config,
        ).metrics
    pred = model.predict(X)
    proba = model.predict_proba(X) if is_classifier else None
    classes = list(model.classes_) if is_classifier else None
    compared = [m for m in BUILTIN_METRICS[task] if m not in NOT_IN_MLFLOW]
    assert len(compared) >= 5
    for name in compared:
        ours = builtin_metric(name, task, pd.Series(y), pred, proba, classes, positive)
        assert ours == pytest.approx(reported[name], rel=1e-9, abs=1e-12), name
