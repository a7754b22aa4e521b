"""Which registered version batch scoring may use (pure: facts in, a choice or a refusal out).

Scoring is where a model reaches customers, so it only uses a version somebody chose. With a
deploy step, that is the ``champion`` alone: never the register alias as a fallback, which may
hold a version deploy kept out as worse, one waiting for approval, or one a reviewer rejected.
Under manual approval the champion itself must carry an approval (a hand edit in the registry can
point ``champion`` anywhere). Without a deploy step nothing decides, so, as in MLflow Recipes,
the register alias scores until there is a champion; never a version recorded as refused.
"""

from __future__ import annotations

from dataclasses import dataclass

# the decisions that put a version where it is: by the rule, or by a reviewer's approval
CHOSEN = ("promoted", "first_champion")
NOT_CHOSEN = ("pending_approval", "rejected", "kept")


@dataclass(frozen=True)
class VersionFacts:
    version: str
    decision: str | None  # the ``mlrecipes.deploy.decision`` tag (None: no deploy recorded one)


@dataclass(frozen=True)
class ScoringPolicy:
    deploy_decides: bool  # the recipe has a deploy step
    manual_approval: bool


@dataclass(frozen=True)
class ScoringChoice:
    alias: str | None  # the alias to score with; None: refuse
    reason: str


def _refusal(model: str, why: str, pending: list[str]) -> ScoringChoice:
    hint = ""
    if pending:
        hint = f"; waiting for approval: v{', v'.join(pending)} (mlrecipes approve --version N)"
    return ScoringChoice(
        None, f"{model}: {why}; predict scores only a version deploy or a reviewer chose{hint}"
    )


def choose(
    model: str,
    policy: ScoringPolicy,
    champion: VersionFacts | None,
    fallback_alias: str,
    fallback: VersionFacts | None,
    pending: list[str],
    gone_champion: str | None = None,
) -> ScoringChoice:
    """The alias to score ``model`` with, or why none may be used. ``gone_champion``: the
    champion the last recorded decision left, when it no longer exists in the registry."""
    if champion is not None:
        decision = champion.decision
        if decision in ("pending_approval", "rejected") or (
            policy.manual_approval and decision not in CHOSEN
        ):
            said = decision or "no recorded decision (moved by hand?)"
            return _refusal(
                model, f"@champion is v{champion.version}, whose decision is {said}", pending
            )
        return ScoringChoice("champion", f"v{champion.version} is the champion")
    missing = "there is no champion"
    if gone_champion is not None:
        missing = f"the champion v{gone_champion} the last decision left is gone from the registry"
    if policy.deploy_decides:
        return _refusal(model, missing, pending)
    if fallback is None:
        return _refusal(model, f"{missing} and no @{fallback_alias}", pending)
    if fallback.decision in NOT_CHOSEN:
        return _refusal(
            model,
            f"{missing}, and @{fallback_alias} is v{fallback.version}, whose decision is "
            f"{fallback.decision}",
            pending,
        )
    return ScoringChoice(fallback_alias, f"{missing}: @{fallback_alias} v{fallback.version}")


def recorded_champion(tags_by_version: dict[str, dict[str, str]]) -> str | None:
    """The champion the registry's own records say the last decision left (None: none known).
    Read from what survives a deleted version: the move events of the others, and each
    decision's ``champion_version`` (the champion it was compared with)."""
    from mlrecipes.deployment.audit import events_of

    timeline: list[tuple[str, str]] = []
    for version, tags in tags_by_version.items():
        for event in events_of(tags):
            moved = event.get("event") in ("approved", "rollback") or (
                event.get("event") == "decision" and event.get("decision") in CHOSEN
            )
            if moved and event.get("at"):
                timeline.append((str(event["at"]), version))
        compared = tags.get("mlrecipes.deploy.champion_version")
        decided = tags.get("mlrecipes.deploy.decided_at")
        if compared and decided:
            timeline.append((decided, compared))
    return max(timeline)[1] if timeline else None
