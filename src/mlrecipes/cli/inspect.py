"""``inspect`` and ``get-artifact``: what a person (or a script, with --json) reads of a run."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from mlrecipes.cli.options import (
    fail,
    open_recipe,
    print_error,
    profile_option,
    root_option,
    step_option,
    var_option,
    verbose_option,
)
from mlrecipes.errors import MlrecipesError


@click.command()
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
        recipe = open_recipe(profile, recipe_root, variables, quiet=True)
        status = recipe.status(step)
    except MlrecipesError as exc:
        fail(exc, verbose)
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
    if _is_status_table(value):  # monitoring: one row per column or metric, with its status
        width = max(len(str(n)) for n in value)
        lines = [f"  {key}:"]
        for name, entry in value.items():
            metric = f"{entry['metric']:<18}" if "metric" in entry else ""
            lines.append(
                f"    {name!s:<{width}}  {metric}{_number(entry.get('value')):>10}  "
                f"{entry.get('status', '')}"
            )
        return "\n".join(lines)
    return f"  {key}: {json.dumps(value, default=str)}"


def _is_status_table(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(v, dict) and "value" in v and "status" in v for v in value.values())
    )


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
    from mlrecipes.execution import describe_dag

    click.echo(describe_dag())


@click.command("get-artifact")
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
        recipe = open_recipe(profile, recipe_root, (), quiet=True)
        location = recipe.artifact_location(artifact)
    except MlrecipesError as exc:
        fail(exc, verbose)
        return
    if location is None:
        print_error(f"Artifact '{artifact}' is not available yet: run its step first")
        raise SystemExit(1)
    click.echo(location)
