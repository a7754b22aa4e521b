"""The step graph, from the steps' declared inputs: checked with graphlib; a target runs with its
ancestors, in order."""

from __future__ import annotations

import difflib
from graphlib import CycleError, TopologicalSorter
from typing import Any

from mlrecipes.errors import RecipeGraphError
from mlrecipes.execution.declarations import step_classes

PIPELINES = ("training", "scoring")


def _graph() -> dict[str, tuple[str, ...]]:
    """Every edge, the optional ones included: they decide the order whenever they apply."""
    return {name: (*cls.inputs, *cls.after_if_configured) for name, cls in step_classes().items()}


def _upstream(name: str, config: Any) -> tuple[str, ...]:
    """The steps ``name`` needs under ``config``: its inputs, and its optional predecessors
    that the configuration sets up (without a configuration, none of those)."""
    cls = step_classes()[name]
    steps = getattr(config, "steps", None)
    optional = tuple(s for s in cls.after_if_configured if getattr(steps, s, None) is not None)
    return (*cls.inputs, *optional)


def check_graph() -> None:
    """Every declared input is a step, and there is no cycle."""
    graph = _graph()
    for name, inputs in graph.items():
        unknown = [i for i in inputs if i not in graph]
        if unknown:
            raise RecipeGraphError(f"step '{name}' declares unknown input steps {unknown}")
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise RecipeGraphError(f"the step graph has a cycle: {exc.args[1]}") from exc


def topological_order() -> list[str]:
    """Execution order: a step after its inputs; among the steps ready at once, training before
    scoring and then by name, so the order is stable and reads like the pipelines."""
    check_graph()
    classes = step_classes()
    graph = {name: set(inputs) for name, inputs in _graph().items()}
    waiting = {name: len(inputs) for name, inputs in graph.items()}
    ready = [name for name, n in waiting.items() if n == 0]
    order: list[str] = []
    while ready:
        ready.sort(key=lambda s: (PIPELINES.index(classes[s].pipeline), s))
        step = ready.pop(0)
        order.append(step)
        for name, inputs in graph.items():
            if step in inputs:
                waiting[name] -= 1
                if waiting[name] == 0:
                    ready.append(name)
    return order


def all_steps() -> tuple[str, ...]:
    return tuple(topological_order())


def check_step(name: str) -> str:
    if name not in step_classes():
        close = difflib.get_close_matches(name, list(all_steps()), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise RecipeGraphError(
            f"step '{name}' not found in recipe; available steps are {list(all_steps())}{hint}"
        )
    return name


def plan(target: str, config: Any = None) -> list[str]:
    """``target`` and every step it depends on under ``config``, in execution order."""
    check_step(target)
    needed: set[str] = set()
    stack = [target]
    while stack:
        step = stack.pop()
        if step not in needed:
            needed.add(step)
            stack.extend(_upstream(step, config))
    return [s for s in topological_order() if s in needed]


def describe() -> str:
    """The DAG as text, one chain per pipeline: ``ingest → split → ...;  ingest_scoring → ...``."""
    classes = step_classes()
    chains = []
    for pipeline in PIPELINES:
        steps = [s for s in all_steps() if classes[s].pipeline == pipeline]
        if steps:
            chains.append(" → ".join(steps))
    return ";  ".join(chains)
