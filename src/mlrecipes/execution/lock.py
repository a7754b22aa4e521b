"""One run per profile at a time: a file lock that the kernel releases if the holder dies."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from mlrecipes.errors import CacheError

LOCK_TIMEOUT_ENV = "MLRECIPES_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 3600.0


@contextmanager
def profile_lock(path: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    timeout = float(os.environ.get(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT_S))
    owner_file = path.with_name(path.name + ".owner")
    lock = FileLock(str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=0)
    except Timeout:
        holder = _holder(owner_file)
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
    except OSError as exc:  # after Timeout: filelock's Timeout is an OSError too
        raise not_writable(path.parent, exc) from None
    try:
        since = datetime.now(UTC).isoformat(timespec="seconds")
        command = " ".join(sys.argv[:6])
        owner_file.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": since,
                    "command": command,
                }
            ),
            encoding="utf-8",
        )
        yield
    finally:
        owner_file.unlink(missing_ok=True)
        lock.release()


def not_writable(directory: Path, exc: OSError) -> CacheError:
    return CacheError(
        f"the execution directory {directory} is not writable ({exc.strerror or exc}); make it "
        "writable or set MLRECIPES_EXECUTION_DIR to a folder that is"
    )


def _holder(owner_file: Path) -> str:
    """Who holds the lock and since when, as its owner file says."""
    try:
        owner = json.loads(owner_file.read_text(encoding="utf-8"))
        return f"pid {owner['pid']} on {owner['host']} since {owner['since']}: {owner['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
