"""From MLflow 2's stages to MLflow 3's aliases: which version gets which alias (pure).

A registry kept by MLflow Recipes marks its models with stages (``Production``, ``Staging``);
mlrecipes and MLflow 3 read aliases (``champion``, ``challenger``). :func:`plan` turns what a
registry holds into the moves that carry the stages over, refusing, before anything is written,
a stage two versions claim and an alias that already points elsewhere. A move already made
(by an earlier migration: the alias on the version tagged as migrated from that stage) is
planned as done, so running the migration again changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlrecipes.errors import ConfigError, DeploymentError

DEFAULT_STAGE_ALIASES = {"Production": "champion", "Staging": "challenger"}
STAGES = ("Production", "Staging", "Archived")
MIGRATED_STAGE_TAG = "mlrecipes.migrated_from_stage"
MIGRATED_VERSION_TAG = "mlrecipes.migrated_from_version"  # on a re-packaged copy: the original
MIGRATED_STORE_TAG = "mlrecipes.migrated_from_store"
MIGRATED_TO_TAG = "mlrecipes.migrated_to_version"  # on the original: where its alias went

# MLflow's alias rule: letters, digits, '_' and '-', not "latest", not a version reference
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_VERSION_LIKE = re.compile(r"^v\d+$", re.IGNORECASE)


@dataclass(frozen=True)
class VersionFacts:
    """One model version as the registry shows it."""

    model: str
    version: str
    stage: str  # "None" when it has none
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Move:
    """Give ``alias`` of ``model`` the version that held ``stage`` (``version``).

    ``target``: the version the alias goes to when it is already known (the version itself, or
    the re-packaged copy an earlier migration made); ``done``: the alias is already there.
    """

    model: str
    stage: str
    alias: str
    version: str
    target: str | None = None
    done: bool = False

    def describe(self) -> str:
        where = f"v{self.target}" if self.target else f"v{self.version} (or its MLflow 3 copy)"
        state = "already done" if self.done else "to do"
        return f"{self.model}: {self.stage} v{self.version} -> @{self.alias} on {where} ({state})"


def parse_stage_aliases(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``("Production=champion", ...)`` as a mapping; none given: the default mapping."""
    if not pairs:
        return dict(DEFAULT_STAGE_ALIASES)
    mapping: dict[str, str] = {}
    for pair in pairs:
        stage, sep, alias = pair.partition("=")
        stage, alias = stage.strip(), alias.strip()
        known = {s.lower(): s for s in STAGES}
        if not sep or stage.lower() not in known:
            raise ConfigError(
                f"--stage-alias {pair!r}: expected STAGE=ALIAS with STAGE one of {', '.join(STAGES)}"
            )
        if not _ALIAS.match(alias) or alias.lower() == "latest" or _VERSION_LIKE.match(alias):
            raise ConfigError(
                f"--stage-alias {pair!r}: {alias!r} is not an alias MLflow accepts (letters, "
                "digits, '_' and '-'; not 'latest' nor 'v<number>')"
            )
        mapping[known[stage.lower()]] = alias
    aliases = list(mapping.values())
    twice = sorted({a for a in aliases if aliases.count(a) > 1})
    if twice:
        raise ConfigError(f"--stage-alias: alias {twice[0]!r} is given to two stages")
    return mapping


def plan(
    versions: list[VersionFacts],
    stage_aliases: dict[str, str],
    store: str,
    target: list[VersionFacts] | None = None,
    aliases: dict[str, dict[str, str]] | None = None,
) -> list[Move]:
    """The moves that carry every mapped stage over to its alias, per model.

    ``versions``: the source registry (``store``, as shown); ``target``: the registry the aliases
    go to (None: the same one); ``aliases``: model -> alias -> version there now. Raises
    :class:`DeploymentError` naming every conflict (two versions in one stage; an alias that
    points at a version not migrated from that stage) before any move is planned.
    """
    in_place = target is None
    by_model = _by_model(versions)
    there = by_model if in_place else _by_model(target or [])
    moves: list[Move] = []
    conflicts: list[str] = []
    for model in sorted(by_model):
        held = by_model[model]
        for stage, alias in stage_aliases.items():
            staged = sorted((f for f in held if f.stage == stage), key=lambda f: int(f.version))
            if not staged:
                continue
            if len(staged) > 1:
                listed = ", ".join(f"v{f.version}" for f in staged)
                conflicts.append(
                    f"{model}: {listed} are all in stage {stage}; which one becomes @{alias} is "
                    "not clear. Archive all but one in MLflow 2 (or move the alias by hand)"
                )
                continue
            source = staged[0]
            copy = _migrated_copy(there.get(model, []), source.version, stage, store)
            itself = source.version if in_place and source.tags.get(MIGRATED_STAGE_TAG) else None
            known = copy or itself
            current = (aliases or {}).get(model, {}).get(alias)
            allowed = {known} | ({source.version} if in_place else set())
            if current is not None and current not in allowed:
                conflicts.append(
                    f"{model}: alias @{alias} already points at v{current}, not at "
                    f"{'v' + source.version + ' (its ' + stage + ' version) nor ' if in_place else ''}"
                    "a migrated copy of its "
                    f"{stage} version v{source.version}; move or delete that alias first, or "
                    "leave this model out (--model)"
                )
                continue
            done = current is not None and current == known
            moves.append(Move(model, stage, alias, source.version, known, done))
    if conflicts:
        raise DeploymentError(
            "cannot migrate stages to aliases, nothing was changed: " + "; ".join(conflicts)
        )
    return moves


def _by_model(versions: list[VersionFacts]) -> dict[str, list[VersionFacts]]:
    grouped: dict[str, list[VersionFacts]] = {}
    for facts in versions:
        grouped.setdefault(facts.model, []).append(facts)
    return grouped


def _migrated_copy(held: list[VersionFacts], version: str, stage: str, store: str) -> str | None:
    """The version an earlier migration from ``store`` made of ``version`` (None: none)."""
    for facts in held:
        tags = facts.tags
        if (
            tags.get(MIGRATED_VERSION_TAG) == version
            and tags.get(MIGRATED_STAGE_TAG) == stage
            and tags.get(MIGRATED_STORE_TAG, store) == store
        ):
            return facts.version
    return None
