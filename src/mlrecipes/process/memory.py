"""Memory handed back to the OS while a long stream runs (batch scoring, feature writes).

Both helpers change process-wide allocator state, so each is scoped: the Arrow pool is put back
when the block ends; malloc_trim only returns already-freed pages.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pyarrow as pa


@contextmanager
def returnable_memory() -> Iterator[None]:
    """Allocate Arrow buffers with the system allocator (which, with malloc_trim, gives memory
    back) for the body; mimalloc keeps freed pages, so a long stream's peak RSS kept growing.
    The previous pool is put back afterwards: a notebook's Arrow settings are its own."""
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def release_free_memory() -> None:
    """Hand freed heap pages back to the OS between batches (glibc only).

    Without it, fragmentation from millions of short-lived Python strings lets the peak RSS creep
    up with the number of batches, although each batch needs the same memory.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, looked up once; None where the C library has none (musl, macOS)."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
