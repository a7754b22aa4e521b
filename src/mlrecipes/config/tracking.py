"""Where a recipe's runs and models go, resolved from the profile, the environment and defaults.

Precedence: the profile's ``experiment.tracking_uri`` > ``MLFLOW_TRACKING_URI`` > a SQLite store
under ``<root>/metadata/mlflow``. (MLflow Recipes ignored ``MLFLOW_TRACKING_URI``.) An empty
``tracking_uri: ""`` is MLflow's own default, as MLflow Recipes passed it on: the file store
``<root>/mlruns``, where such a project's runs already are. The result is a
:class:`TrackingSettings`: tracking is handed these, never the recipe.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlrecipes.config.locations import is_remote, resolved_path
from mlrecipes.config.redaction import has_credentials, redact_uri

if TYPE_CHECKING:
    from mlrecipes.config.loader import LoadedRecipe


@dataclass(frozen=True)
class TrackingSettings:
    """``tracking_uri`` / ``registry_uri`` are what may be shown and recorded: never with
    credentials. ``connect_*`` are what MLflow's clients connect with (only ``tracking`` reads
    them; they are left out of ``repr``)."""

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
    connect_tracking_uri: str = field(default="", repr=False, compare=False)
    connect_registry_uri: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        # settings built by hand (tests, notebooks) connect with what they show
        if not self.connect_tracking_uri:
            object.__setattr__(self, "connect_tracking_uri", self.tracking_uri)
        if not self.connect_registry_uri:
            object.__setattr__(self, "connect_registry_uri", self.registry_uri)
        object.__setattr__(self, "tracking_uri", redact_uri(self.tracking_uri))
        object.__setattr__(self, "registry_uri", redact_uri(self.registry_uri))

    @property
    def credentials_in_uri(self) -> bool:
        return has_credentials(self.connect_tracking_uri) or has_credentials(
            self.connect_registry_uri
        )


def _absolute_sqlite(uri: str, root: Path) -> str:
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith("sqlite:////"):
        rel = uri[len(prefix) :]
        if rel and not rel.startswith(":memory:"):
            return prefix + str((root / rel).resolve())
    return uri


def _absolute_file_uri(uri: str, root: Path) -> str:
    if is_remote(uri):
        return uri
    return resolved_path(uri, root).as_uri()


def resolve_tracking(recipe: LoadedRecipe) -> TrackingSettings:
    cfg = recipe.config
    root = recipe.root
    default_store = f"sqlite:///{root / 'metadata' / 'mlflow' / 'mlruns.db'}"
    tracking_uri = (
        cfg.experiment.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_store
    )
    if cfg.experiment.tracking_uri == "":  # set, and empty: MLflow's ./mlruns (MLflow Recipes)
        tracking_uri = (root / "mlruns").resolve().as_uri()
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
