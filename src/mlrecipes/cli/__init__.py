"""The ``mlrecipes`` command, one module per command group (main.py assembles them)."""

from mlrecipes.cli.main import app, main

__all__ = ["app", "main"]
