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


def result_line(ws: Workspace, plan: list[str], profile: str) -> str | None:
    """The run's result in one line, from the states the plan's steps left (no MLflow query):
    ``VALIDATED: roc_auc 0.852 ≥ 0.80 · registered churn v3 @challenger · champion v3
    (promoted) · next: mlrecipes inspect ...``. None when the plan has none of those steps."""
    parts: list[str] = []
    summary = {name: ws.state(name).summary for name in plan}
    evaluate = summary.get("evaluate")
    if evaluate:
        status = evaluate.get("model_validation_status", "")
        primary = evaluate.get("primary_metric")
        value = (evaluate.get("metrics", {}).get("test") or {}).get(primary)
        checks = evaluate.get("validation_results") or []
        shown = f"{primary} {value:.3f}" if isinstance(value, float) else ""
        criterion = next((c for c in checks if c.startswith(f"{primary} ")), None)
        if criterion and "needs " in criterion:
            op, threshold = criterion.split("needs ", 1)[1].split(")")[0].split(" ", 1)
            shown += f" {'≥' if op == '>=' else '≤'} {threshold}"
        parts.append(f"{status}: {shown}".strip().rstrip(":"))
    register = summary.get("register")
    if register:
        alias = "".join(f" @{a}" for a in register.get("aliases", []))
        parts.append(
            f"registered {register.get('registered_model_name')} "
            f"v{register.get('registered_model_version')}{alias}"
        )
    deploy = summary.get("deploy")
    if deploy:
        champion = deploy.get("champion_version")
        parts.append(
            f"champion v{champion} ({deploy.get('decision')})"
            if champion
            else f"no champion ({deploy.get('decision')})"
        )
    predict = summary.get("predict")
    if predict:
        parts.append(f"scored {predict.get('rows_scored')} rows → {predict.get('output_path')}")
    if not parts:
        return None
    last = plan[-1]
    parts.append(f"next: mlrecipes inspect --profile {profile} --step {last}")
    return " · ".join(parts)
