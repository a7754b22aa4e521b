"""Refusals from an MLflow auth server, said plainly: which user, which resource, which permission.

MLflow answers a refused call with ``PERMISSION_DENIED: ... failed with error code 403``, naming
neither the user nor what was missing. The tracker's client is wrapped so that a refusal becomes an
:class:`AccessDeniedError` that does; nothing else about the client changes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException

from mlrecipes.config.redaction import redact_uri
from mlrecipes.errors import AccessDeniedError

EXPERIMENT, MODEL = "experiment", "registered model"

# client call -> (what it does, on which kind of resource, the permission it needs there)
CALLS: dict[str, tuple[str, str, str]] = {
    "create_experiment": ("create", EXPERIMENT, "the right to create experiments"),
    "set_experiment_tag": ("tag", EXPERIMENT, "EDIT"),
    "create_run": ("start a run in", EXPERIMENT, "EDIT"),
    "log_batch": ("log to a run in", EXPERIMENT, "EDIT"),
    "log_metric": ("log to a run in", EXPERIMENT, "EDIT"),
    "log_param": ("log to a run in", EXPERIMENT, "EDIT"),
    "set_tag": ("tag a run in", EXPERIMENT, "EDIT"),
    "log_artifact": ("store an artifact of a run in", EXPERIMENT, "EDIT"),
    "log_artifacts": ("store artifacts of a run in", EXPERIMENT, "EDIT"),
    "log_text": ("store an artifact of a run in", EXPERIMENT, "EDIT"),
    "set_terminated": ("end a run in", EXPERIMENT, "EDIT"),
    "create_registered_model": ("create", MODEL, "the right to create registered models"),
    "create_model_version": ("register a version of", MODEL, "EDIT"),
    "set_registered_model_alias": ("move an alias of", MODEL, "EDIT"),
    "delete_registered_model_alias": ("remove an alias of", MODEL, "EDIT"),
    "set_model_version_tag": ("tag a version of", MODEL, "EDIT"),
    "delete_model_version_tag": ("untag a version of", MODEL, "EDIT"),
    "set_registered_model_tag": ("tag", MODEL, "EDIT"),
    "delete_model_version": ("delete a version of", MODEL, "MANAGE"),
}
REFUSALS = ("PERMISSION_DENIED", "UNAUTHENTICATED")


if TYPE_CHECKING:
    from mlflow import MlflowClient


def current_user(connect_uri: str = "") -> str | None:
    """The user MLflow sends: the environment's (MLflow prefers it), else the URI's userinfo."""
    from urllib.parse import unquote, urlsplit

    from_uri = urlsplit(connect_uri).username if "@" in connect_uri else None
    return os.environ.get("MLFLOW_TRACKING_USERNAME") or (from_uri and unquote(from_uri)) or None


def denial(
    exc: MlflowException,
    call: str,
    args: tuple[Any, ...],
    uri: str,
    experiment: str | None,
    user: str | None = None,
) -> AccessDeniedError | None:
    """The plain message for a refused ``call`` (None: not a refusal)."""
    code = getattr(exc, "error_code", None)
    if code not in REFUSALS:
        return None
    if code == "UNAUTHENTICATED" or user is None:
        who = f"user '{user}'" if user else "no user (MLFLOW_TRACKING_USERNAME is not set)"
        return AccessDeniedError(
            f"MLflow at {uri} did not authenticate {who}: set MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD to an identity of this environment"
        )
    verb, kind, needs = CALLS.get(call, (call.replace("_", " "), "resource", "a higher permission"))
    if kind == MODEL and args and isinstance(args[0], str):
        name = args[0]
    elif kind == EXPERIMENT and experiment:
        name = experiment
    else:
        name = "(see the call)"
    return AccessDeniedError(
        f"MLflow at {uri} refused user '{user}': to {verb} {kind} '{name}' it needs {needs} "
        f"there, and does not have it (`mlrecipes access show --tracking-uri {uri}` lists who "
        "can do what; access.yaml decides)"
    )


class GuardedClient:
    """An ``MlflowClient`` whose refusals name the user, the resource and the permission."""

    def __init__(
        self, client: MlflowClient, uri: str, experiment: str | None, connect_uri: str = ""
    ):
        self._client = client
        self._uri = redact_uri(uri)  # shown in messages
        self._user = current_user(connect_uri or uri)
        self._experiment = experiment

    # a transparent proxy: each attribute has the MlflowClient's own type
    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: object, **kwargs: object) -> Any:  # noqa: ANN401
            try:
                return attribute(*args, **kwargs)
            except MlflowException as exc:
                refused = denial(exc, name, args, self._uri, self._experiment, self._user)
                if refused is None:
                    raise
                raise refused from exc

        return call
