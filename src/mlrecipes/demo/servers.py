"""Real servers on 127.0.0.1, started and always stopped by their own handle: what ``make demo``
runs (a basic-auth MLflow tracking server) and what the tests start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

VENV_BIN = str(Path(sys.executable).parent)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"server not ready at {url} after {timeout} s:\n{log.read_text()[-3000:]}")


@contextmanager
def running(
    args: list[str],
    ready_path: str,
    port: int,
    log: Path,
    env: dict | None = None,
    timeout: float = 90,
) -> Iterator[str]:
    """Run a server command; yield its base URL once ``ready_path`` answers 200; always stop it."""
    full_env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}", **(env or {})}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=full_env, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base + ready_path, proc, timeout, log)
        yield base
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


AUTH_INI = """[mlflow]
default_permission = READ
database_uri = sqlite:///{db}
admin_username = admin
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
grant_default_workspace_access = false
# a verified password is trusted for 5 minutes: without it every request re-runs the slow
# password hash (a deploy makes hundreds of requests); fine for a local demo or test server
auth_cache_ttl_seconds = 300
"""


@contextmanager
def basic_auth_server(store: Path, admin_password: str, secret_key: str) -> Iterator[str]:
    """``mlflow server --app-name basic-auth`` on a free 127.0.0.1 port, its tracking and auth
    databases (SQLite) and artifacts under ``store``; default permission READ; always stopped."""
    store.mkdir(parents=True, exist_ok=True)
    ini = store / "basic_auth.ini"
    ini.write_text(AUTH_INI.format(db=store / "auth.db"))
    port = free_port()
    args = [
        sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
        "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
        "--artifacts-destination", str(store / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = {
        "MLFLOW_AUTH_CONFIG_PATH": str(ini),
        "MLFLOW_AUTH_ADMIN_PASSWORD": admin_password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secret_key,
        # the server's job runner (GenAI scorers: four huey worker processes) is not used here
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    with running(args, "/health", port, store / "server.log", env=env, timeout=120) as uri:
        yield uri
