"""Files that are either absent, as they were, or complete: never half written.

A reader (another runner, the next run after a ``kill -9``) that finds the path sees the
whole text; ``os.replace`` is atomic on one file system, so the temporary file sits beside
the target.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
