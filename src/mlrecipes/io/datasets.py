"""Read a dataset described by an ingest block: csv, parquet, delta, or a custom loader.

Locations are local paths (relative to the recipe root), ``file:`` URIs, directories (globbed for
``*.<using>``), lists of these, or anything ``mlflow.artifacts.download_artifacts`` accepts for
custom loaders.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlrecipes.config.schema import IngestConfig
from mlrecipes.errors import DatasetError
from mlrecipes.io.fingerprint import is_remote, resolve_sources
from mlrecipes.user_code import call_user_function, load_function


def read_dataset(cfg: IngestConfig, root: Path, block: str) -> pd.DataFrame:
    """Load the dataset into pandas; every failure names the block and the location."""
    if cfg.loader_method:
        frames = _read_custom(cfg, root, block)
    else:
        frames = [_read_native(cfg, Path(p), block) for p in _local_copies(cfg, root, block)]
    if not frames:
        raise DatasetError(f"steps.{block}: no data found at {cfg.location}")
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if df.empty or len(df.columns) == 0:
        raise DatasetError(f"steps.{block}: the data at {cfg.location} has no rows")
    if cfg.sample_fraction is not None and cfg.sample_fraction < 1:
        df = df.sample(frac=cfg.sample_fraction, random_state=cfg.sample_seed).sort_index()
    return df.reset_index(drop=True)


def _read_native(cfg: IngestConfig, path: Path, block: str) -> pd.DataFrame:
    try:
        if cfg.using == "csv":
            return pd.read_csv(path)
        if cfg.using == "parquet":
            return pd.read_parquet(path, engine="pyarrow")
        return _read_delta(path, cfg)
    except pd.errors.EmptyDataError as exc:
        raise DatasetError(f"steps.{block}.location: '{path}' is empty") from exc
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(
            f"steps.{block}.location: could not read '{path}' as {cfg.using}: {exc}"
        ) from exc


def _read_delta(path: Path, cfg: IngestConfig) -> pd.DataFrame:
    from deltalake import DeltaTable

    table = DeltaTable(str(path), version=cfg.version)
    if cfg.timestamp is not None:
        table.load_as_version(cfg.timestamp)
    return table.to_pandas()


def _read_custom(cfg: IngestConfig, root: Path, block: str) -> list[pd.DataFrame]:
    loader = load_function(root, "ingest", cfg.loader_method or "")
    where = f"steps/ingest.py:{cfg.loader_method}"
    frames = []
    for location in _local_copies(cfg, root, block):
        df = call_user_function(loader, where, location, cfg.using)
        if not isinstance(df, pd.DataFrame):
            raise DatasetError(
                f"{where} must return a pandas DataFrame, got {type(df).__name__} for {location}"
            )
        frames.append(df)
    return frames


def _local_copies(cfg: IngestConfig, root: Path, block: str) -> list[str]:
    """Local paths of the source: remote URIs are downloaded first (http, s3, dbfs, ...)."""
    if any(is_remote(loc) for loc in cfg.locations):
        from mlrecipes.tracking.models import download_artifacts

        return [loc if not is_remote(loc) else download_artifacts(loc) for loc in cfg.locations]
    return [str(p) for p in resolve_sources(cfg, root, block).paths]
