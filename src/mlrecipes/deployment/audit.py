"""The audit record of a deploy decision: who decided, when, and the tags that say so (pure:
the tags are written by ``mlrecipes.tracking.aliases``)."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

EVENT_PREFIX = "mlrecipes.deploy.event."


# names a person or a CI system declares about itself: a claim, recorded beside the identity
DECLARED_NAME_VARIABLES = ("MLRECIPES_DECIDER", "GITHUB_ACTOR")
OS_USER = "os user"


@dataclass(frozen=True)
class Decider:
    """Who made a decision: the identity that authenticated (the basic-auth user the server
    knows, or the OS user where no server authenticates), and a declared name beside it."""

    name: str
    source: str
    declared: str | None = None

    def as_event(self) -> dict[str, str]:
        out = {"by": self.name, "by_source": self.source}
        if self.declared:
            out["declared_by"] = self.declared
        return out

    def shown(self) -> str:
        return self.name + (f" (declared: {self.declared})" if self.declared else "")


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def decider(authenticated: str, source: str, environ: Mapping[str, str]) -> Decider:
    """The authenticated identity, with the first declared name that differs from it."""
    declared = next((environ[v] for v in DECLARED_NAME_VARIABLES if environ.get(v)), None)
    return Decider(authenticated, source, declared if declared != authenticated else None)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def event_tag(version: str, event: dict[str, Any], at: datetime, by: Decider) -> tuple[str, str]:
    """The version tag (key, JSON value) that records ``event``; keys sort by time."""
    body = {"at": at.isoformat(timespec="microseconds"), **by.as_event(), "version": version}
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
