"""The production loop's commands around deploy: approve, reject, rollback, champion, retrain.
Each is a thin wrapper over a public Python function that notebooks can call too."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlrecipes.cli.options import (
    attempt,
    open_recipe,
    profile_option,
    root_option,
    var_option,
    verbose_option,
)


@click.command()
@profile_option
@click.option(
    "--version", "version", required=True, type=click.IntRange(min=1),
    help="The model version to promote.",
)  # fmt: skip
@click.option("--reason", default=None, help="Why (required for a version that was rolled back).")
@root_option
@verbose_option
def approve(
    profile: str, version: int, reason: str | None, recipe_root: Path | None, verbose: bool
) -> None:
    """Approve a deploy decision waiting for approval: VERSION becomes champion."""
    replaced = attempt(
        lambda: open_recipe(profile, recipe_root, ()).approve(str(version), reason), verbose
    )
    click.echo(f"version {version} is champion" + (f" (was {replaced})" if replaced else ""))


@click.command()
@profile_option
@click.option(
    "--version", "version", required=True, type=click.IntRange(min=1),
    help="The model version to refuse.",
)  # fmt: skip
@click.option("--reason", default="rejected by a reviewer", show_default=True)
@root_option
@verbose_option
def reject(
    profile: str, version: int, reason: str, recipe_root: Path | None, verbose: bool
) -> None:
    """Refuse a deploy decision waiting for approval (recorded on the version)."""
    attempt(lambda: open_recipe(profile, recipe_root, ()).reject(str(version), reason), verbose)
    click.echo(f"version {version} rejected: {reason}")


@click.command()
@profile_option
@click.option("--reason", default="rollback", show_default=True)
@root_option
@verbose_option
def rollback(profile: str, reason: str, recipe_root: Path | None, verbose: bool) -> None:
    """Move the champion alias back to the previous champion."""
    champion, previous = attempt(
        lambda: open_recipe(profile, recipe_root, ()).rollback(reason), verbose
    )
    click.echo(f"version {champion} is champion again (rolled back from {previous})")


@click.command()
@profile_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@root_option
@verbose_option
def champion(profile: str, as_json: bool, recipe_root: Path | None, verbose: bool) -> None:
    """Show the champion and every deploy decision: who, when, why, which version."""
    info = attempt(lambda: open_recipe(profile, recipe_root, (), quiet=True).champion(), verbose)
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    aliases = ", ".join(f"{a} → v{v}" for a, v in sorted(info["aliases"].items())) or "none"
    click.echo(f"{info['model_name']}: {aliases}")
    for event in info["history"]:
        what = event.get("decision") or event.get("event")
        declared = f" (declared: {event['declared_by']})" if event.get("declared_by") else ""
        click.echo(
            f"  {event['at']}  v{event['version']}  {what:<16} by {event['by']}{declared}: "
            f"{event.get('reason') or '(no reason recorded)'}"
        )


@click.command()
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
    from mlrecipes.loop.retrain import retrain as run_trigger

    result = attempt(
        lambda: run_trigger(open_recipe(profile, recipe_root, variables), dry_run), verbose
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
