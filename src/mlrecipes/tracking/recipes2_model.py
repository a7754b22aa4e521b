"""A model MLflow Recipes 2.x registered, re-packaged so MLflow 3 can load it.

MLflow Recipes logged its models as a pyfunc whose pickle names its own wrapper class,
``mlflow.recipes.utils.wrapped_recipe_model.WrappedRecipeModel``; MLflow 3 has no
``mlflow.recipes``, so ``models:/...`` of such a version does not load. The same logged model
also holds the fitted scikit-learn pipeline (its ``sklearn`` flavor), which loads. This module
reads the wrapper's settings from the pickle without importing the missing class
(:func:`read_wrapper_settings`) and puts the pipeline back behind :class:`RecipesTwoModel`,
which predicts exactly as the wrapper did. The class is pickled by value into the new model,
so loading it needs MLflow and scikit-learn, not mlrecipes.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow.pyfunc

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

WRAPPER_MODULE = "mlflow.recipes"


class RecipesTwoModel(mlflow.pyfunc.PythonModel):
    """``WrappedRecipeModel.predict`` of MLflow 2.22.5: the label alone, or for a classifier
    with ``predict_proba`` one ``<prefix>score_<class>`` column per class, ``<prefix>score``
    (the highest probability) and ``<prefix>label`` (the estimator's own ``predict``)."""

    _skip_type_hint_validation = True  # the logged signature is the input contract

    def __init__(
        self,
        pipeline: BaseEstimator,
        scores_for_all_classes: bool,
        prefix: str,
        class_labels: list[Any] | None,
    ):
        self.pipeline = pipeline
        self.scores_for_all_classes = scores_for_all_classes
        self.prefix = prefix
        self.class_labels = class_labels

    def predict(self, context, model_input, params=None):
        import numpy as np
        import pandas as pd

        predicted = self.pipeline.predict(model_input)
        if (
            not hasattr(self.pipeline, "classes_")
            or not hasattr(self.pipeline, "predict_proba")
            or not self.scores_for_all_classes
        ):
            return predicted
        classes = self.class_labels if self.class_labels is not None else self.pipeline.classes_
        columns = [f"{self.prefix}score_{c}" for c in classes]
        probabilities = self.pipeline.predict_proba(model_input)
        out = pd.DataFrame(columns=columns, data=probabilities)
        out[f"{self.prefix}score"] = np.max(probabilities, axis=1)
        out[f"{self.prefix}label"] = predicted
        return out


class _Settings:
    """Stands in for the wrapper class while its pickle is read: only its fields matter."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class _WrapperReader(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        if module.startswith(WRAPPER_MODULE):
            return _Settings
        return super().find_class(module, name)


def is_recipes_wrapper(python_model_pickle: Path) -> bool:
    """Whether a pyfunc's pickle names a class of ``mlflow.recipes`` (which MLflow 3 lacks)."""
    return WRAPPER_MODULE.encode() in python_model_pickle.read_bytes()


def read_wrapper_settings(python_model_pickle: Path) -> dict[str, Any]:
    """``predict_scores_for_all_classes``, ``predict_prefix`` and ``target_column_class_labels``
    of a ``WrappedRecipeModel`` pickle, read without the class."""
    with python_model_pickle.open("rb") as handle:
        wrapper = _WrapperReader(handle).load()
    fields = vars(wrapper)
    labels = fields.get("target_column_class_labels")
    return {
        "scores_for_all_classes": bool(fields.get("predict_scores_for_all_classes", True)),
        "prefix": str(fields.get("predict_prefix", "predicted_")),
        "class_labels": None if labels is None else list(labels),
    }
