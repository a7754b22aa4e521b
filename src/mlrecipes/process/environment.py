"""Environment variables set for a block and removed afterwards (the Spark session's Python,
MLflow's retry and quiet settings): a caller's own values always win and are never touched."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def environment_defaults(defaults: Mapping[str, str]) -> Iterator[list[str]]:
    """Set each variable of ``defaults`` that is not set yet; yield their names; unset exactly
    those afterwards."""
    added = [key for key in defaults if key not in os.environ]
    os.environ.update({key: defaults[key] for key in added})
    try:
        yield added
    finally:
        for key in added:
            os.environ.pop(key, None)
