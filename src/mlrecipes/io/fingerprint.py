"""Resolve an ingest block to concrete files and fingerprint their content (no pandas import).

The fingerprint is what lets a changed data file re-run ingest (MLflow Recipes never noticed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrecipes.config.locations import is_remote, local_path
from mlrecipes.errors import DatasetError
from mlrecipes.io.formats import data_format
from mlrecipes.io.hashing import hash_json
from mlrecipes.io.sources import IngestConfig


@dataclass(frozen=True)
class SourceFiles:
    """The concrete files (or delta tables) an ingest block resolves to."""

    paths: tuple[Path, ...]
    is_table: bool  # Delta tables (a folder with a log), not files


def source_locations(cfg: IngestConfig, root: Path) -> list[Path]:
    """The configured local locations themselves (a folder's listing changes when files come or go)."""
    return [local_path(loc, root) for loc in cfg.locations if not is_remote(loc)]


def resolve_sources(cfg: IngestConfig, root: Path, block: str) -> SourceFiles:
    if any(is_remote(loc) for loc in cfg.locations):
        return SourceFiles(paths=(), is_table=_is_table(cfg))
    fmt = data_format(cfg.using)
    paths: list[Path] = []
    for loc in cfg.locations:
        path = local_path(loc, root)
        if fmt is not None and fmt.is_table:
            if not (path / "_delta_log").is_dir():
                raise DatasetError(
                    f"steps.{block}.location: '{loc}' is not a Delta table (no _delta_log in {path})"
                )
            paths.append(path)
            continue
        if path.is_dir():
            # `using: custom` reads every file of a folder; other formats the files of their suffix
            pattern = "*" if cfg.using == "custom" and cfg.loader_method else f"*.{cfg.using}"
            found = sorted(p for p in path.glob(pattern) if p.is_file())
            if not found:
                raise DatasetError(
                    f"steps.{block}.location: directory '{loc}' holds no {pattern} files"
                )
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise DatasetError(
                f"steps.{block}.location: data file '{loc}' not found (looked for {path})"
            )
    return SourceFiles(paths=tuple(paths), is_table=_is_table(cfg))


def fingerprint(
    cfg: IngestConfig, root: Path, block: str, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Content fingerprint of the source: a data change changes it, a touch without change does not.

    Every file is hashed in full, always: an edit that keeps size and mtime (``cp -p``,
    ``rsync -t``, ``tar -x``) must still be seen. Only the up-to-date manifest (fastpath.py)
    trusts size and mtime, and any difference there leads here. ``previous`` is accepted for
    callers that have it, and not used to skip hashing.
    Returns ``{"volatile": True}`` for sources that cannot be fingerprinted (remote URIs).
    """
    sources = resolve_sources(cfg, root, block)
    if not sources.paths:
        return {"volatile": True}
    fmt = data_format(cfg.using) or data_format("csv")  # custom formats: files, hashed
    assert fmt is not None
    files = [fmt.fingerprint(path, cfg) for path in sources.paths]
    return {"files": files}


def fingerprint_for_key(fp: dict[str, Any]) -> str:
    """The part of a fingerprint that decides caching: content, not timestamps."""
    if fp.get("volatile"):
        return "volatile"
    stable = [{k: v for k, v in f.items() if k not in ("mtime_ns",)} for f in fp["files"]]
    return hash_json(stable)


def _is_table(cfg: IngestConfig) -> bool:
    fmt = data_format(cfg.using)
    return fmt is not None and fmt.is_table


def watched_paths(cfg: IngestConfig, root: Path, block: str) -> list[Path]:
    """Files and folders whose stat reveals a change of the source (the up-to-date manifest):
    the configured locations, the files they resolve to, and a table's transaction log."""
    sources = resolve_sources(cfg, root, block)
    paths = [*source_locations(cfg, root), *sources.paths]
    if sources.is_table:
        paths.extend(p / "_delta_log" for p in sources.paths)
    return paths
