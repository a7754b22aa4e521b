"""The project's Databricks bundle (``databricks.yml`` + ``resources/*.yml``) read as data: its
jobs, their tasks in dependency order, and each task's ``mlrecipes`` command with the bundle's
substitutions made for one target and profile. ``mlrecipes job run`` runs these commands
locally; the tests check every one of them parses as a real ``mlrecipes`` invocation.

Only the substitutions the project's jobs use are made (``${var.*}``, ``${bundle.target}``,
``${workspace.file_path}``, ``{{job.parameters.*}}`` and ``{{job.trigger.time.iso_datetime}}``,
the time the run was due: the scoring time of a batch); an unknown one is an error, so a command
is never run with a placeholder left in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrecipes.errors import ConfigError

BUNDLE_FILE = "databricks.yml"
_VAR = re.compile(r"\$\{([^}]+)\}")
_DYNAMIC = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")  # {{job.parameters.x}}, {{job.trigger...}}


@dataclass(frozen=True)
class Task:
    key: str
    depends_on: tuple[str, ...]
    args: tuple[str, ...]  # the mlrecipes command's arguments, substitutions made


@dataclass(frozen=True)
class JobPlan:
    key: str
    name: str
    target: str
    tasks: tuple[Task, ...]  # dependency order
    profile: str = ""  # the profile its tasks run (the target's, or --profile's)

    @property
    def title(self) -> str:
        """How the run is named to a person: the bundle's job name is the target's, and a
        local run with another profile is that profile's, not the target's."""
        if self.profile and self.profile != self.target:
            return f"{self.key.replace('_', '-')} (profile {self.profile}, target {self.target})"
        return self.name


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def load_bundle(root: Path) -> dict[str, Any]:
    """``databricks.yml`` with its included resource files merged under ``resources``."""
    path = root / BUNDLE_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: no bundle file (the jobs are defined there)")
    bundle = _yaml(path)
    jobs: dict[str, Any] = {}
    for pattern in bundle.get("include", []):
        for part in sorted(root.glob(pattern)):
            for key, job in (_yaml(part).get("resources", {}).get("jobs") or {}).items():
                if key in jobs:
                    raise ConfigError(f"{part}: job '{key}' is defined twice")
                jobs[key] = job
    bundle.setdefault("resources", {})["jobs"] = jobs
    return bundle


def job_key(bundle: dict[str, Any], name: str) -> str:
    """A job by its resource key, written with - or _ (``model-train`` is ``model_train``)."""
    jobs = bundle["resources"]["jobs"]
    key = name.replace("-", "_")
    if key not in jobs:
        known = ", ".join(k.replace("_", "-") for k in sorted(jobs))
        raise ConfigError(f"{BUNDLE_FILE}: no job '{name}' (jobs: {known})")
    return key


def targets(bundle: dict[str, Any]) -> list[str]:
    return list(bundle.get("targets") or {})


def _variables(bundle: dict[str, Any], target: str) -> dict[str, str]:
    if target not in (bundle.get("targets") or {}):
        raise ConfigError(f"{BUNDLE_FILE}: no target '{target}' (targets: {targets(bundle)})")
    values = {k: v.get("default") for k, v in (bundle.get("variables") or {}).items()}
    values.update((bundle["targets"][target] or {}).get("variables") or {})
    return {k: str(v) for k, v in values.items() if v is not None}


def _substitute(text: str, known: dict[str, str], where: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in known:
            raise ConfigError(f"{where}: ${{{name}}} has no value for a local run")
        return known[name]

    return _VAR.sub(value, text)


def plan_job(
    bundle: dict[str, Any],
    name: str,
    target: str,
    profile: str | None,
    root: Path,
    at: str | None = None,
) -> JobPlan:
    """The commands of job ``name`` for ``target``; ``profile`` overrides the job's profile
    parameter (its default comes from the target's variables); ``at`` is the time the run is
    for (default: now, UTC)."""
    from datetime import UTC, datetime

    dynamic = {
        "job.trigger.time.iso_datetime": at or datetime.now(UTC).isoformat(timespec="seconds")
    }
    key = job_key(bundle, name)
    job = bundle["resources"]["jobs"][key]
    where = f"{BUNDLE_FILE}: job {key}"
    known = {f"var.{k}": v for k, v in _variables(bundle, target).items()}
    known |= {"bundle.target": target, "workspace.file_path": str(root)}
    parameters = {
        p["name"]: _substitute(str(p.get("default", "")), known, where)
        for p in job.get("parameters") or []
    }
    if profile is not None:
        parameters["profile"] = profile

    def resolved(arg: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("job.parameters."):
                if name.removeprefix("job.parameters.") not in parameters:
                    raise ConfigError(f"{where}: job parameter '{name}' is not defined")
                return parameters[name.removeprefix("job.parameters.")]
            if name not in dynamic:
                raise ConfigError(f"{where}: {{{{{name}}}}} has no value for a local run")
            return dynamic[name]

        return _substitute(_DYNAMIC.sub(value, arg), known, where)

    tasks = []
    for task in job.get("tasks") or []:
        wheel = task.get("python_wheel_task") or {}
        if wheel.get("package_name") != "mlrecipes":
            raise ConfigError(
                f"{where}: task {task.get('task_key')} is not an mlrecipes python_wheel_task"
            )
        deps = tuple(d["task_key"] for d in task.get("depends_on") or [])
        args = tuple(resolved(str(a)) for a in wheel.get("parameters") or [])
        tasks.append(Task(task["task_key"], deps, args))
    return JobPlan(
        key,
        _substitute(str(job.get("name", key)), known, where),
        target,
        _ordered(tasks, where),
        parameters.get("profile", ""),
    )


def _ordered(tasks: list[Task], where: str) -> tuple[Task, ...]:
    """Tasks with every dependency first (the order Databricks would start them in, serially)."""
    by_key = {t.key: t for t in tasks}
    done: list[Task] = []
    visiting: set[str] = set()

    def visit(task: Task) -> None:
        if task in done:
            return
        if task.key in visiting:
            raise ConfigError(f"{where}: tasks depend on each other in a cycle ({task.key})")
        visiting.add(task.key)
        for dep in task.depends_on:
            if dep not in by_key:
                raise ConfigError(f"{where}: task {task.key} depends on unknown task {dep}")
            visit(by_key[dep])
        visiting.discard(task.key)
        done.append(task)

    for task in tasks:
        visit(task)
    return tuple(done)
