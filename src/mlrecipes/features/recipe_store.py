"""A recipe profile's feature store: its root (never another profile's), the training set and
scoring batch an ingest block describes, and their fingerprints for the cache."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrecipes.config.locations import resolved_path
from mlrecipes.errors import ConfigError
from mlrecipes.io.atomic import write_text_atomic

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.config.loader import LoadedRecipe
    from mlrecipes.features.delta_store import DeltaFeatureStore
    from mlrecipes.features.training_set import TrainingSet
    from mlrecipes.io.sources import IngestConfig

OWNER_FILE = "_mlrecipes_store.json"
SHARED_ROOTS_ENV = "MLRECIPES_ALLOW_SHARED_ROOTS"


def store_root(recipe: LoadedRecipe) -> Path:
    store = recipe.config.feature_store
    if store is None:
        raise ConfigError(
            f"{recipe.profile_file}: feature_store.root is required for feature tables "
            "(steps.features, using: feature_store)"
        )
    return resolved_path(store.root, recipe.root)


def check_owner(root: Path, recipe: LoadedRecipe, create: bool) -> None:
    """A root belongs to the profile that first wrote it: another profile reading or writing
    it is refused (a dev run must never train on prod's tables by a wrong variable), unless
    MLRECIPES_ALLOW_SHARED_ROOTS=1 says it is meant."""
    marker = root / OWNER_FILE
    if marker.is_file():
        owner = json.loads(marker.read_text(encoding="utf-8")).get("profile")
        if owner != recipe.profile and os.environ.get(SHARED_ROOTS_ENV) != "1":
            raise ConfigError(
                f"feature_store.root {root} belongs to profile '{owner}' (its {OWNER_FILE}), not "
                f"'{recipe.profile}': profiles never share a feature store. Point "
                f"{recipe.profile_file} at its own root, or set {SHARED_ROOTS_ENV}=1 if sharing "
                "is meant"
            )
    elif create:
        write_text_atomic(marker, json.dumps({"profile": recipe.profile}))


def store_for(recipe: LoadedRecipe, create: bool = False) -> DeltaFeatureStore:
    from mlrecipes.features.delta_store import DeltaFeatureStore

    root = store_root(recipe)
    check_owner(root, recipe, create)
    return DeltaFeatureStore(root)


def read_spine(cfg: IngestConfig, recipe: LoadedRecipe, block: str) -> pd.DataFrame:
    """The spine's rows; with ``latest_snapshots``, those of its newest snapshots only."""
    from mlrecipes.features.training_set import newest_snapshots

    spine = cfg.spine
    assert spine is not None
    if spine.table is not None:
        store = store_for(recipe)
        frame = store.read_table(spine.table, version=spine.version)
        time = spine.timestamp_column or store.info(spine.table, spine.version).timestamp_key
    else:
        from mlrecipes.io.datasets import read_dataset

        frame = read_dataset(spine.as_source(), recipe.root, f"{block}.spine")
        frame, time = frame.reset_index(drop=True), spine.timestamp_column
    if spine.latest_snapshots is None:
        return frame
    where = f"steps.{block}.spine.latest_snapshots"
    if time is None:
        raise ConfigError(
            f"recipe.yaml: {where}: the spine has no time to order snapshots by (a table with a "
            "timestamp key, or spine.timestamp_column for a dataset)"
        )
    if time not in frame.columns:
        raise ConfigError(f"recipe.yaml: {where}: the spine has no column '{time}'")
    return newest_snapshots(frame, time, spine.latest_snapshots)


def lookups(cfg: IngestConfig) -> list[Any]:
    from mlrecipes.features.spec import FeatureLookup

    return [
        FeatureLookup(
            table_name=item.table,
            lookup_key=item.lookup_key,
            timestamp_lookup_key=item.timestamp_lookup_key,
            feature_names=item.feature_names,
            rename_outputs=dict(item.rename_outputs),
        )
        for item in cfg.feature_lookups or []
    ]


def training_set(cfg: IngestConfig, recipe: LoadedRecipe, block: str) -> TrainingSet:
    """The spine of ``cfg`` with its point-in-time features (the target kept as label)."""
    from mlrecipes.features.training_set import create_training_set

    if not cfg.feature_lookups:
        raise ConfigError(f"recipe.yaml: steps.{block}.feature_lookups is required for training")
    spine = read_spine(cfg, recipe, block)
    spark = None
    if cfg.engine == "spark":
        from mlrecipes.io.spark import spark_session

        spark = spark_session(cfg.spark, "mlrecipes-ingest")
    result = create_training_set(
        store_for(recipe),
        spine,
        lookups(cfg),
        recipe.config.target_col,
        cfg.exclude_columns,
        cfg.on_missing,
        spark=spark,
    )
    if cfg.sample_fraction is not None and cfg.sample_fraction < 1:
        frame = result.frame
        result.frame = frame.sample(frac=cfg.sample_fraction, random_state=cfg.sample_seed)
        result.frame = result.frame.sort_index()
    return result


def fingerprint(cfg: IngestConfig, recipe: LoadedRecipe, block: str) -> dict[str, Any]:
    """What a feature-store source is: each table's location and Delta version, and the spine
    (a table's version, or a dataset's files) -- a new snapshot changes it."""
    store = store_for(recipe)
    files: list[dict[str, Any]] = []
    assert cfg.spine is not None
    names = [item.table for item in cfg.feature_lookups or []]
    if cfg.spine.table is not None:
        names.insert(0, cfg.spine.table)
    else:
        from mlrecipes.io.fingerprint import fingerprint as file_fingerprint

        spine = file_fingerprint(cfg.spine.as_source(), recipe.root, f"{block}.spine")
        files.extend(spine.get("files", []))
    for name in dict.fromkeys(names):
        info = store.info(name)
        files.append({"table": name, "path": info.location, "delta_version": info.version})
    return {"files": files}


def watched_paths(cfg: IngestConfig, recipe: LoadedRecipe, block: str) -> list[Path]:
    store = store_for(recipe)
    assert cfg.spine is not None
    names = [item.table for item in cfg.feature_lookups or []]
    paths = []
    if cfg.spine.table is not None:
        names.append(cfg.spine.table)
    else:
        from mlrecipes.io.fingerprint import watched_paths as file_paths

        paths += file_paths(cfg.spine.as_source(), recipe.root, f"{block}.spine")
    return paths + [store.path(n) / "_delta_log" for n in names]
