"""Content hashes (sha256) of JSON values, files and directory trees."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def hash_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def hash_tree(directory: Path) -> str:
    """Hash of every file's relative path and content under ``directory``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(hash_file(path).encode())
    return digest.hexdigest()
