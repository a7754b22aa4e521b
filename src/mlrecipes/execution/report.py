"""What a run reports: per-step outcomes and the progress lines printed while it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mlrecipes.config.redaction import redact
from mlrecipes.execution.state import append_event
from mlrecipes.execution.workspace import Workspace


@dataclass
class StepOutcome:
    step: str
    outcome: str  # "cached" | "ran" | "failed"
    duration_s: float = 0.0


@dataclass
class RunReport:
    target: str
    outcomes: list[StepOutcome] = field(default_factory=list)

    def names(self, outcome: str) -> list[str]:
        return [o.step for o in self.outcomes if o.outcome == outcome]


class Reporter:
    """Progress lines: one per step, saying cached / running / done with its duration."""

    def __init__(self, emit: Callable[[str], None] | None = None):
        out = emit or (lambda line: None)
        self.emit = lambda line: out(redact(line))

    def cached(self, step: str) -> None:
        self.emit(f"  {step:<15} cached")

    def running(self, step: str, reason: str) -> None:
        self.emit(f"▶ {step:<15} running ({reason})")

    def done(self, step: str, seconds: float) -> None:
        self.emit(f"✓ {step:<15} done in {seconds:.2f} s")

    def failed(self, step: str, seconds: float, message: str) -> None:
        self.emit(f"✗ {step:<15} FAILED after {seconds:.2f} s: {message}")

    def info(self, message: str) -> None:
        self.emit(f"  {message}")


def report_up_to_date(ws: Workspace, plan: list[str], reporter: Reporter) -> RunReport:
    """What run_plan reports when every step is cached, for a plan the fast path vouched for."""
    report = RunReport(target=plan[-1])
    for name in plan:
        reporter.cached(name)
        append_event(ws.events_path, step=name, event="cached", via="up-to-date manifest")
        report.outcomes.append(StepOutcome(name, "cached"))
    return report


def result_line(
    ws: Workspace, plan: list[str], profile: str, ran: list[str] | None = None
) -> str | None:
    """The run's result in one line, from the states the plan's steps left (no MLflow query):
    ``VALIDATED: roc_auc 0.852 ≥ 0.8 · registered churn v3 @challenger · champion v3
    (promoted) · next: mlrecipes inspect ...``; each step phrases its own part
    (``Step.result_phrase``), stored in its state when it ran. A cached step's phrase states
    what holds (the model registered); an always-run step's (``action_phrase``) describes what
    that run did (rows scored), so when ``ran`` says this run did not run it, it says nothing
    (a ``--only monitor`` run scored nothing). None when no step of the plan has anything to
    say. Imports no step: a fully cached run stays light."""
    parts = []
    for name in plan:
        state = ws.state(name)
        if state.action_phrase is not None:
            if (ran is None or name in ran) and state.action_phrase:
                parts.append(state.action_phrase)
            continue
        phrase = state.result_phrase
        if phrase is None and state.summary:  # a state written before phrases were stored
            from mlrecipes.execution.declarations import step_classes

            step = step_classes().get(name)
            phrase = step.result_phrase(state.summary) if step is not None else None
        if phrase:
            parts.append(phrase)
    if not parts:
        return None
    parts.append(f"next: mlrecipes inspect --profile {profile} --step {plan[-1]}")
    return " · ".join(parts)
