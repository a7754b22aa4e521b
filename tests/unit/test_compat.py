"""MLflow Recipes behaviours that recipes rely on: mutable inputs, classifiers without
predict_proba, the batch scoring output's columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from mlrecipes.errors import ConfigError
from mlrecipes.io.user_code import call_user_function


def mutating(df: pd.DataFrame) -> pd.DataFrame:
    df.drop(columns=["id"], inplace=True)
    df["x2"] = df["x"] ** 2
    return df


def frame(n: int = 120, classes: tuple = ("no", "yes"), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    label = np.where(x + rng.normal(0, 0.5, n) > 0, classes[-1], classes[0])
    if len(classes) > 2:
        label = np.asarray(classes)[np.digitize(x, [-0.5, 0.5])]
    return pd.DataFrame({"id": np.arange(n), "x": x, "y": label})


def test_user_functions_get_copies_of_frames_series_and_arrays() -> None:
    df, series, array = frame(), pd.Series([1, 2]), np.zeros(3)

    def mutate_all(d, s, a):
        d.drop(columns=["id"], inplace=True)
        s[0] = 99
        a[0] = 1
        return "done"

    assert call_user_function(mutate_all, "steps/x.py:f", df, series, array) == "done"
    assert "id" in df.columns and series[0] == 1 and array[0] == 0


def test_a_mutating_transformer_can_be_fitted_and_applied_twice() -> None:
    from mlrecipes.modeling.estimators import transformed_frame

    X = frame().drop(columns=["y"])
    transformer = FunctionTransformer(mutating)
    call_user_function(transformer.fit, "fit", X)
    first = call_user_function(transformed_frame, "transform", transformer, X)
    second = call_user_function(transformed_frame, "transform", transformer, X)
    assert list(first.columns) == ["x", "x2"] and first.equals(second)
    assert list(X.columns) == ["id", "x"]


def _config(task: str = "binary", criteria: tuple = (), primary: str | None = None):
    from mlrecipes.execution.context import RecipeConfig

    return RecipeConfig.model_validate(
        {
            "recipe": "classification/v1",
            "target_col": "y",
            **({"positive_class": "yes"} if task == "binary" else {}),
            **({"primary_metric": primary} if primary else {}),
            "steps": {
                "ingest": {"using": "csv", "location": "d.csv"},
                "train": {"estimator_method": "f"},
                "evaluate": {
                    "validation_criteria": [{"metric": m, "threshold": 0.5} for m in criteria]
                },
            },
            "model_registry": {"model_name": "m"},
        }
    )


@pytest.mark.parametrize(
    "estimator", [SGDClassifier(random_state=0), LinearSVC(), RidgeClassifier()]
)
def test_classifiers_without_predict_proba_get_the_label_metrics(estimator) -> None:
    from mlrecipes.modeling.evaluation import split_scores

    data = frame()
    pipeline = Pipeline([("t", FunctionTransformer(mutating)), ("e", estimator)])
    pipeline.fit(data.drop(columns=["y"]), data["y"])
    scores = split_scores(_config(), pipeline, data, {})
    assert set(scores.skipped) == {"roc_auc", "precision_recall_auc", "log_loss"}
    assert "has no predict_proba" in scores.skipped["roc_auc"]
    assert type(estimator).__name__ in scores.skipped["roc_auc"]
    y_pred = pipeline.predict(data.drop(columns=["y"]))
    from sklearn.metrics import f1_score

    assert scores.metrics["f1_score"] == pytest.approx(f1_score(data["y"], y_pred, pos_label="yes"))
    counts = {k: scores.metrics[k] for k in ("true_positives", "false_positives")}
    assert counts["true_positives"] == ((y_pred == "yes") & (data["y"] == "yes")).sum()
    assert counts["false_positives"] == ((y_pred == "yes") & (data["y"] == "no")).sum()
    assert scores.metrics["score"] == pytest.approx((y_pred == data["y"]).mean())


def test_probability_metric_asked_of_a_hinge_classifier_names_the_key() -> None:
    from mlrecipes.steps._train_fit import check_probability_metrics

    config = _config(criteria=("f1_score", "roc_auc"), primary="log_loss")
    with pytest.raises(ConfigError) as info:
        check_probability_metrics(config, SGDClassifier(), False, "estimator_fn")
    message = str(info.value)
    assert "primary_metric: log_loss" in message
    assert "steps.evaluate.validation_criteria[1].metric: roc_auc" in message
    assert "validation_criteria[0]" not in message
    # calibrated, or with predict_proba, the same config is fine
    check_probability_metrics(config, SGDClassifier(), True, "estimator_fn")
    check_probability_metrics(config, LogisticRegression(), False, "estimator_fn")
    check_probability_metrics(_config(criteria=("f1_score",)), SGDClassifier(), False, "f")


@pytest.mark.parametrize(
    ("estimator", "classes", "scores"),
    [
        (LinearSVC(), ("no", "yes"), ["predicted_decision_function"]),
        (
            RidgeClassifier(),
            ("a", "b", "c"),
            [f"predicted_decision_function_{c}" for c in "abc"],
        ),
    ],
)
def test_registered_model_of_a_classifier_without_proba(estimator, classes, scores) -> None:
    from mlrecipes.tracking.pyfunc_model import RecipeModel

    data = frame(classes=classes)
    X = data.drop(columns=["y"])
    pipeline = Pipeline([("t", FunctionTransformer(mutating)), ("e", estimator)])
    pipeline.fit(X.copy(), data["y"])
    out = RecipeModel(pipeline, list(X.columns), is_classifier=True).predict(None, X)
    assert list(X.columns) == ["id", "x"]  # the model called the pipeline on its own copies
    assert list(out.columns) == ["predicted_label", *scores]
    assert (out["predicted_label"] == pipeline.predict(X.copy())).all()
    decision = pipeline.decision_function(X.copy())
    np.testing.assert_allclose(out[scores].to_numpy(), decision.reshape(len(X), -1))


def test_output_keeps_every_input_column_or_only_the_ids() -> None:
    from mlrecipes.scoring.frames import kept_columns

    columns = ["id", "x", "prediction", "model_name", "y"]
    assert kept_columns(columns, ["id"], True, ["prediction"]) == ["id", "x", "y"]
    assert kept_columns(columns, ["id"], False, ["prediction"]) == ["id"]


def test_output_schema_types_an_empty_first_batch_from_the_source() -> None:
    import pyarrow as pa

    from mlrecipes.scoring.pandas_engine import output_schema

    first = pd.DataFrame({"a": [None, None], "b": [None, None], "p": [0.1, 0.2]})
    source = pa.schema([("a", pa.float64()), ("b", pa.null())])
    schema = output_schema(first, source)
    assert [schema.field(c).type for c in ("a", "b", "p")] == [
        pa.float64(),
        pa.string(),
        pa.float64(),
    ]
