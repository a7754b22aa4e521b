"""deploy's side effects in the registry: what its records add to the rule (a rollback, a
champion deleted by hand), who decided, and the decision applied (audit tags, then the move,
compare-and-swap against the champion it was compared with)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlrecipes.errors import DeploymentError
from mlrecipes.steps.base import StepContext

if TYPE_CHECKING:
    from mlrecipes.tracking.client import Tracker


def _registry_facts(
    ctx: StepContext, tracker: Tracker, name: str, version: str, champion: str | None
) -> dict[str, str | None]:
    """What the registry's records add to the rule: the challenger was rolled back; the
    champion the last decision left was deleted (both said in the log)."""
    from mlrecipes.deployment.scoring import recorded_champion
    from mlrecipes.tracking.aliases import ROLLED_BACK_TAG, rollback_text

    tags = {str(mv.version): dict(mv.tags) for mv in tracker.versions(name)}
    mark = tags.get(version, {}).get(ROLLED_BACK_TAG)
    rolled_back = rollback_text(mark) if mark else None
    if rolled_back:
        ctx.log(f"version {version} was rolled back ({rolled_back}): it is not promoted by itself")
    last = recorded_champion(tags) if champion is None else None
    gone = last if last is not None and last not in tags else None
    if gone:
        ctx.log(
            f"the champion v{gone} the last decision left is gone from the registry "
            f"(deleted by hand?): version {version} waits for an approval instead of being "
            "promoted with nothing to compare it with"
        )
    return {"rolled_back": rolled_back, "champion_gone": gone}


def _decided_by(tracker: Tracker) -> dict[str, str | None]:
    who = tracker.decider()
    prefix = "mlrecipes.deploy.decided_by"
    return {prefix: who.name, f"{prefix}_source": who.source, f"{prefix}_declared": who.declared}


def _apply(
    ctx: StepContext,
    tracker: Tracker,
    name: str,
    version: str,
    champion: str | None,
    decision: Any,
    audit: dict[str, Any],
) -> None:
    """The decision into the registry: the audit tags on both versions, then the champion moved
    (or the event recorded); signals wait until all of it is written."""
    from mlrecipes.deployment.audit import iter_audit_tags
    from mlrecipes.tracking import aliases

    event = {"event": "decision", "decision": decision.outcome, "reason": decision.reason,
             "compared_with": champion}  # fmt: skip
    record = dict(iter_audit_tags("", audit))
    now = tracker.aliases(name).get(aliases.CHAMPION)
    if decision.moves_now and now != champion:  # compare-and-swap: moved by hand meanwhile
        raise DeploymentError(
            f"the champion of {name} moved while deploy decided (from {champion or 'none'} to "
            f"{now or 'none'}); nothing was changed: run deploy again to compare afresh"
        )
    with ctx.critical_section():
        tracker.set_version_tags(name, version, record)
        if champion is not None and champion != version:
            # the champion carries the same audit record, one tag per challenge
            tracker.set_version_tags(
                name, champion, {f"mlrecipes.deploy.challenged_by.v{version}": json.dumps(record)}
            )
        if decision.moves_now:
            aliases.move_champion(tracker, name, version, event, ctx.critical_section)
        else:
            aliases.record_event(tracker, name, version, event)
