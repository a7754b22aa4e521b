"""Removing a profile's MLflow resources (``mlrecipes demo reset``)."""

from __future__ import annotations

import time

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlrecipes.config.tracking import TrackingSettings
from mlrecipes.tracking.guard import GuardedClient


def _client(settings: TrackingSettings) -> GuardedClient:
    client = MlflowClient(settings.connect_tracking_uri, settings.connect_registry_uri)
    return GuardedClient(
        client, settings.tracking_uri, settings.experiment_name, settings.connect_tracking_uri
    )


def remove_experiment(settings: TrackingSettings, name: str) -> bool:
    """Delete experiment ``name`` (False: there is none). It is renamed first: MLflow keeps a
    deleted experiment's name taken, and the next run must be able to create it afresh."""
    client = _client(settings)
    found = client.get_experiment_by_name(name)
    if found is None:
        return False
    client.rename_experiment(found.experiment_id, f"{name} (reset {time.time_ns()})")
    if found.lifecycle_stage != "deleted":
        client.delete_experiment(found.experiment_id)
    return True


def remove_registered_model(settings: TrackingSettings, name: str) -> bool:
    """Delete registered model ``name`` with its versions and aliases (False: there is none)."""
    client = _client(settings)
    try:
        client.delete_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return False
        raise
    return True
