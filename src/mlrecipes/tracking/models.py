"""Saving, logging and loading models with MLflow (the model-format side of tracking)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cloudpickle
import mlflow.pyfunc
import mlflow.sklearn
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from mlrecipes.tracking import pyfunc_model
from mlrecipes.tracking.loading import load_pyfunc
from mlrecipes.tracking.requirements import pins_from_this_environment

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.pyfunc import PyFuncModel
    from sklearn.base import BaseEstimator

    from mlrecipes.deployment.scoring import ScoringPolicy
    from mlrecipes.tracking.client import Tracker


@dataclass(frozen=True)
class ResolvedModel:
    uri: str
    name: str | None
    version: str | None
    alias: str | None

    def describe(self) -> str:
        parts = [self.uri]
        if self.name and self.version:
            parts.append(
                f"({self.name} version {self.version}"
                + (f", alias {self.alias})" if self.alias else ")")
            )
        return " ".join(parts)


def save_sklearn_model(pipeline: BaseEstimator, path: Path, requirements: list[str]) -> None:
    """The fitted pipeline in MLflow's sklearn format (``sk_model``, as MLflow Recipes wrote it):
    what evaluate loads when train ran in an earlier process."""
    if path.exists():
        shutil.rmtree(path)
    with pins_from_this_environment():
        mlflow.sklearn.save_model(
            pipeline, str(path), serialization_format="cloudpickle", pip_requirements=requirements
        )


def recipe_model(
    pipeline: BaseEstimator,
    feature_columns: list[str],
    is_classifier: bool,
    scores: bool,
    prefix: str,
    positive_class: str | int | float | bool | None = None,
    decision_threshold: float | None = None,
    feature_spec: str | None = None,
) -> pyfunc_model.RecipeModel:
    return pyfunc_model.RecipeModel(
        pipeline,
        feature_columns,
        is_classifier=is_classifier,
        scores_for_all_classes=scores,
        prefix=prefix,
        positive_class=positive_class,
        decision_threshold=decision_threshold,
        feature_spec=feature_spec,
    )


def log_recipe_model(
    tracker: Tracker,
    model: pyfunc_model.RecipeModel,
    sample: pd.DataFrame,
    code_paths: list[str],
    requirements: list[str],
    artifacts: dict[str, str] | None = None,
) -> tuple[str, str]:
    """Log the recipe model in the active run; the wrapper class travels by value."""
    signature = infer_signature(sample, model.predict(None, sample))
    cloudpickle.register_pickle_by_value(pyfunc_model)
    try:
        with pins_from_this_environment():
            return tracker.log_pyfunc_model(
                model, "model", signature, code_paths, requirements, artifacts
            )
    finally:
        cloudpickle.unregister_pickle_by_value(pyfunc_model)


def load_with_feature_spec(
    model_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
) -> tuple[Any, str | None]:
    """A registered recipe model and its feature spec (JSON text; None: not trained from feature
    tables), from the given stores (default: MLflow's current ones)."""
    import contextlib

    from mlrecipes.tracking.uris import scoped_uris

    scope = (
        scoped_uris(tracking_uri, registry_uri or tracking_uri)
        if tracking_uri
        else contextlib.nullcontext()
    )
    with scope:
        model = load_pyfunc(model_uri)
    return model, feature_spec_of(model)


def feature_spec_of(model: PyFuncModel) -> str | None:
    try:
        inner = model.unwrap_python_model()
    except (MlflowException, AttributeError):  # not a python-function model (a sklearn flavor)
        return None
    return getattr(inner, "feature_spec", None)


def download_artifacts(uri: str) -> str:
    import mlflow.artifacts

    return mlflow.artifacts.download_artifacts(artifact_uri=uri)


def resolve_scoring_model(
    tracker: Tracker,
    explicit_uri: str | None,
    model_name: str,
    fallback_alias: str,
    policy: ScoringPolicy,
) -> ResolvedModel:
    """Which model predict uses: an explicit ``model_uri`` always wins; otherwise the version
    the scoring policy allows (``mlrecipes.deployment.scoring``): the champion, or the register
    alias where no deploy step decides."""
    from mlflow.exceptions import MlflowException

    from mlrecipes.errors import TrackingError

    client = tracker.client
    registry = tracker.settings.registry_uri
    if explicit_uri:
        if not explicit_uri.startswith("models:/"):
            return ResolvedModel(explicit_uri, None, None, None)
        ref = explicit_uri[len("models:/") :]
        try:
            if "@" in ref:
                name, alias = ref.split("@", 1)
                version = client.get_model_version_by_alias(name, alias).version
                return ResolvedModel(explicit_uri, name, str(version), alias)
            name, _, version = ref.rpartition("/")
            if name and version.isdigit():
                client.get_model_version(name, version)
                return ResolvedModel(explicit_uri, name, version, None)
            if name:  # a stage or "latest" (deprecated, open-source registry only)
                stages = None if version.lower() == "latest" else [version]
                found = client.get_latest_versions(name, stages=stages)
                if not found:
                    raise MlflowException(f"no version of '{name}' in stage '{version}'")
                return ResolvedModel(explicit_uri, name, str(found[0].version), None)
            return ResolvedModel(explicit_uri, None, None, None)  # models:/<logged model id>
        except MlflowException as exc:
            raise TrackingError(
                f"predict.model_uri: {explicit_uri} not found in the registry at {registry}: {exc.message}"
            ) from exc
    return _by_policy(tracker, model_name, fallback_alias, policy)


def _by_policy(
    tracker: Tracker, model_name: str, fallback_alias: str, policy: ScoringPolicy
) -> ResolvedModel:
    from mlrecipes.deployment.scoring import VersionFacts, choose, recorded_champion
    from mlrecipes.errors import DeploymentError, TrackingError

    tags = {str(mv.version): dict(mv.tags) for mv in tracker.versions(model_name)}
    if not tags:
        tried = " and ".join(
            f"models:/{model_name}@{a}" for a in dict.fromkeys(["champion", fallback_alias])
        )
        raise TrackingError(
            f"no model to score with: looked up {tried} in the registry at "
            f"{tracker.settings.registry_uri}; run the training recipe (mlrecipes run) or set "
            "steps.predict.model_uri"
        )
    aliases = tracker.aliases(model_name)

    def facts(alias: str) -> VersionFacts | None:
        version = aliases.get(alias)
        if version not in tags:
            return None
        return VersionFacts(version, tags[version].get("mlrecipes.deploy.decision"))

    pending = sorted(
        (v for v, t in tags.items() if t.get("mlrecipes.deploy.decision") == "pending_approval"),
        key=int,
    )
    last = recorded_champion(tags)
    gone = last if last is not None and last not in tags else None
    choice = choose(model_name, policy, facts("champion"), fallback_alias, facts(fallback_alias),
                    pending, gone)  # fmt: skip
    if choice.alias is None:
        raise DeploymentError(choice.reason)
    version = aliases[choice.alias]
    return ResolvedModel(f"models:/{model_name}@{choice.alias}", model_name, version, choice.alias)


def input_schema(model: PyFuncModel) -> dict[str, str]:
    """Column → MLflow type of the model's input signature ({} when it has none)."""
    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        return {}
    return {
        spec.name: spec.type.name if hasattr(spec.type, "name") else str(spec.type)
        for spec in schema.inputs
    }


def output_columns(model: PyFuncModel) -> list[tuple[str, str]]:
    """(name, MLflow type) of a DataFrame output, [] for a single unnamed output."""
    schema = model.metadata.get_output_schema()
    if schema is None or not schema.has_input_names():
        return []
    return [
        (spec.name, spec.type.name if hasattr(spec.type, "name") else str(spec.type))
        for spec in schema.inputs
    ]
