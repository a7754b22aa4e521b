"""Applying deploy decisions to the registry: alias moves with a journal, approval, rollback,
history (the decisions themselves are pure, in ``mlrecipes.deployment``).

The ``champion`` alias is the commit point of a promotion: one registry call moves it (aliases
are unique per model), so at every instant it points at exactly one version, the old or the new
one. Around it, version tags form a journal: before the move the version is tagged ``moving``
with the version it replaces and, in one entry, everything the move completes (the decision it
carries out, its event, a rollback's mark on the version it replaces); after the move all of that
is written and the state becomes ``done``. A process killed in between leaves ``moving``;
:func:`settle_interrupted` finishes the whole entry when the alias already points at the version
(an approval interrupted after the move is completed as an approval, not only as a move), and
abandons it otherwise (nothing happened; the next deploy decides again).

Every decision and alias change is also written as an event tag on the versions concerned
(``mlrecipes.deploy.event.<UTC time>``), which :func:`history` reads back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlrecipes.deployment.audit import event_tag, events_of
from mlrecipes.errors import DeploymentError
from mlrecipes.process.faults import fault_point

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from mlrecipes.tracking.client import Tracker

CHAMPION = "champion"
PREVIOUS = "previous_champion"
STATE_TAG = "mlrecipes.deploy.state"  # moving | done | abandoned
REPLACES_TAG = "mlrecipes.deploy.replaces"
JOURNAL_TAG = "mlrecipes.deploy.journal"  # what the move completes (JSON)
DECISION_TAG = "mlrecipes.deploy.decision"
ROLLED_BACK_TAG = "mlrecipes.deploy.rolled_back"  # JSON: when, why, by whom, to which version


def record_event(tracker: Tracker, name: str, version: str, event: dict[str, Any]) -> None:
    key, value = event_tag(version, event, datetime.now(UTC), tracker.decider())
    tracker.set_version_tags(name, version, {key: value})


def move_champion(
    tracker: Tracker,
    name: str,
    version: str,
    event: dict[str, Any],
    critical: Callable[[], AbstractContextManager[Any]] = nullcontext,
    decision: str | None = None,
    mark: dict[str, str] | None = None,
) -> str | None:
    """Make ``version`` the champion; the replaced champion (returned) becomes
    ``previous_champion``. ``decision``: the decision tag the move carries out (an approval);
    ``mark``: tags for the replaced version (a rollback's). One journal entry holds all of it,
    written before the move; signals wait until it is complete."""
    with critical():
        replaced = tracker.aliases(name).get(CHAMPION)
        key, value = event_tag(
            version, {**event, "replaced": replaced}, datetime.now(UTC), tracker.decider()
        )
        journal = {"decision": decision, "event_key": key, "event": value, "mark": mark or {}}
        tracker.set_version_tags(
            name, version,
            {STATE_TAG: "moving", REPLACES_TAG: replaced or "", JOURNAL_TAG: json.dumps(journal)},
        )  # fmt: skip
        fault_point("deploy.before_alias")
        tracker.set_alias(name, CHAMPION, version)  # the commit point
        fault_point("deploy.after_alias")
        _finish_move(tracker, name, version, replaced, journal)
    return replaced


def _finish_move(
    tracker: Tracker, name: str, version: str, replaced: str | None, journal: dict[str, Any]
) -> None:
    """Everything the journal entry says, idempotent (a second finish writes the same tags)."""
    if replaced and replaced != version:
        tracker.set_alias(name, PREVIOUS, replaced)
        if journal.get("mark"):
            tracker.set_version_tags(name, replaced, journal["mark"])
    tags = {journal["event_key"]: journal["event"]} if journal.get("event_key") else {}
    if journal.get("decision"):
        tags[DECISION_TAG] = journal["decision"]
    tracker.set_version_tags(name, version, tags)
    if journal.get("decision") == "promoted":
        tracker.delete_version_tag(name, version, ROLLED_BACK_TAG)  # approved again, citing it
    tracker.set_version_tags(name, version, {STATE_TAG: "done"})  # last: the entry is complete


def settle_interrupted(tracker: Tracker, name: str, log: Callable[[str], None]) -> None:
    """Finish or abandon a move that a killed process left ``moving``."""
    aliases = tracker.aliases(name)
    for mv in tracker.versions_tagged(name, {STATE_TAG: "moving"}):
        version = str(mv.version)
        replaced = mv.tags.get(REPLACES_TAG) or None
        try:
            journal = json.loads(mv.tags.get(JOURNAL_TAG) or "{}")
        except ValueError:
            journal = {}
        if aliases.get(CHAMPION) == version:
            _finish_move(tracker, name, version, replaced, journal)
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
    reason: str | None = None,
) -> str | None:
    """Complete a ``pending_approval`` decision: the version becomes champion, the decision and
    the move one journaled unit. Refused when the champion changed since the comparison (it
    compared against another model), and for a rolled-back version without a ``reason``."""
    mv = _pending(tracker, name, version)
    compared = mv.tags.get("mlrecipes.deploy.champion_version") or None
    current = tracker.aliases(name).get(CHAMPION)
    if compared != current:
        raise DeploymentError(
            f"version {version} was compared with champion {compared or 'none'}, but the "
            f"champion is now {current or 'none'}; run deploy again to compare it afresh"
        )
    event: dict[str, Any] = {"event": "approved", "decision": "promoted"}
    rolled_back = mv.tags.get(ROLLED_BACK_TAG)
    if rolled_back:
        if not reason:
            raise DeploymentError(
                f"version {version} of {name} was rolled back ({rollback_text(rolled_back)}); "
                "approving it again needs --reason saying why the rollback no longer holds"
            )
        event["overrides_rollback"] = json.loads(rolled_back)
    # the event says why; with no reason given, the evidence the approval accepted
    deploy_said = mv.tags.get("mlrecipes.deploy.reason") or "no comparison recorded"
    event["reason"] = reason or f"no reason given; deploy had said: {deploy_said}"
    return move_champion(tracker, name, version, event, critical, decision="promoted")


def rollback_text(tag: str) -> str:
    """A rollback mark as a phrase: when, why and by whom."""
    try:
        mark = json.loads(tag)
    except ValueError:
        return "rolled back"
    return f"at {mark.get('at')} by {mark.get('by')}: {mark.get('reason')}"


def reject(tracker: Tracker, name: str, version: str, reason: str) -> None:
    """Refuse a ``pending_approval`` decision. The serving champion cannot be rejected: it
    would keep serving (the way out is a rollback)."""
    _pending(tracker, name, version)
    if tracker.aliases(name).get(CHAMPION) == version:
        raise DeploymentError(
            f"version {version} of {name} is the serving champion: rejecting it would leave it "
            "serving; `mlrecipes rollback --reason ...` takes it out of service"
        )
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
    who = tracker.decider()
    mark = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "by": who.name,
            "reason": reason, "to": previous}  # fmt: skip
    # the version rolled back from is marked: no later deploy promotes it again by itself
    move_champion(tracker, name, previous, {"event": "rollback", "reason": reason}, critical,
                  mark={ROLLED_BACK_TAG: json.dumps(mark)})  # fmt: skip
    return previous, current


def history(tracker: Tracker, name: str) -> list[dict[str, Any]]:
    """Every deploy event of ``name``, oldest first."""
    events = [event for mv in tracker.versions(name) for event in events_of(mv.tags)]
    return sorted(events, key=lambda e: e.get("at", ""))
