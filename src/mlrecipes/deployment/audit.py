"""The audit record of a deploy decision: who decided, when, and the tags that say so (pure:
the tags are written by ``mlrecipes.tracking.aliases``)."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

EVENT_PREFIX = "mlrecipes.deploy.event."


def decider() -> str:
    """Who decides: the CI identity when there is one, else the user (audit tags)."""
    for name in ("MLRECIPES_DECIDER", "GITHUB_ACTOR", "MLFLOW_TRACKING_USERNAME"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def event_tag(version: str, event: dict[str, Any], at: datetime, by: str) -> tuple[str, str]:
    """The version tag (key, JSON value) that records ``event``; keys sort by time."""
    body = {"at": at.isoformat(timespec="microseconds"), "by": by, "version": version}
    key = EVENT_PREFIX + at.strftime("%Y%m%dT%H%M%S.%fZ")  # tag keys allow no "+"
    return key, json.dumps({**body, **event}, default=str)


def events_of(tags: dict[str, str]) -> list[dict[str, Any]]:
    """The deploy events recorded in one version's tags (unreadable ones skipped)."""
    events = []
    for key, value in tags.items():
        if key.startswith(EVENT_PREFIX):
            try:
                events.append(json.loads(value))
            except ValueError:
                continue
    return events


def iter_audit_tags(prefix: str, values: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in values.items():
        if value is None:
            continue
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        yield f"{prefix}{key}", shown
