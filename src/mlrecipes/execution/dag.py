"""The step graph: checked once with graphlib; a target runs with its ancestors, in order."""

from __future__ import annotations

import difflib
from graphlib import CycleError, TopologicalSorter

from mlrecipes.errors import RecipeGraphError
from mlrecipes.steps import SCORING_STEPS, STEP_CLASSES, TRAINING_STEPS


def _graph() -> dict[str, tuple[str, ...]]:
    return {name: cls.inputs for name, cls in STEP_CLASSES.items()}


def topological_order() -> list[str]:
    try:
        return list(TopologicalSorter(_graph()).static_order())
    except CycleError as exc:
        raise RecipeGraphError(f"the step graph has a cycle: {exc.args[1]}") from exc


def all_steps() -> tuple[str, ...]:
    return tuple(s for s in (*TRAINING_STEPS, *SCORING_STEPS) if s in STEP_CLASSES)


def check_step(name: str) -> str:
    if name not in STEP_CLASSES:
        close = difflib.get_close_matches(name, list(all_steps()), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise RecipeGraphError(
            f"step '{name}' not found in recipe; available steps are {list(all_steps())}{hint}"
        )
    return name


def plan(target: str) -> list[str]:
    """``target`` and every step it depends on, in execution order."""
    check_step(target)
    graph = _graph()
    needed: set[str] = set()
    stack = [target]
    while stack:
        step = stack.pop()
        if step not in needed:
            needed.add(step)
            stack.extend(graph[step])
    return [s for s in topological_order() if s in needed]
