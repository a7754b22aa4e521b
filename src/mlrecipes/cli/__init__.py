"""The ``mlrecipes`` command, one module per command group (main.py assembles them).

``main`` answers a plain, fully cached ``run`` before importing click (``cached.py``); every
other command line goes to the click application, ``app``, imported on first use."""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    from mlrecipes.cli.cached import answer
    from mlrecipes.process.exit import exit_quickly_at_end, leave

    exit_quickly_at_end()
    if answer(sys.argv[1:]):
        leave(0)
    from mlrecipes.cli.main import main as full

    full()


def __getattr__(name: str) -> Any:  # ``from mlrecipes.cli import app``: click only when asked
    if name == "app":
        from mlrecipes.cli.main import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
