"""One run per profile at a time: a file lock that the kernel releases if the holder dies."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from mlrecipes.errors import CacheError

LOCK_TIMEOUT_ENV = "MLRECIPES_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 3600.0


@contextmanager
def profile_lock(path: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    timeout = float(os.environ.get(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT_S))
    owner_file = path.with_name(path.name + ".owner")
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = owner_file.read_text().strip() if owner_file.exists() else "another process"
        if on_wait:
            on_wait(f"waiting for the run holding {path} ({holder}) to finish")
        started = time.monotonic()
        try:
            lock.acquire(timeout=timeout)
        except Timeout as exc:
            raise CacheError(
                f"{path}: still locked by {holder} after {time.monotonic() - started:.0f} s "
                f"(set {LOCK_TIMEOUT_ENV} to wait longer)"
            ) from exc
    try:
        owner_file.write_text(f"pid {os.getpid()}")
        yield
    finally:
        owner_file.unlink(missing_ok=True)
        lock.release()
