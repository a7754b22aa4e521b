"""``mlrecipes job list | run``: the bundle's jobs (databricks.yml + resources/), run locally as
exactly the commands the workspace runs."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import click

from mlrecipes.errors import MlrecipesError


def _root(recipe_root: Path | None) -> Path:
    from mlrecipes.config.paths import find_recipe_root

    return find_recipe_root(recipe_root)


def _default_target(bundle: dict) -> str:
    targets = bundle.get("targets") or {}
    return next((t for t, spec in targets.items() if (spec or {}).get("default")), None) or next(
        iter(targets), "dev"
    )


root_option = click.option(
    "--recipe-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Recipe directory (default: nearest with recipe.yaml).",
)


@click.group()
def job() -> None:
    """The production loop's jobs, as the Databricks bundle defines them."""


@job.command("list")
@root_option
def list_jobs(recipe_root: Path | None) -> None:
    """Every job of the bundle, its tasks and their commands (default target)."""
    from mlrecipes.jobs.bundle import load_bundle, plan_job

    try:
        root = _root(recipe_root)
        bundle = load_bundle(root)
        target = _default_target(bundle)
        plans = [plan_job(bundle, key, target, None, root) for key in bundle["resources"]["jobs"]]
    except MlrecipesError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None
    for plan in plans:
        click.echo(f"{plan.key.replace('_', '-')}  ({plan.name})")
        for task in plan.tasks:
            click.echo(f"  {task.key}: mlrecipes {shlex.join(task.args)}")


@job.command("run")
@click.argument("name")
@click.option("--profile", "-p", default=None, help="The profile (default: the target's).")
@click.option("--target", "-t", default=None, help="Bundle target (default: its default one).")
@click.option(
    "--at",
    default=None,
    help="The time the run is for, ISO 8601 ({{job.trigger.time.iso_datetime}}; default: now).",
)
@click.option("--dry-run", is_flag=True, help="Print the commands, run none.")
@root_option
def run_job(
    name: str,
    profile: str | None,
    target: str | None,
    at: str | None,
    dry_run: bool,
    recipe_root: Path | None,
) -> None:
    """Run job NAME's tasks here, in dependency order, as the commands the bundle defines; stop
    at the first that fails (its exit status is this command's)."""
    from mlrecipes.jobs.bundle import load_bundle, plan_job

    try:
        root = _root(recipe_root)
        bundle = load_bundle(root)
        plan = plan_job(bundle, name, target or _default_target(bundle), profile, root, at)
    except MlrecipesError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None
    for task in plan.tasks:
        shown = f"mlrecipes {shlex.join(task.args)}"
        click.echo(f"» {plan.key.replace('_', '-')}/{task.key}: {shown}", err=True)
        if dry_run:
            continue
        code = subprocess.run(
            [sys.executable, "-m", "mlrecipes", *task.args], check=False
        ).returncode
        if code != 0:
            click.echo(
                f"Error: job {plan.title}: task {task.key} failed (exit {code}); later tasks not run",
                err=True,
            )
            raise SystemExit(code)
    if not dry_run:
        click.echo(f"job {plan.title}: {len(plan.tasks)} task(s) done", err=True)
