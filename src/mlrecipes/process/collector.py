"""The cyclic garbage collector's full passes made rare while the engine runs.

A cold run imports MLflow, SQLAlchemy, scikit-learn and matplotlib: over a million long-lived
objects, and Python's default thresholds (700, 10, 10) start a full collection, which walks every
one of them, each time the old generation has grown by a quarter. Measured on the benchmark
recipe (2 cores, 4 alternating runs each): 5.4-6.3 s with the defaults, 5.0-5.5 s with full
passes a hundred times rarer, the same as with the collector off, and the same peak RSS. The
young generations keep their thresholds, so short-lived cycles are still collected as often as
before; reference counting frees everything else at once, as always.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

FULL_PASS_EVERY = 1000  # young-generation passes between full ones (Python's default: 10)


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """Full collections at most every ``FULL_PASS_EVERY`` middle-generation passes for the
    body; the caller's thresholds are put back afterwards (a notebook's are its own)."""
    previous = gc.get_threshold()
    young, middle, full = previous
    gc.set_threshold(young, middle, max(full, FULL_PASS_EVERY))
    try:
        yield
    finally:
        gc.set_threshold(*previous)
