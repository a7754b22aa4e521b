"""The registered model: a pyfunc that takes raw rows and returns recipe-style predictions.

This class is pickled *by value* into every logged model, so loading a model needs MLflow,
scikit-learn and the recipe's ``steps/`` code (shipped in the model's ``code/``), not mlrecipes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mlflow.pyfunc

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator


class RecipeModel(mlflow.pyfunc.PythonModel):
    """Wraps the fitted ``Pipeline(transformer, estimator)``.

    Classification with ``predict_proba`` returns ``<prefix>score_<class>`` per class,
    ``<prefix>score`` and ``<prefix>label``. ``<prefix>score`` is the probability of
    ``positive_class`` for binary recipes (what a churn score should mean), the highest class
    probability otherwise (MLflow Recipes' definition in both cases). A classifier without it
    (SGDClassifier with hinge loss, LinearSVC, RidgeClassifier) returns ``<prefix>label`` and,
    when the estimator has ``decision_function``, its scores: ``<prefix>decision_function``
    for two classes (positive: the second class), ``<prefix>decision_function_<class>``
    otherwise. Regression (or ``predict_scores_for_all_classes: false``) returns plain
    predictions.
    """

    # MLflow would wrap ``predict`` for type-hint validation (and warn that there are no hints
    # on every train and load); the input schema is the explicit signature logged with the
    # model, and ``predict`` takes the raw rows as they are.
    _skip_type_hint_validation = True

    def __init__(
        self,
        pipeline: BaseEstimator,
        feature_columns: list[str],
        is_classifier: bool,
        scores_for_all_classes: bool = True,
        prefix: str = "predicted_",
        positive_class: str | int | float | bool | None = None,
        decision_threshold: float | None = None,
        feature_spec: str | None = None,
    ):
        self.pipeline = pipeline
        self.feature_columns = list(feature_columns)
        self.is_classifier = is_classifier
        self.scores_for_all_classes = scores_for_all_classes
        self.prefix = prefix
        self.positive_class = positive_class
        # binary: predicted_label is positive_class when its probability reaches this cut-off
        # (the estimator's own predict otherwise); steps.train.decision_threshold
        self.decision_threshold = decision_threshold
        # feature_spec.json (also a file in the model's artifacts) when trained from feature
        # tables: which tables, keys and features rebuild its inputs from keys
        self.feature_spec = feature_spec

    def predict(self, context, model_input, params=None):
        import numpy as np
        import pandas as pd

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"input is missing columns {missing}")
        features = frame[self.feature_columns]
        estimator = self.pipeline
        if (
            self.is_classifier
            and self.scores_for_all_classes
            and hasattr(estimator, "predict_proba")
            and hasattr(estimator, "classes_")
        ):
            proba = np.asarray(estimator.predict_proba(features))
            classes = list(estimator.classes_)
            out = pd.DataFrame(
                {f"{self.prefix}score_{c}": proba[:, i] for i, c in enumerate(classes)},
                index=frame.index,
            )
            best = proba.argmax(axis=1)
            positive = getattr(self, "positive_class", None)  # (absent in older pickles)
            labels = np.asarray(classes)[best]
            if positive is not None and positive in classes:
                p_positive = proba[:, classes.index(positive)]
                out[f"{self.prefix}score"] = p_positive
                threshold = getattr(self, "decision_threshold", None)  # (absent in older pickles)
                if threshold is not None and len(classes) == 2:
                    negative = classes[1 - classes.index(positive)]
                    labels = np.where(p_positive >= threshold, positive, negative)
            else:
                out[f"{self.prefix}score"] = proba.max(axis=1)
            out[f"{self.prefix}label"] = labels
            return out
        if self.is_classifier and self.scores_for_all_classes and hasattr(estimator, "classes_"):
            # each call gets its own copy: the recipe's transformer may mutate its input
            out = pd.DataFrame(
                {f"{self.prefix}label": np.asarray(estimator.predict(features.copy()))},
                index=frame.index,
            )
            if hasattr(estimator, "decision_function"):
                scores = np.asarray(estimator.decision_function(features.copy()))
                if scores.ndim == 1:
                    out[f"{self.prefix}decision_function"] = scores
                else:
                    for i, c in enumerate(estimator.classes_):
                        out[f"{self.prefix}decision_function_{c}"] = scores[:, i]
            return out
        return estimator.predict(features)
