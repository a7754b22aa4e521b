"""Saving, logging and loading models with MLflow (the model-format side of tracking)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import cloudpickle
import mlflow.pyfunc
import mlflow.sklearn
from mlflow.models import infer_signature

from mlrecipes.tracking import pyfunc_model


def save_sklearn_model(pipeline: Any, path: Path, requirements: list[str]) -> None:
    """The fitted pipeline in MLflow's sklearn format (what ``mlflow.models.evaluate`` scores)."""
    if path.exists():
        shutil.rmtree(path)
    mlflow.sklearn.save_model(
        pipeline, str(path), serialization_format="cloudpickle", pip_requirements=requirements
    )


def load_pyfunc(uri_or_path: str | Path) -> Any:
    return mlflow.pyfunc.load_model(str(uri_or_path))


def recipe_model(
    pipeline: Any, feature_columns: list[str], is_classifier: bool, scores: bool, prefix: str
) -> pyfunc_model.RecipeModel:
    return pyfunc_model.RecipeModel(
        pipeline,
        feature_columns,
        is_classifier=is_classifier,
        scores_for_all_classes=scores,
        prefix=prefix,
    )


def log_recipe_model(
    tracker: Any,
    model: pyfunc_model.RecipeModel,
    sample: Any,
    code_paths: list[str],
    requirements: list[str],
) -> tuple[str, str]:
    """Log the recipe model in the active run; the wrapper class travels by value."""
    signature = infer_signature(sample, model.predict(None, sample))
    cloudpickle.register_pickle_by_value(pyfunc_model)
    try:
        return tracker.log_pyfunc_model(model, "model", signature, code_paths, requirements)
    finally:
        cloudpickle.unregister_pickle_by_value(pyfunc_model)


def download_artifacts(uri: str) -> str:
    import mlflow.artifacts

    return mlflow.artifacts.download_artifacts(artifact_uri=uri)
