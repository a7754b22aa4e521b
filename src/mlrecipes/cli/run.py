"""``run`` and ``clean``: the engine in a supervised child process, and what is printed after.

A fully cached run is answered before the configuration machinery is imported (fastpath)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlrecipes.cli.cached import print_outcome, report_if_up_to_date
from mlrecipes.cli.options import (
    fail,
    failure_code,
    open_recipe,
    print_error,
    profile_option,
    root_option,
    step_option,
    strict_option,
    var_option,
    verbose_option,
)
from mlrecipes.errors import MlrecipesError, StepError
from mlrecipes.process.exit import leave


@click.command()
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
@strict_option
@verbose_option
def run(
    profile: str,
    step: str | None,
    variables: tuple[str, ...],
    only: bool,
    recipe_root: Path | None,
    strict: bool,
    verbose: bool,
) -> None:
    """Run the recipe up to STEP (default: deploy when configured, else register), skipping steps
    whose inputs did not change."""
    if only and step is None:
        raise click.UsageError("--only needs --step")
    # --strict validates the configuration again (a cached report would skip that)
    fast = not variables and not only and not strict
    if fast and report_if_up_to_date(profile, step, recipe_root):
        return
    from mlrecipes.process import supervisor

    def work() -> int:
        return _run_engine(profile, step, variables, recipe_root, verbose, only, strict)

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
    strict: bool = False,
) -> int:
    """The engine's part of ``run``; returns the exit code (in the supervised child)."""
    from mlrecipes.errors import Interrupted, StepInterrupted

    recipe = None
    try:  # Recipe.run applies the engine's MLflow settings itself, before MLflow is imported
        recipe = open_recipe(profile, recipe_root, variables, strict=strict)
        report = recipe.run(step, only=only)
    except (MlrecipesError, Interrupted, KeyboardInterrupt) as exc:
        resume = _resume_command(profile, step, variables) + (" --only" if only else "")
        if isinstance(exc, StepInterrupted | Interrupted | KeyboardInterrupt):
            what = exc.reason if isinstance(exc, StepInterrupted) else str(exc) or "SIGINT"
            where = f" in step '{exc.step}'" if isinstance(exc, StepInterrupted) else ""
            print_error(f"Interrupted{where} ({what}). Resume with: {resume}")
            return getattr(exc, "exit_code", 130)
        if isinstance(exc, StepError) and recipe is not None:
            print_error(
                f"Card: {Path(recipe.workspace.card_path(exc.step))}\n"
                f"Fix the problem, then resume with: {resume}"
            )
        return failure_code(exc, verbose)
    print_outcome(report, recipe.root, profile)
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
    from mlrecipes.execution import abandon_unfinished

    steps = abandon_unfinished(find_recipe_root(root), profile, end.pid, end.describe())
    where = f" inside step {', '.join(steps)}" if steps else ""
    print_error(
        f"Error: the run did not finish: its process {end.describe()}{where}; "
        f"marked FAILED. Resume with: {_resume_command(profile, step, variables)}"
    )
    if end.signal is not None:
        return 128 + end.signal
    return end.exit_status or 1


@click.command()
@profile_option
@step_option
@root_option
@verbose_option
def clean(profile: str, step: str | None, recipe_root: Path | None, verbose: bool) -> None:
    """Remove the cached outputs of STEP (default: all steps). Nothing in MLflow is deleted."""
    try:
        recipe = open_recipe(profile, recipe_root, (), quiet=True)
        recipe.clean(step)
    except MlrecipesError as exc:
        fail(exc, verbose)
    click.echo(f"Cleaned {step or 'all steps'} of profile {profile}")
