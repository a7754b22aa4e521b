"""The options and error handling every command shares: profile, step, --var, recipe root,
--verbose; a failure is printed as one line (the traceback with --verbose) and exits 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mlrecipes.errors import MlrecipesError, StepError

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


def print_error(message: str) -> None:
    from mlrecipes.config.redaction import redact

    click.echo(redact(message), err=True)


strict_option = click.option(
    "--strict",
    is_flag=True,
    envvar="MLRECIPES_STRICT",
    show_envvar=True,
    help="Refuse keys MLflow Recipes ignored (unknown keys in its blocks): by default a warning.",
)


def open_recipe(
    profile: str,
    root: Path | None,
    variables: tuple[str, ...],
    quiet: bool = False,
    strict: bool = False,
):
    from mlrecipes.config.loader import parse_var_overrides
    from mlrecipes.execution import reporter
    from mlrecipes.recipe import Recipe

    progress = reporter(None if quiet else print_error)
    return Recipe(
        profile,
        root=root,
        variables=parse_var_overrides(variables or []),
        reporter=progress,
        strict=strict,
    )


def fail(exc: BaseException, verbose: bool) -> None:
    raise SystemExit(failure_code(exc, verbose))


def attempt(action: Callable[[], Any], verbose: bool) -> Any:
    """``action()``, or the error printed and the command ended with exit status 1."""
    try:
        return action()
    except MlrecipesError as exc:
        raise SystemExit(failure_code(exc, verbose)) from None


def failure_code(exc: BaseException, verbose: bool) -> int:
    if isinstance(exc, StepError) and exc.traceback_text:
        print_error(exc.traceback_text.rstrip())
    elif verbose:
        import traceback

        print_error("".join(traceback.format_exception(exc)).rstrip())
    print_error(f"Error: {exc}")
    return 1
