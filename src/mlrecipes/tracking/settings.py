"""Helpers that read a store URI, and the environment MLflow runs in while the engine works
(the settings themselves, :class:`~mlrecipes.config.tracking.TrackingSettings`, are resolved
from the recipe by config).

Pure: no MLflow import, so ``inspect`` can report the tracking URI without paying for MLflow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlrecipes.process.environment import environment_defaults


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
    # MLflow 3 refuses a file store (./mlruns) unless asked; MLflow Recipes projects have theirs
    # there (tracking_uri: "" or a path), so a configured one is opened as MLflow 2 opened it
    "MLFLOW_ALLOW_FILE_STORE": "true",
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
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(quiet)
    try:
        with environment_defaults(defaults), warnings.catch_warnings():
            for pattern in QUIET_WARNINGS:
                warnings.filterwarnings("ignore", message=f".*{pattern}")
            yield
    finally:
        # As it was; or, if MLflow was first imported here, as MLflow itself would have set it.
        logger.setLevel(level if mlflow_loaded else mlflow_default_level)
