"""Who is acting, as the store knows it: the identity recorded on a deploy decision.

On a tracking server run with ``--app-name basic-auth`` that is the user the server
authenticated (``GET /api/2.0/mlflow/users/current``, MLflow 3.17); a server without the auth
app and a database store authenticate nobody, so the OS user is recorded. A name a person or a
CI system declares (``MLRECIPES_DECIDER``, ``GITHUB_ACTOR``) is kept beside it as a claim
(:func:`mlrecipes.deployment.audit.decider`), never in its place.
"""

from __future__ import annotations

import os

from mlflow.exceptions import MlflowException
from mlflow.utils.credentials import get_default_host_creds
from mlflow.utils.rest_utils import http_request
from requests.exceptions import RequestException

from mlrecipes.config.redaction import redact, redact_uri
from mlrecipes.deployment.audit import OS_USER, Decider, decider, os_user
from mlrecipes.errors import AccessDeniedError, TrackingError

CURRENT_USER = "/api/2.0/mlflow/users/current"
BASIC_AUTH = "mlflow basic-auth"


def authenticated_identity(connect_uri: str) -> tuple[str, str]:
    """(name, how it is known) of whoever ``connect_uri``'s credentials authenticate."""
    if not connect_uri.startswith(("http://", "https://")):
        return os_user(), OS_USER
    shown = redact_uri(connect_uri)
    try:
        response = http_request(
            get_default_host_creds(connect_uri), CURRENT_USER, "GET", max_retries=1,
            raise_on_status=False,
        )  # fmt: skip
    except (MlflowException, RequestException) as exc:
        message = redact(f"MLflow at {shown}: asking who is signed in failed: {exc}")
        raise TrackingError(message) from exc
    if response.status_code == 404:  # no auth app: the server authenticates nobody
        return os_user(), f"{OS_USER} (the server at {shown} authenticates nobody)"
    if response.status_code == 401:
        raise AccessDeniedError(
            f"MLflow at {shown} did not authenticate the caller: set MLFLOW_TRACKING_USERNAME "
            "and MLFLOW_TRACKING_PASSWORD to an identity of this environment"
        )
    if response.status_code != 200:
        raise TrackingError(
            f"MLflow at {shown}: asking who is signed in failed: HTTP {response.status_code}"
        )
    return str(response.json()["user"]["username"]), BASIC_AUTH


def current_decider(connect_uri: str) -> Decider:
    name, source = authenticated_identity(connect_uri)
    return decider(name, source, os.environ)
