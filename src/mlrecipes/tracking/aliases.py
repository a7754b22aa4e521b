"""Applying deploy decisions to the registry: alias moves with a journal, approval, rollback,
history (the decisions themselves are pure, in ``mlrecipes.deployment``).

The ``champion`` alias is the commit point of a promotion: one registry call moves it (aliases
are unique per model), so at every instant it points at exactly one version, the old or the new
one. Around it, version tags form a journal: the challenger is tagged ``moving`` (with the
version it replaces) before the move and ``done`` after ``previous_champion`` follows. A process
killed in between leaves ``moving``; :func:`settle_interrupted` finishes the move when the alias
already points at the challenger, and abandons it otherwise (the next deploy decides again).

Every decision and alias change is also written as an event tag on the versions concerned
(``mlrecipes.deploy.event.<UTC time>``), which :func:`history` reads back.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlrecipes.deployment.audit import event_tag, events_of
from mlrecipes.errors import DeploymentError

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from mlrecipes.tracking.client import Tracker

CHAMPION = "champion"
PREVIOUS = "previous_champion"
STATE_TAG = "mlrecipes.deploy.state"  # moving | done
REPLACES_TAG = "mlrecipes.deploy.replaces"
DECISION_TAG = "mlrecipes.deploy.decision"


def record_event(tracker: Tracker, name: str, version: str, event: dict[str, Any]) -> None:
    key, value = event_tag(version, event, datetime.now(UTC), tracker.decider())
    tracker.set_version_tags(name, version, {key: value})


def move_champion(
    tracker: Tracker,
    name: str,
    version: str,
    event: dict[str, Any],
    critical: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> str | None:
    """Make ``version`` the champion; the replaced champion (returned) becomes
    ``previous_champion``. Signals wait until the journal is complete."""
    with critical():
        replaced = tracker.aliases(name).get(CHAMPION)
        tracker.set_version_tags(name, version, {STATE_TAG: "moving", REPLACES_TAG: replaced or ""})
        tracker.set_alias(name, CHAMPION, version)  # the commit point
        _finish_move(tracker, name, version, replaced)
        record_event(tracker, name, version, {**event, "replaced": replaced})
    return replaced


def _finish_move(tracker: Tracker, name: str, version: str, replaced: str | None) -> None:
    if replaced and replaced != version:
        tracker.set_alias(name, PREVIOUS, replaced)
    tracker.set_version_tags(name, version, {STATE_TAG: "done"})


def settle_interrupted(tracker: Tracker, name: str, log: Callable[[str], None]) -> None:
    """Finish or abandon a move that a killed process left ``moving``."""
    aliases = tracker.aliases(name)
    for mv in tracker.versions_tagged(name, {STATE_TAG: "moving"}):
        version = str(mv.version)
        replaced = mv.tags.get(REPLACES_TAG) or None
        if aliases.get(CHAMPION) == version:
            _finish_move(tracker, name, version, replaced)
            log(f"completed the interrupted promotion of version {version} of {name}")
        else:
            tracker.set_version_tags(name, version, {STATE_TAG: "abandoned"})
            log(f"an interrupted promotion of version {version} of {name} had not happened")


def _pending(tracker: Tracker, name: str, version: str) -> ModelVersion:
    mv = tracker.version(name, version)
    if mv.tags.get(DECISION_TAG) != "pending_approval":
        raise DeploymentError(
            f"version {version} of {name} is not waiting for approval (its decision is "
            f"{mv.tags.get(DECISION_TAG) or 'none: deploy has not compared it'})"
        )
    return mv


def approve(
    tracker: Tracker,
    name: str,
    version: str,
    critical: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> str | None:
    """Complete a ``pending_approval`` decision: the version becomes champion. Refused when the
    champion changed since the comparison (it compared against another model)."""
    mv = _pending(tracker, name, version)
    compared = mv.tags.get("mlrecipes.deploy.champion_version") or None
    current = tracker.aliases(name).get(CHAMPION)
    if compared != current:
        raise DeploymentError(
            f"version {version} was compared with champion {compared or 'none'}, but the "
            f"champion is now {current or 'none'}; run deploy again to compare it afresh"
        )
    replaced = move_champion(
        tracker, name, version, {"event": "approved", "decision": "promoted"}, critical
    )
    tracker.set_version_tags(name, version, {DECISION_TAG: "promoted"})
    return replaced


def reject(tracker: Tracker, name: str, version: str, reason: str) -> None:
    _pending(tracker, name, version)
    tracker.set_version_tags(
        name, version, {DECISION_TAG: "rejected", "mlrecipes.deploy.reason": reason}
    )
    record_event(tracker, name, version, {"event": "rejected", "reason": reason})


def rollback(
    tracker: Tracker,
    name: str,
    reason: str,
    critical: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> tuple[str, str]:
    """``champion`` goes back to ``previous_champion``, which now names the version rolled back
    from (a second rollback undoes the first). Returns (new champion, previous)."""
    aliases = tracker.aliases(name)
    current, previous = aliases.get(CHAMPION), aliases.get(PREVIOUS)
    if not previous or not current:
        raise DeploymentError(
            f"{name} has no {PREVIOUS} to roll back to (champion: {current or 'none'})"
        )
    with critical():
        tracker.set_version_tags(name, previous, {STATE_TAG: "moving", REPLACES_TAG: current})
        tracker.set_alias(name, CHAMPION, previous)
        _finish_move(tracker, name, previous, current)
        record_event(
            tracker, name, previous, {"event": "rollback", "replaced": current, "reason": reason}
        )
    return previous, current


def history(tracker: Tracker, name: str) -> list[dict[str, Any]]:
    """Every deploy event of ``name``, oldest first."""
    events = [event for mv in tracker.versions(name) for event in events_of(mv.tags)]
    return sorted(events, key=lambda e: e.get("at", ""))
