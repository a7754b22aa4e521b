"""Where a recipe's runs and models go, resolved from the profile, the environment and defaults.

Precedence: the profile's ``experiment.tracking_uri`` > ``MLFLOW_TRACKING_URI`` > a SQLite store
under ``<root>/metadata/mlflow``. (MLflow Recipes ignored ``MLFLOW_TRACKING_URI``.) The result is
a :class:`TrackingSettings`: tracking is handed these, never the recipe.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlrecipes.config.loader import LoadedRecipe


@dataclass(frozen=True)
class TrackingSettings:
    tracking_uri: str
    registry_uri: str
    experiment_name: str | None
    experiment_id: str | None
    artifact_location: str | None
    run_name_prefix: str | None
    model_name: str
    recipe_name: str
    profile: str
    root: Path


def _absolute_sqlite(uri: str, root: Path) -> str:
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith("sqlite:////"):
        rel = uri[len(prefix) :]
        if rel and not rel.startswith(":memory:"):
            return prefix + str((root / rel).resolve())
    return uri


def _absolute_file_uri(uri: str, root: Path) -> str:
    if "://" in uri and not uri.startswith("file:"):
        return uri
    path = uri[len("file://") :] if uri.startswith("file://") else uri.removeprefix("file:")
    resolved = Path(path) if Path(path).is_absolute() else (root / path)
    return resolved.resolve().as_uri()


def resolve_tracking(recipe: LoadedRecipe) -> TrackingSettings:
    cfg = recipe.config
    root = recipe.root
    default_store = f"sqlite:///{root / 'metadata' / 'mlflow' / 'mlruns.db'}"
    tracking_uri = (
        cfg.experiment.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_store
    )
    tracking_uri = _absolute_sqlite(tracking_uri, root)
    registry_uri = (
        cfg.model_registry.registry_uri
        or cfg.steps.register.registry_uri
        or os.environ.get("MLFLOW_REGISTRY_URI")
        or tracking_uri
    )
    registry_uri = _absolute_sqlite(registry_uri, root)
    artifact_location = cfg.experiment.artifact_location
    if artifact_location:
        artifact_location = _absolute_file_uri(artifact_location, root)
    elif tracking_uri.startswith("sqlite:"):
        # Without this, MLflow puts artifacts under ./mlruns of whatever the CWD happens to be.
        artifact_location = (root / "metadata" / "mlflow" / "mlartifacts").resolve().as_uri()
    experiment_name = cfg.experiment.name
    if experiment_name is None and cfg.experiment.id is None:
        experiment_name = root.name
    return TrackingSettings(
        tracking_uri=tracking_uri,
        registry_uri=registry_uri,
        experiment_name=experiment_name,
        experiment_id=cfg.experiment.id,
        artifact_location=artifact_location,
        run_name_prefix=cfg.experiment.run_name_prefix,
        model_name=cfg.model_name or "",
        recipe_name=root.name,
        profile=recipe.profile,
        root=root,
    )
