"""What a run reports: per-step outcomes and the progress lines printed while it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
        self.emit = emit or (lambda line: None)

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
