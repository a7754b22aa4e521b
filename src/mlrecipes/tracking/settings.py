"""Where a recipe's runs and models go: resolved from the profile, the environment and defaults.

Pure: no MLflow import, so ``inspect`` can report the tracking URI without paying for MLflow.
Precedence: the profile's ``experiment.tracking_uri`` > ``MLFLOW_TRACKING_URI`` > a SQLite store
under ``<root>/metadata/mlflow``. (MLflow Recipes ignored ``MLFLOW_TRACKING_URI``.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` store URI (None for other stores)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or ":memory:" in uri:
        return None
    return Path(uri[len(prefix) :].split("?", 1)[0])


_UNREACHABLE_HINTS = (
    "Connection refused",
    "Failed to establish a new connection",
    "Max retries exceeded",
    "Connection aborted",
    "RemoteDisconnected",
    "Read timed out",
)


def unreachable_server_error(exc: BaseException) -> bool:
    """Whether an exception (or its causes) says the tracking server could not be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ in (
            "ConnectionError",
            "ConnectTimeout",
            "ReadTimeout",
            "MaxRetryError",
        ):
            return True
        if any(hint in str(current) for hint in _UNREACHABLE_HINTS):
            return True
        current = current.__cause__ or current.__context__
    return False


# A tracking server that went away should fail a run within seconds, not after MLflow's default
# of 7 retries with exponential backoff (minutes). Users' own values always win.
ENGINE_ENV_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # with a tracking server MLflow prints "View run ... at: <url>" to stdout when a run ends:
    # stdout is the command's own output (retrain --json must be JSON alone)
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
# MLflow narrates every call at INFO and warns about choices made here on purpose (cloudpickle,
# explicit signatures without input examples); keep its errors, drop the rest unless asked.
QUIET_WARNINGS = (
    "Add type hints to the `predict` method",
    "An input example was not provided",
    "Hint: Inferred schema contains integer column",
    "Saving scikit-learn models in the pickle",
)


@contextmanager
def engine_environment() -> Iterator[None]:
    """The settings the engine runs with, applied around engine calls and undone afterwards, so
    that a notebook's environment, loggers and warning filters are the same after
    ``Recipe(...).run()`` as before. The CLI applies them for the whole process."""
    import logging
    import sys
    import warnings

    quiet = os.environ.get("MLRECIPES_MLFLOW_LOG_LEVEL", "ERROR")
    mlflow_loaded = "mlflow" in sys.modules
    # MLflow configures its logger when first imported, from MLFLOW_LOGGING_LEVEL.
    defaults = {**ENGINE_ENV_DEFAULTS, "MLFLOW_LOGGING_LEVEL": quiet}
    mlflow_default_level = os.environ.get("MLFLOW_LOGGING_LEVEL", "INFO").upper()
    added = [k for k in defaults if k not in os.environ]
    for key in added:
        os.environ[key] = defaults[key]
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(quiet)
    try:
        with warnings.catch_warnings():
            for pattern in QUIET_WARNINGS:
                warnings.filterwarnings("ignore", message=f".*{pattern}")
            yield
    finally:
        # As it was; or, if MLflow was first imported here, as MLflow itself would have set it.
        logger.setLevel(level if mlflow_loaded else mlflow_default_level)
        for key in added:
            os.environ.pop(key, None)
