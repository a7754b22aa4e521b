"""Content hashes for cache keys: config, code, upstream outputs, data source, engine version."""

from __future__ import annotations

from typing import Any

from mlrecipes.hashing import hash_file, hash_json, hash_tree

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
        }
    )
