"""MLflow's fluent API pointed at one recipe's stores for a block, and put back afterwards.

The few MLflow calls that exist only in fluent form (logging and loading a model, ``search_runs``
as a DataFrame) read process-wide URIs. :func:`scoped_uris` sets them through MLflow's public
setters and restores them the same way, so a notebook's own settings survive a run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
import mlflow.tracking

_URI_LOCK = threading.RLock()
_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextmanager
def scoped_uris(tracking_uri: str, registry_uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at these stores for the body only, then restore everything.

    ``mlflow.set_tracking_uri`` also exports ``MLFLOW_TRACKING_URI`` (and the registry setter its
    variable), so the variables are what a caller's settings look like from outside: afterwards
    a URI that was set is set again and one that was not is cleared (``None`` is MLflow's own
    "unset"), and both variables are as they were.
    """
    with _URI_LOCK:
        saved_env = {k: os.environ.get(k) for k in _URI_VARIABLES}
        saved_tracking = (
            mlflow.get_tracking_uri() if mlflow.tracking.is_tracking_uri_set() else None
        )
        saved_registry = saved_env["MLFLOW_REGISTRY_URI"]
        try:
            mlflow.set_tracking_uri(tracking_uri)
            mlflow.set_registry_uri(registry_uri)
            yield
        finally:
            mlflow.set_tracking_uri(saved_tracking)  # type: ignore[arg-type]  # None: unset
            mlflow.set_registry_uri(saved_registry)  # type: ignore[arg-type]
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@contextmanager
def run_links_hidden(hide: bool) -> Iterator[None]:
    """MLflow's "View run ... at <store URI>" line is not printed while ``hide`` (a URI with
    credentials would be printed whole); the variable is put back afterwards."""
    if not hide:
        yield
        return
    name = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
    with _URI_LOCK:
        saved = os.environ.get(name)
        os.environ[name] = "true"
        try:
            yield
        finally:
            os.environ.pop(name) if saved is None else os.environ.__setitem__(name, saved)
