"""An MLflow basic-auth server's side of ``mlrecipes access``: read its users, resources and
grants, and apply a plan (``mlrecipes.access.plan``) with MLflow 3.17's API: the
``basic-auth`` app client (``grant_user_permission`` / ``revoke_user_permission``; the
per-resource permission calls were removed in 3.13) and the tracking client for experiments and
registered models. Runs as the admin named by ``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlrecipes.access.plan import EXPERIMENT, Change, ServerState
from mlrecipes.access.spec import AccessSpec
from mlrecipes.config.redaction import redact, redact_uri
from mlrecipes.errors import TrackingError

if TYPE_CHECKING:
    from mlflow.store.entities.paged_list import PagedList


LIST_USERS = "/api/2.0/mlflow/users/list"


def _every(search: Callable[..., PagedList], **kwargs: object) -> list[Any]:
    """Every page of an MLflow search."""
    found: list[Any] = []
    token = None
    while True:
        page = search(page_token=token, **kwargs)
        found += list(page)
        token = page.token
        if not token:
            return found


class AccessServer:
    def __init__(self, tracking_uri: str):
        from mlflow.server import get_app_client

        if not tracking_uri.startswith(("http://", "https://")):
            raise TrackingError(
                f"access needs a tracking server run with --app-name basic-auth, not {tracking_uri}"
                " (a database URI bypasses the auth app)"
            )
        self.connect_uri = tracking_uri
        self.uri = redact_uri(tracking_uri)  # shown; the clients connect with the original
        self.auth = get_app_client("basic-auth", tracking_uri=tracking_uri)
        self.client = MlflowClient(tracking_uri, tracking_uri)

    def _fail(self, what: str, exc: Exception) -> TrackingError:
        user = os.environ.get("MLFLOW_TRACKING_USERNAME", "(no MLFLOW_TRACKING_USERNAME)")
        return TrackingError(redact(f"MLflow at {self.uri}, as '{user}': {what} failed: {exc}"))

    def state(self) -> ServerState:
        """Users, every experiment and registered model, and the per-user grants."""
        from mlflow.utils.credentials import get_default_host_creds
        from mlflow.utils.rest_utils import http_request

        try:
            response = http_request(get_default_host_creds(self.connect_uri), LIST_USERS, "GET")
        except Exception as exc:
            raise self._fail("listing users", exc) from exc
        if response.status_code != 200:
            raise self._fail(
                "listing users (admin credentials are needed)",
                RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}"),
            )
        users: dict[str, bool] = {}
        grants: dict[tuple[str, str, str], str] = {}
        for user in response.json().get("users", []):
            users[user["username"]] = bool(user.get("is_admin"))
            for role in user.get("roles", []):
                if not str(role.get("name", "")).startswith("__user_"):
                    continue  # named roles (RBAC) are not managed here
                for grant in role.get("permissions", []):
                    key = (user["username"], grant["resource_type"], str(grant["resource_pattern"]))
                    grants[key] = grant["permission"]
        try:
            from mlflow.entities import ViewType

            found = _every(self.client.search_experiments, view_type=ViewType.ALL)
            experiments = {e.name: e.experiment_id for e in found}
            models = frozenset(m.name for m in _every(self.client.search_registered_models))
        except MlflowException as exc:
            raise self._fail("listing experiments and models", exc) from exc
        return ServerState(users, experiments, models, grants)

    def apply(self, spec: AccessSpec, changes: list[Change], state: ServerState) -> None:
        """Carry out ``changes`` in order (users, resources, then grants)."""
        experiments = dict(state.experiments)
        for change in changes:
            try:
                self._apply_one(spec, change, experiments)
            except MlflowException as exc:
                raise self._fail(change.describe(), exc) from exc

    def _apply_one(self, spec: AccessSpec, change: Change, experiments: dict[str, str]) -> None:
        if change.action == "create_user":
            variable = spec.identities[change.identity].password_env
            password = os.environ.get(variable)
            if not password:
                raise TrackingError(
                    f"access.yaml: identities.{change.identity}.password_env names {variable}, "
                    "which is not set: the user does not exist yet and needs a password"
                )
            self.auth.create_user(change.identity, password)
            return
        resource = change.resource
        assert resource is not None
        if change.action == "create_experiment":
            experiments[resource.name] = self.client.create_experiment(resource.name)
            return
        if change.action == "create_registered_model":
            self.client.create_registered_model(resource.name)
            return
        key = experiments[resource.name] if resource.kind == EXPERIMENT else resource.name
        if change.action in ("change", "revoke"):
            self.auth.revoke_user_permission(change.identity, resource.kind, key)
        if change.action in ("grant", "change"):
            self.auth.grant_user_permission(change.identity, resource.kind, key, change.permission)
