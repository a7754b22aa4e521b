"""``mlrecipes serve`` and ``mlrecipes ui``: MLflow's scoring server and UI for a profile, in one
command each, from this installation (no activated venv needed). Both run until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import click

from mlrecipes.cli.options import (
    attempt,
    open_recipe,
    print_error,
    profile_option,
    root_option,
    var_option,
    verbose_option,
)

host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)


@click.command()
@profile_option
@click.option("--alias", default=None, help="Serve the version this alias points at.")
@click.option("--version", type=click.IntRange(min=1), default=None, help="Serve this version.")
@host_option
@click.option("--port", type=click.IntRange(1, 65535), default=5001, show_default=True)
@var_option
@root_option
@verbose_option
def serve(
    profile: str,
    alias: str | None,
    version: int | None,
    host: str,
    port: int,
    variables: tuple[str, ...],
    recipe_root: Path | None,
    verbose: bool,
) -> None:
    """Serve a registered version over REST (MLflow's scoring server: POST /invocations).
    Default: what batch scoring uses now (the champion, under the profile's approval rule)."""
    from mlrecipes.loop.serving import serve_command

    if alias and version:
        raise click.UsageError("give --alias or --version, not both")
    recipe = open_recipe(profile, recipe_root, variables, quiet=True)
    command = attempt(lambda: serve_command(recipe, alias, version, host, port), verbose)
    print_error(command.says)
    command.exec()


@click.command()
@profile_option
@host_option
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@var_option
@root_option
@verbose_option
def ui(
    profile: str,
    host: str,
    port: int,
    variables: tuple[str, ...],
    recipe_root: Path | None,
    verbose: bool,
) -> None:
    """Open MLflow's UI on the profile's tracking store (its runs, models and cards)."""
    from mlrecipes.loop.serving import ui_command

    recipe = open_recipe(profile, recipe_root, variables, quiet=True)
    command = attempt(lambda: ui_command(recipe, host, port), verbose)
    if isinstance(command, str):
        click.echo(command)
        return
    print_error(command.says)
    command.exec()
