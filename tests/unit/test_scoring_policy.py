"""Which version batch scoring may use (#31): only one deploy or a reviewer chose. Pure."""

from __future__ import annotations

import json

from mlrecipes.deployment.scoring import (
    ScoringPolicy,
    VersionFacts,
    choose,
    recorded_champion,
)

AUTO = ScoringPolicy(deploy_decides=True, manual_approval=False)
MANUAL = ScoringPolicy(deploy_decides=True, manual_approval=True)
NO_DEPLOY = ScoringPolicy(deploy_decides=False, manual_approval=False)


def facts(version: str, decision: str | None) -> VersionFacts:
    return VersionFacts(version, decision)


def test_a_chosen_champion_scores() -> None:
    for policy in (AUTO, MANUAL, NO_DEPLOY):
        for decision in ("promoted", "first_champion"):
            choice = choose("m", policy, facts("2", decision), "challenger", facts("3", "kept"), [])
            assert choice.alias == "champion"


def test_the_register_alias_never_scores_where_deploy_decides() -> None:
    """The champion deleted by hand: @challenger holds the version deploy judged worse."""
    for fallback in ("kept", "pending_approval", "rejected", "promoted", None):
        choice = choose("m", AUTO, None, "challenger", facts("3", fallback), [], gone_champion="2")
        assert choice.alias is None
        assert "the champion v2 the last decision left is gone from the registry" in choice.reason


def test_manual_approval_scores_only_an_approved_champion() -> None:
    pending = choose("m", MANUAL, None, "challenger", facts("1", "pending_approval"), ["1"])
    assert pending.alias is None
    assert "there is no champion" in pending.reason
    assert "waiting for approval: v1 (mlrecipes approve --version N)" in pending.reason
    for decision in ("pending_approval", "rejected", "kept", None):  # champion moved by hand
        choice = choose("m", MANUAL, facts("4", decision), "challenger", None, [])
        assert choice.alias is None and "@champion is v4, whose decision is" in choice.reason
    # without manual approval a hand-moved champion with no record still scores; a refused one not
    assert choose("m", AUTO, facts("4", None), "challenger", None, []).alias == "champion"
    assert choose("m", AUTO, facts("4", "rejected"), "challenger", None, []).alias is None


def test_without_deploy_the_register_alias_scores_unless_it_was_refused() -> None:
    assert choose("m", NO_DEPLOY, None, "challenger", facts("1", None), []).alias == "challenger"
    for refused in ("kept", "pending_approval", "rejected"):
        choice = choose("m", NO_DEPLOY, None, "challenger", facts("1", refused), [])
        assert choice.alias is None and f"whose decision is {refused}" in choice.reason
    assert choose("m", NO_DEPLOY, None, "challenger", None, []).alias is None


def _event(at: str, version: str, **body: str) -> dict[str, str]:
    key = "mlrecipes.deploy.event." + at.replace(":", "").replace("-", "")
    return {key: json.dumps({"at": at, "version": version, **body})}


def test_the_recorded_champion_survives_the_deletion_of_its_version() -> None:
    # v1 first champion (its tags deleted with it), v2 kept against it, v3 kept against it
    tags = {
        "2": {"mlrecipes.deploy.champion_version": "1",
              "mlrecipes.deploy.decided_at": "2026-01-02T00:00:00",
              **_event("2026-01-02T00:00:01", "2", event="decision", decision="kept")},
        "3": {"mlrecipes.deploy.champion_version": "1",
              "mlrecipes.deploy.decided_at": "2026-01-03T00:00:00",
              **_event("2026-01-03T00:00:01", "3", event="decision", decision="kept")},
    }  # fmt: skip
    assert recorded_champion(tags) == "1"
    # then v3 approved by hand, then rolled back to v2
    tags["3"].update(_event("2026-01-04T00:00:00", "3", event="approved", decision="promoted"))
    assert recorded_champion(tags) == "3"
    tags["2"].update(_event("2026-01-05T00:00:00", "2", event="rollback"))
    assert recorded_champion(tags) == "2"
    assert recorded_champion({}) is None
