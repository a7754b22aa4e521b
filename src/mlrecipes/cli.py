"""The ``mlrecipes`` command: parses arguments, calls :class:`mlrecipes.recipe.Recipe`, prints.

Plain click: a fully cached run takes ~0.2 s, and typer's per-call parameter adapters (pydantic)
cost half of that.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mlrecipes.errors import MlrecipesError, StepError
from mlrecipes.process.exit import exit_quickly_at_end, leave


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    no_args_is_help=True,
)
def app() -> None:
    """Run declarative ML recipes (recipe.yaml + profiles + steps/*.py) on MLflow 3."""


profile_option = click.option(
    "--profile",
    "-p",
    required=True,
    envvar=["MLRECIPES_PROFILE", "MLFLOW_RECIPES_PROFILE"],
    show_envvar=True,
    help="Profile under profiles/.",
)
step_option = click.option("--step", "-s", default=None, help="Step name.")
var_option = click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a profile variable (repeatable).",
)
root_option = click.option(
    "--recipe-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Recipe directory (default: nearest with recipe.yaml).",
)
verbose_option = click.option("--verbose", "-v", is_flag=True, help="Show full tracebacks.")


def _err(message: str) -> None:
    click.echo(message, err=True)


def _recipe(profile: str, root: Path | None, variables: tuple[str, ...], quiet: bool = False):
    from mlrecipes.config.loader import parse_var_overrides
    from mlrecipes.execution.report import Reporter
    from mlrecipes.recipe import Recipe

    reporter = Reporter(None if quiet else _err)
    return Recipe(
        profile, root=root, variables=parse_var_overrides(variables or []), reporter=reporter
    )


def _fail(exc: BaseException, verbose: bool) -> None:
    raise SystemExit(_fail_code(exc, verbose))


def _attempt(action: Callable[[], Any], verbose: bool) -> Any:
    """``action()``, or the error printed and the command ended with exit status 1."""
    try:
        return action()
    except MlrecipesError as exc:
        raise SystemExit(_fail_code(exc, verbose)) from None


def _fail_code(exc: BaseException, verbose: bool) -> int:
    if isinstance(exc, StepError) and exc.traceback_text:
        _err(exc.traceback_text.rstrip())
    elif verbose:
        import traceback

        _err("".join(traceback.format_exception(exc)).rstrip())
    _err(f"Error: {exc}")
    return 1


@app.command()
@profile_option
@step_option
@var_option
@click.option(
    "--only",
    is_flag=True,
    help="Run STEP alone, on the outputs its upstream steps recorded last (they must have "
    "succeeded): e.g. monitor the window predict last scored without scoring again.",
)
@root_option
@verbose_option
def run(
    profile: str,
    step: str | None,
    variables: tuple[str, ...],
    only: bool,
    recipe_root: Path | None,
    verbose: bool,
) -> None:
    """Run the recipe up to STEP (default: deploy when configured, else register), skipping steps
    whose inputs did not change."""
    if only and step is None:
        raise click.UsageError("--only needs --step")
    if not variables and not only and _report_if_up_to_date(profile, step, recipe_root):
        return
    from mlrecipes.process import supervisor

    def work() -> int:
        return _run_engine(profile, step, variables, recipe_root, verbose, only)

    if not supervisor.can_fork():
        raise SystemExit(work())
    end = supervisor.run_in_child(work, leave)
    if end.finished:
        raise SystemExit(end.reported)
    raise SystemExit(_report_unfinished(end, profile, step, variables, recipe_root))


def _run_engine(
    profile: str,
    step: str | None,
    variables: tuple[str, ...],
    recipe_root: Path | None,
    verbose: bool,
    only: bool = False,
) -> int:
    """The engine's part of ``run``; returns the exit code (in the supervised child)."""
    from mlrecipes.errors import Interrupted, StepInterrupted
    from mlrecipes.tracking.settings import engine_environment

    recipe = None
    try:
        with engine_environment():
            recipe = _recipe(profile, recipe_root, variables)
            report = recipe.run(step, only=only)
    except (MlrecipesError, Interrupted, KeyboardInterrupt) as exc:
        resume = _resume_command(profile, step, variables) + (" --only" if only else "")
        if isinstance(exc, StepInterrupted | Interrupted | KeyboardInterrupt):
            what = exc.reason if isinstance(exc, StepInterrupted) else str(exc) or "SIGINT"
            where = f" in step '{exc.step}'" if isinstance(exc, StepInterrupted) else ""
            _err(f"Interrupted{where} ({what}). Resume with: {resume}")
            return getattr(exc, "exit_code", 130)
        if isinstance(exc, StepError) and recipe is not None:
            _err(
                f"Card: {Path(recipe.workspace.card_path(exc.step))}\n"
                f"Fix the problem, then resume with: {resume}"
            )
        return _fail_code(exc, verbose)
    _print_outcome(report, recipe.workspace.path, profile)
    return 0


def _resume_command(profile: str, step: str | None, variables: tuple[str, ...]) -> str:
    import shlex

    parts = ["mlrecipes", "run", "--profile", profile]
    if step:
        parts += ["--step", step]
    for var in variables:
        parts += ["--var", var]
    return shlex.join(parts)


def _report_unfinished(
    end: Any, profile: str, step: str | None, variables: tuple[str, ...], root: Path | None
) -> int:
    """The engine's process ended without reporting: whatever its exit status, the run failed."""
    from mlrecipes.config.paths import find_recipe_root
    from mlrecipes.execution.runner import mark_abandoned
    from mlrecipes.execution.workspace import Workspace, execution_dir_for

    recipe_root = find_recipe_root(root)
    ws = Workspace(execution_dir_for(recipe_root, profile))
    steps = mark_abandoned(ws, end.pid, (recipe_root.name, profile), end.describe())
    where = f" inside step {', '.join(steps)}" if steps else ""
    _err(
        f"Error: the run did not finish: its process {end.describe()}{where}; "
        f"marked FAILED. Resume with: {_resume_command(profile, step, variables)}"
    )
    if end.signal is not None:
        return 128 + end.signal
    return end.exit_status or 1


def _report_if_up_to_date(profile: str, step: str | None, recipe_root: Path | None) -> bool:
    """Answer a fully cached run before importing the configuration machinery (fastpath.py)."""
    from mlrecipes.config.paths import find_recipe_root
    from mlrecipes.execution import fastpath
    from mlrecipes.execution.report import Reporter
    from mlrecipes.execution.targets import DEFAULT_LABEL
    from mlrecipes.execution.workspace import Workspace, execution_dir_for

    try:
        root = find_recipe_root(recipe_root)
    except MlrecipesError:
        return False  # the full path reports it
    ws = Workspace(execution_dir_for(root, profile))
    target = step or DEFAULT_LABEL
    report = fastpath.cached_report(ws, root, profile, target, {}, Reporter(_err))
    if report is None:
        return False
    _print_outcome(report, ws.path, profile)
    return True


def _print_outcome(report: Any, workspace: Path, profile: str) -> None:
    from mlrecipes.execution.report import result_line
    from mlrecipes.execution.workspace import Workspace

    ran, cached = report.names("ran"), report.names("cached")
    click.echo(
        f"Ran: {', '.join(ran) or 'nothing'}; cached: {', '.join(cached) or 'none'}; "
        f"cards: {workspace / 'steps'}"
    )
    line = result_line(Workspace(workspace), [o.step for o in report.outcomes], profile)
    if line:
        click.echo(line)


@app.command()
@profile_option
@step_option
@root_option
@verbose_option
def clean(profile: str, step: str | None, recipe_root: Path | None, verbose: bool) -> None:
    """Remove the cached outputs of STEP (default: all steps). Nothing in MLflow is deleted."""
    try:
        recipe = _recipe(profile, recipe_root, (), quiet=True)
        recipe.clean(step)
    except MlrecipesError as exc:
        _fail(exc, verbose)
    click.echo(f"Cleaned {step or 'all steps'} of profile {profile}")


@app.command()
@profile_option
@step_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@var_option
@root_option
@verbose_option
def inspect(
    profile: str,
    step: str | None,
    as_json: bool,
    variables: tuple[str, ...],
    recipe_root: Path | None,
    verbose: bool,
) -> None:
    """Show the step DAG with each step's status, or one step's card."""
    try:
        recipe = _recipe(profile, recipe_root, variables, quiet=True)
        status = recipe.status(step)
    except MlrecipesError as exc:
        _fail(exc, verbose)
        return
    if as_json:
        click.echo(json.dumps(status, indent=2, default=str))
        return
    if step is None:
        _print_dag(status)
        return
    card = recipe.card_path(step)
    entry = status["steps"][0]
    click.echo(
        f"{step}: {entry['status']}"
        + (f" ({entry['duration_s']} s)" if entry["duration_s"] else "")
    )
    for key, value in status.items():
        if key not in (
            "steps",
            "recipe",
            "recipe_root",
            "profile",
            "tracking_uri",
            "execution_dir",
        ):
            click.echo(_readable(key, value))
    if card is None:
        click.echo("  no card yet: run the step first")
        return
    click.echo(f"  card: {card}")
    if _can_open_browser():
        import webbrowser

        webbrowser.open(card.as_uri())


def _readable(key: str, value: Any) -> str:
    """One summary entry for a person: metric tables as aligned columns, the rest as JSON."""
    if (
        key == "metrics"
        and isinstance(value, dict)
        and all(isinstance(v, dict) for v in value.values())
    ):
        splits = list(value)
        names = sorted({m for part in value.values() for m in part})
        width = max(len(n) for n in names) if names else 6
        lines = [f"  {key}:", "    " + " " * width + "".join(f"{s:>14}" for s in splits)]
        for name in names:
            cells = "".join(f"{_number(value[s].get(name)):>14}" for s in splits)
            lines.append(f"    {name:<{width}}{cells}")
        return "\n".join(lines)
    return f"  {key}: {json.dumps(value, default=str)}"


def _number(value: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.4f}"


def _can_open_browser() -> bool:
    if os.environ.get("CI") or os.environ.get("GITHUB_ACTIONS") or not sys.stdout.isatty():
        return False
    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def _print_dag(status: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{status['recipe']} · profile {status['profile']} · {status['tracking_uri']}"
    )
    for column in ("step", "status", "up to date", "finished", "seconds"):
        table.add_column(column)
    for s in status["steps"]:
        fresh = s.get("up_to_date")
        table.add_row(
            s["name"],
            s["status"],
            "" if fresh is None else ("yes" if fresh else "no"),
            s["finished_at"] or "",
            "" if s["duration_s"] is None else f"{s['duration_s']:.2f}",
        )
    Console().print(table)
    from mlrecipes.execution.dag import describe

    click.echo(describe())


@app.command("get-artifact")
@profile_option
@click.option(
    "--artifact",
    "-a",
    required=True,
    help="Artifact name (ingested_data, training_data, model, run, scored_data, ...).",
)
@root_option
@verbose_option
def get_artifact(profile: str, artifact: str, recipe_root: Path | None, verbose: bool) -> None:
    """Print where an artifact is: a local file path, or an MLflow URI for model/run/version."""
    try:
        recipe = _recipe(profile, recipe_root, (), quiet=True)
        location = recipe.artifact_location(artifact)
    except MlrecipesError as exc:
        _fail(exc, verbose)
        return
    if location is None:
        _err(f"Artifact '{artifact}' is not available yet: run its step first")
        raise SystemExit(1)
    click.echo(location)


@app.command()
@profile_option
@click.option("--version", "version", required=True, help="The model version to promote.")
@root_option
@verbose_option
def approve(profile: str, version: str, recipe_root: Path | None, verbose: bool) -> None:
    """Approve a deploy decision waiting for approval: VERSION becomes champion."""
    replaced = _attempt(lambda: _recipe(profile, recipe_root, ()).approve(version), verbose)
    click.echo(f"version {version} is champion" + (f" (was {replaced})" if replaced else ""))


@app.command()
@profile_option
@click.option("--version", "version", required=True, help="The model version to refuse.")
@click.option("--reason", default="rejected by a reviewer", show_default=True)
@root_option
@verbose_option
def reject(
    profile: str, version: str, reason: str, recipe_root: Path | None, verbose: bool
) -> None:
    """Refuse a deploy decision waiting for approval (recorded on the version)."""
    _attempt(lambda: _recipe(profile, recipe_root, ()).reject(version, reason), verbose)
    click.echo(f"version {version} rejected: {reason}")


@app.command()
@profile_option
@click.option("--reason", default="rollback", show_default=True)
@root_option
@verbose_option
def rollback(profile: str, reason: str, recipe_root: Path | None, verbose: bool) -> None:
    """Move the champion alias back to the previous champion."""
    champion, previous = _attempt(
        lambda: _recipe(profile, recipe_root, ()).rollback(reason), verbose
    )
    click.echo(f"version {champion} is champion again (rolled back from {previous})")


@app.command()
@profile_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@root_option
@verbose_option
def champion(profile: str, as_json: bool, recipe_root: Path | None, verbose: bool) -> None:
    """Show the champion and every deploy decision: who, when, why, which version."""
    info = _attempt(lambda: _recipe(profile, recipe_root, (), quiet=True).champion(), verbose)
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    aliases = ", ".join(f"{a} → v{v}" for a, v in sorted(info["aliases"].items())) or "none"
    click.echo(f"{info['model_name']}: {aliases}")
    for event in info["history"]:
        what = event.get("decision") or event.get("event")
        click.echo(
            f"  {event['at']}  v{event['version']}  {what:<16} by {event['by']}: "
            f"{event.get('reason', '')}"
        )


@app.command()
@profile_option
@click.option("--dry-run", is_flag=True, help="Decide and record, but do not retrain.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@var_option
@root_option
@verbose_option
def retrain(
    profile: str,
    dry_run: bool,
    as_json: bool,
    variables: tuple[str, ...],
    recipe_root: Path | None,
    verbose: bool,
) -> None:
    """Retrain when k of the last n monitored windows breached (cooldown, daily cap); deploy's
    champion/challenger rule then decides. Every evaluation is recorded."""
    from mlrecipes.retraining import retrain as run_trigger

    result = _attempt(
        lambda: run_trigger(_recipe(profile, recipe_root, variables), dry_run), verbose
    )
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    verb = "fired" if result["fired"] else "did not fire"
    click.echo(f"trigger {verb}{' (dry run)' if dry_run else ''}: {result['reason']}")
    if result["deploy"]:
        d = result["deploy"]
        click.echo(
            f"retrained: version {d['challenger_version']} · {d['decision']} · "
            f"champion v{d['champion_version']}: {d['reason']}"
        )


@app.command("sample-data")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (.csv or .parquet).",
)
@click.option("--rows", "-n", type=click.IntRange(min=1), default=7043, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--months",
    type=click.IntRange(min=1),
    default=None,
    help="Write monthly snapshots (one CSV per month, with snapshot_date) into the folder OUT.",
)
def sample_data(out: Path, rows: int, seed: int, months: int | None) -> None:
    """Write a synthetic telco churn table with the IBM Telco schema and quirks."""
    if months is not None:
        from mlrecipes.datasets.telco import write_snapshots

        paths = write_snapshots(out, rows=rows, months=months, seed=seed)
        click.echo(f"Wrote {months} monthly snapshots of {rows} customers to {out}")
        for path in paths:
            click.echo(f"  {path}")
        return
    from mlrecipes.datasets.telco import write_sample

    path = write_sample(out, rows=rows, seed=seed)
    click.echo(f"Wrote {rows} rows to {path}")


def _add_groups() -> None:
    from mlrecipes.cli_access import access
    from mlrecipes.cli_demo import demo
    from mlrecipes.cli_jobs import job

    app.add_command(access)
    app.add_command(demo)
    app.add_command(job)


_add_groups()


def main() -> None:
    exit_quickly_at_end()
    try:
        app(prog_name="mlrecipes")
    except SystemExit as exc:
        leave(exc.code)
    leave(0)


if __name__ == "__main__":
    main()
