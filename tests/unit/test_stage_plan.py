"""Stages to aliases, decided without a registry (deployment/stages.py)."""

from __future__ import annotations

import pytest

from mlrecipes.deployment.stages import (
    DEFAULT_STAGE_ALIASES,
    MIGRATED_STAGE_TAG,
    MIGRATED_STORE_TAG,
    MIGRATED_VERSION_TAG,
    Move,
    VersionFacts,
    parse_stage_aliases,
    plan,
)
from mlrecipes.errors import ConfigError, DeploymentError

STORE = "sqlite:///old.db"


def v(version: str, stage: str = "None", model: str = "churn", **tags: str) -> VersionFacts:
    return VersionFacts(model, version, stage, dict(tags))


def copy_of(version: str, of: str, stage: str, store: str = STORE) -> VersionFacts:
    tags = {MIGRATED_STAGE_TAG: stage, MIGRATED_VERSION_TAG: of, MIGRATED_STORE_TAG: store}
    return VersionFacts("churn", version, "None", tags)


def test_production_and_staging_become_champion_and_challenger_archived_is_left() -> None:
    versions = [v("1", "Archived"), v("2", "Production"), v("3", "Staging"), v("4")]
    moves = plan(versions, DEFAULT_STAGE_ALIASES, STORE, aliases={})
    assert moves == [
        Move("churn", "Production", "champion", "2"),
        Move("churn", "Staging", "challenger", "3"),
    ]


def test_two_versions_in_one_stage_are_refused_naming_both() -> None:
    versions = [v("2", "Production"), v("5", "Production"), v("1", "Staging", model="other")]
    with pytest.raises(DeploymentError, match=r"churn: v2, v5 are all in stage Production"):
        plan(versions, DEFAULT_STAGE_ALIASES, STORE, aliases={})


def test_an_alias_already_pointing_elsewhere_is_refused_and_nothing_is_planned() -> None:
    versions = [v("2", "Production"), v("3", "Staging"), v("4")]
    with pytest.raises(DeploymentError, match=r"@champion already points at v4") as caught:
        plan(versions, DEFAULT_STAGE_ALIASES, STORE, aliases={"churn": {"champion": "4"}})
    assert "nothing was changed" in str(caught.value)


def test_a_second_migration_in_place_finds_its_copy_and_is_done() -> None:
    versions = [v("2", "Production"), copy_of("6", "2", "Production")]
    moves = plan(versions, DEFAULT_STAGE_ALIASES, STORE, aliases={"churn": {"champion": "6"}})
    assert moves == [Move("churn", "Production", "champion", "2", target="6", done=True)]


def test_a_copy_made_but_not_yet_aliased_is_reused_not_made_again() -> None:
    versions = [v("2", "Production"), copy_of("6", "2", "Production")]
    (move,) = plan(versions, DEFAULT_STAGE_ALIASES, STORE, aliases={})
    assert (move.target, move.done) == ("6", False)


def test_an_alias_on_the_staged_version_itself_is_allowed_in_place() -> None:
    tagged = v("2", "Production", **{MIGRATED_STAGE_TAG: "Production"})
    (move,) = plan([tagged], DEFAULT_STAGE_ALIASES, STORE, aliases={"churn": {"champion": "2"}})
    assert (move.target, move.done) == ("2", True)


def test_copying_to_another_store_looks_for_copies_there_from_this_store_only() -> None:
    source = [v("2", "Production")]
    from_elsewhere = copy_of("1", "2", "Production", store="sqlite:///another.db")
    (move,) = plan(source, DEFAULT_STAGE_ALIASES, STORE, [from_elsewhere], {"churn": {}})
    assert move.target is None
    ours = copy_of("3", "2", "Production")
    aliases = {"churn": {"champion": "3"}}
    (move,) = plan(source, DEFAULT_STAGE_ALIASES, STORE, [from_elsewhere, ours], aliases)
    assert (move.target, move.done) == ("3", True)
    # in another store, the source's version number means nothing: an alias on "2" is not it
    with pytest.raises(DeploymentError, match="already points at v2"):
        plan(source, DEFAULT_STAGE_ALIASES, STORE, [], {"churn": {"champion": "2"}})


def test_stage_alias_pairs_replace_the_default_and_are_checked() -> None:
    assert parse_stage_aliases([]) == DEFAULT_STAGE_ALIASES
    assert parse_stage_aliases(["production=prod", "Archived=retired"]) == {
        "Production": "prod",
        "Archived": "retired",
    }
    for bad, said in (
        ("Production", "expected STAGE=ALIAS"),
        ("Live=champion", "STAGE one of Production, Staging, Archived"),
        ("Production=latest", "not an alias MLflow accepts"),
        ("Production=v3", "not an alias MLflow accepts"),
        ("Production=a b", "not an alias MLflow accepts"),
    ):
        with pytest.raises(ConfigError, match=said):
            parse_stage_aliases([bad])
    with pytest.raises(ConfigError, match="'x' is given to two stages"):
        parse_stage_aliases(["Production=x", "Staging=x"])
