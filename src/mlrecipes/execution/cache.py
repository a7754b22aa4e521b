"""Content hashes for cache keys: config, code, upstream outputs, data source, engine version."""

from __future__ import annotations

import os
import platform
import re
import sys
from typing import Any

from mlrecipes.io.hashing import hash_file, hash_json, hash_tree

__all__ = ["cache_key", "hash_file", "hash_json", "hash_tree"]


def cache_key(
    step: str,
    engine_version: str,
    config: Any,
    code: dict[str, str],
    inputs: dict[str, str | None],
    source: str | None,
) -> str:
    return hash_json(
        {
            "step": step,
            "engine": engine_version,
            "config": config,
            "code": code,
            "inputs": inputs,
            "source": source,
            "libraries": library_versions(),
        }
    )


# The libraries whose pickles and numbers a step's outputs depend on: upgrading one re-runs the
# steps (a transformer pickled by scikit-learn 1.8 may not load, or score differently, in 1.9).
KEYED_LIBRARIES = ("numpy", "pandas", "scikit-learn", "mlflow", "pyarrow", "cloudpickle")
_DIST_INFO = re.compile(r"^([A-Za-z0-9_.]+)-([^-]+)\.dist-info$")
_versions: dict[str, str] | None = None


def library_versions() -> dict[str, str]:
    """Python and :data:`KEYED_LIBRARIES` versions, as the import system would find them.

    Read from the ``*.dist-info`` folder names on ``sys.path`` (about 1 ms) rather than with
    ``importlib.metadata`` (about 100 ms for six packages, twice the whole cached run).
    """
    global _versions
    if _versions is not None:
        return dict(_versions)
    wanted = {name.replace("-", "_").lower(): name for name in KEYED_LIBRARIES}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for item in names:
            match = _DIST_INFO.match(item)
            if match:
                key = match.group(1).replace("-", "_").replace(".", "_").lower()
                if key in wanted and wanted[key] not in found:
                    found[wanted[key]] = match.group(2)
    for name in KEYED_LIBRARIES:
        if name not in found:
            from importlib.metadata import PackageNotFoundError, version

            try:
                found[name] = version(name)
            except PackageNotFoundError:
                found[name] = "absent"
    _versions = {"python": platform.python_version(), **{k: found[k] for k in KEYED_LIBRARIES}}
    return dict(_versions)
