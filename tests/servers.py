"""Start real servers (mlflow server, mlflow models serve) on 127.0.0.1 for tests, and stop them
(the helpers live in mlrecipes.demo.servers, which make demo uses too)."""

from __future__ import annotations

import urllib.error
import urllib.request

from mlrecipes.demo.servers import (  # noqa: F401 (re-exported for the tests)
    basic_auth_server,
    free_port,
    running,
    stop,
    wait_until_ready,
)


def post_json(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
