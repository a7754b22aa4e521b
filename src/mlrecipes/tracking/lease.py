"""Mutual exclusion across machines, through the one thing they share: the registry.

Two CI runners or two clusters share the registry, not a file system a lock file would work on.
``create_registered_model`` is an exclusive create (of several processes creating one name at
the same instant, exactly one succeeds; the others get ``RESOURCE_ALREADY_EXISTS``), so a
registered model named after the guarded one (``<model>__lease_<purpose>``) is a lease: created
= held, deleted = released. Its tags say who holds it (host, pid, command, token) and until
when. A holder that died is taken over when its lease has expired, or at once when it ran on
this host and its process is gone. Creating it needs the permission to create registered models
where the guarded model lives (any authenticated user on a basic-auth server; CREATE MODEL on
the schema in Unity Catalog).
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from mlflow.exceptions import MlflowException

from mlrecipes.errors import DeploymentError

if TYPE_CHECKING:
    from mlrecipes.tracking.client import Tracker

PREFIX = "mlrecipes.lease."
WAIT_ENV = "MLRECIPES_LEASE_WAIT_SECONDS"


def lease_name(model: str, purpose: str) -> str:
    return f"{model}__lease_{purpose}"


def _alive_here(tags: dict[str, str]) -> bool:
    """Whether the holder is a live process of this host (False: another host, or gone)."""
    if tags.get(PREFIX + "host") != socket.gethostname():
        return True  # cannot tell from here: trust the expiry
    try:
        os.kill(int(tags.get(PREFIX + "pid", "0")), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def _stale(tags: dict[str, str], now: datetime) -> bool:
    expires = tags.get(PREFIX + "expires_at")
    try:
        expired = expires is None or datetime.fromisoformat(expires) <= now
    except ValueError:
        expired = True
    return expired or not _alive_here(tags)


def _holder(tags: dict[str, str]) -> str:
    return (
        f"pid {tags.get(PREFIX + 'pid')} on {tags.get(PREFIX + 'host')} since "
        f"{tags.get(PREFIX + 'since')} ({tags.get(PREFIX + 'command')})"
    )


@contextmanager
def registry_lease(
    tracker: Tracker,
    model: str,
    purpose: str,
    ttl: timedelta = timedelta(hours=2),
    say: Callable[[str], None] = lambda _: None,
) -> Iterator[None]:
    """Hold ``<model>__lease_<purpose>`` for the block; wait for another holder up to
    ``MLRECIPES_LEASE_WAIT_SECONDS`` (default 900), then fail naming it."""
    name = lease_name(model, purpose)
    token = secrets.token_hex(8)
    wait = float(os.environ.get(WAIT_ENV, "900"))
    deadline, said = time.monotonic() + wait, False
    client = tracker.client
    while True:
        now = datetime.now(UTC)
        tags = {
            PREFIX + "token": token, PREFIX + "host": socket.gethostname(),
            PREFIX + "pid": str(os.getpid()), PREFIX + "since": now.isoformat(timespec="seconds"),
            PREFIX + "expires_at": (now + ttl).isoformat(timespec="seconds"),
            PREFIX + "command": " ".join(sys.argv[1:4])[:200] or "python",
        }  # fmt: skip
        try:
            client.create_registered_model(name, tags=tags, description=f"lease: {purpose}")
            break
        except MlflowException as exc:
            # A SQL store answers a lost race by reading the winner back; when the winner has
            # released it in between, that read says RESOURCE_DOES_NOT_EXIST: free again.
            if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST"):
                raise tracker._fail(f"taking the {purpose} lease {name}", exc) from exc
        held = _current(tracker, name)
        if held is None:
            continue  # released meanwhile: try again at once
        if _stale(held, now):
            say(f"taking over the {purpose} lease of a holder that is gone: {_holder(held)}")
            _delete_if(tracker, name, held.get(PREFIX + "token"))
            continue
        if time.monotonic() > deadline:
            raise DeploymentError(
                f"another {purpose} holds the lease {name}: {_holder(held)}; waited {wait:g} s "
                f"({WAIT_ENV}); it expires at {held.get(PREFIX + 'expires_at')}"
            )
        if not said:
            say(f"waiting for the {purpose} lease held by {_holder(held)}")
            said = True
        time.sleep(0.3 + secrets.randbelow(300) / 1000)
    try:
        yield
    finally:
        _delete_if(tracker, name, token)


def _current(tracker: Tracker, name: str) -> dict[str, str] | None:
    try:
        return dict(tracker.client.get_registered_model(name).tags)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise tracker._fail(f"reading the lease {name}", exc) from exc


def _delete_if(tracker: Tracker, name: str, token: str | None) -> None:
    """Release (or take over) the lease only while it is still the one with ``token``."""
    held = _current(tracker, name)
    if held is None or held.get(PREFIX + "token") != token:
        return
    try:
        tracker.client.delete_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise tracker._fail(f"releasing the lease {name}", exc) from exc
