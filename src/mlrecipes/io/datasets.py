"""Read a dataset described by an ingest block: csv, parquet, delta, or a custom loader.

Locations are local paths (relative to the recipe root), ``file:`` URIs, directories (globbed for
``*.<using>``), lists of these, or remote URIs (http, s3, dbfs, ...) which the caller's
``download`` function fetches (steps pass MLflow's downloader, through tracking: io never
imports MLflow).

As in MLflow Recipes, several files are read in the order of their file names (not the order they
are listed in) and concatenated keeping each file's own index; the split hashes that index, so
both engines put every row in the same split.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from mlrecipes.config.locations import is_remote, local_path
from mlrecipes.errors import DatasetError
from mlrecipes.io.fingerprint import resolve_sources
from mlrecipes.io.formats import data_format
from mlrecipes.io.sources import IngestConfig


def read_dataset(
    cfg: IngestConfig,
    root: Path,
    block: str,
    download: Callable[[str], str] | None = None,
) -> pd.DataFrame:
    """Load the dataset into pandas; every failure names the block and the location.
    ``download`` fetches a remote location to a local path (none: remote locations are refused)."""
    files = _local_copies(cfg, root, block, download)
    if cfg.loader_method:
        frames = _read_custom(cfg, root, block, files)
    else:
        frames = [_read_native(cfg, Path(p), block) for p in files]
    if not frames:
        raise DatasetError(f"steps.{block}: no data found at {cfg.location}")
    df = frames[0] if len(frames) == 1 else pd.concat(frames)
    if df.empty or len(df.columns) == 0:
        raise DatasetError(f"steps.{block}: the data at {cfg.location} has no rows")
    if cfg.sample_fraction is not None and cfg.sample_fraction < 1:
        # by position, keeping the sampled rows in their order (indexes may repeat across files)
        positions = pd.Series(range(len(df))).sample(
            frac=cfg.sample_fraction, random_state=cfg.sample_seed
        )
        df = df.iloc[positions.sort_values().to_numpy()]
    return df


def _read_native(cfg: IngestConfig, path: Path, block: str) -> pd.DataFrame:
    fmt = data_format(cfg.using)
    assert fmt is not None, cfg.using
    try:
        return fmt.read(path, cfg)
    except pd.errors.EmptyDataError as exc:
        raise DatasetError(f"steps.{block}.location: '{path}' is empty") from exc
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(
            f"steps.{block}.location: could not read '{path}' as {cfg.using}: {exc}"
        ) from exc


def _read_custom(cfg: IngestConfig, root: Path, block: str, files: list[str]) -> list[pd.DataFrame]:
    from mlrecipes.io.user_code import call_user_function, load_function

    loader = load_function(root, "ingest", cfg.loader_method or "")
    where = f"steps/ingest.py:{cfg.loader_method}"
    frames = []
    for location in files:
        df = call_user_function(loader, where, location, cfg.using)
        if not isinstance(df, pd.DataFrame):
            raise DatasetError(
                f"{where} must return a pandas DataFrame, got {type(df).__name__} for {location}"
            )
        frames.append(df)
    return frames


def _local_copies(
    cfg: IngestConfig, root: Path, block: str, download: Callable[[str], str] | None
) -> list[str]:
    """Local paths of the source, in MLflow Recipes' order: by file name when there are several
    (remote URIs are downloaded first: http, s3, dbfs, ...)."""
    remote = [loc for loc in cfg.locations if is_remote(loc)]
    if remote and download is None:
        raise DatasetError(
            f"steps.{block}.location: {remote[0]} is a remote URI, which this reader cannot "
            "fetch; give a local path or a file: URI"
        )
    if remote:
        assert download is not None
        paths = [
            str(local_path(loc, root)) if not is_remote(loc) else download(loc)
            for loc in cfg.locations
        ]
    else:
        paths = [str(p) for p in resolve_sources(cfg, root, block).paths]
    if len(paths) > 1:
        paths.sort(key=lambda p: Path(p).name)
    return paths


@contextlib.contextmanager
def dataset_write_errors(df: pd.DataFrame, block: str) -> Iterator[None]:
    """Turn a failure to store ingested data as parquet into an error naming the culprits."""
    try:
        yield
    except Exception as exc:
        bad = _mixed_type_columns(df)
        detail = f"; columns with mixed value types: {bad}" if bad else ""
        raise DatasetError(
            f"steps.{block}: could not store the ingested data as parquet: {exc}{detail}"
        ) from exc


def _mixed_type_columns(df: pd.DataFrame) -> list[str]:
    bad = []
    for column in df.columns:
        if df[column].dtype == object:
            kinds = {type(v).__name__ for v in df[column].dropna().head(10000)}
            if len(kinds) > 1:
                bad.append(str(column))
    return bad
