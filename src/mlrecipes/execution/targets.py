"""The default target of a run (kept apart from the DAG so the CLI can name it cheaply)."""

from __future__ import annotations

from typing import Any

DEFAULT_TARGET = "register"
# the name a run without --step is remembered under (its target depends on the configuration)
DEFAULT_LABEL = "default"


def default_target(config: Any) -> str:
    """``deploy`` when the recipe configures it (a run then goes through it), else register."""
    return "deploy" if getattr(config.steps, "deploy", None) is not None else DEFAULT_TARGET
