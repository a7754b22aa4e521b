"""The ``mlrecipes`` command: parses arguments, calls :class:`mlrecipes.recipe.Recipe`, prints."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from mlrecipes.errors import MlrecipesError, StepError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Run declarative ML recipes (recipe.yaml + profiles + steps/*.py) on MLflow 3.",
    pretty_exceptions_enable=False,
)

ProfileOpt = Annotated[
    str,
    typer.Option(
        "--profile",
        "-p",
        envvar=["MLRECIPES_PROFILE", "MLFLOW_RECIPES_PROFILE"],
        help="Profile under profiles/ (env: MLRECIPES_PROFILE).",
    ),
]
StepOpt = Annotated[str | None, typer.Option("--step", "-s", help="Step name.")]
VarOpt = Annotated[
    list[str] | None,
    typer.Option("--var", help="Override a profile variable: KEY=VALUE (repeatable)."),
]
RootOpt = Annotated[
    Path | None,
    typer.Option("--recipe-root", help="Recipe directory (default: nearest with recipe.yaml)."),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show full tracebacks.")]


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _recipe(profile: str, root: Path | None, variables: list[str] | None, quiet: bool = False):
    from mlrecipes.config.loader import parse_var_overrides
    from mlrecipes.execution.runner import Reporter
    from mlrecipes.recipe import Recipe

    reporter = Reporter(None if quiet else _err)
    return Recipe(
        profile, root=root, variables=parse_var_overrides(variables or []), reporter=reporter
    )


def _fail(exc: BaseException, verbose: bool) -> None:
    if isinstance(exc, StepError) and exc.traceback_text:
        _err(exc.traceback_text.rstrip())
    elif verbose:
        import traceback

        _err("".join(traceback.format_exception(exc)).rstrip())
    _err(f"Error: {exc}")
    raise typer.Exit(1)


@app.command()
def run(
    profile: ProfileOpt,
    step: StepOpt = None,
    var: VarOpt = None,
    recipe_root: RootOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run the recipe up to STEP (default: register), skipping steps whose inputs did not change."""
    try:
        recipe = _recipe(profile, recipe_root, var)
        report = recipe.run(step)
    except (MlrecipesError, KeyboardInterrupt) as exc:
        if isinstance(exc, StepError):
            _err(
                f"Card: {Path(recipe.workspace.card_path(exc.step))}\n"
                f"Fix the problem, then resume with: mlrecipes run --profile {profile}"
                + (f" --step {step}" if step else "")
            )
        _fail(exc, verbose)
        return
    ran, cached = report.names("ran"), report.names("cached")
    typer.echo(
        f"Ran: {', '.join(ran) or 'nothing'}; cached: {', '.join(cached) or 'none'}; "
        f"cards: {recipe.workspace.path / 'steps'}"
    )


@app.command()
def clean(
    profile: ProfileOpt,
    step: StepOpt = None,
    recipe_root: RootOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Remove the cached outputs of STEP (default: all steps). Nothing in MLflow is deleted."""
    try:
        recipe = _recipe(profile, recipe_root, None, quiet=True)
        recipe.clean(step)
    except MlrecipesError as exc:
        _fail(exc, verbose)
    typer.echo(f"Cleaned {step or 'all steps'} of profile {profile}")


@app.command()
def inspect(
    profile: ProfileOpt,
    step: StepOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    var: VarOpt = None,
    recipe_root: RootOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show the step DAG with each step's status, or one step's card."""
    try:
        recipe = _recipe(profile, recipe_root, var, quiet=True)
        status = recipe.status(step)
    except MlrecipesError as exc:
        _fail(exc, verbose)
        return
    if as_json:
        typer.echo(json.dumps(status, indent=2, default=str))
        return
    if step is None:
        _print_dag(status)
        return
    card = recipe.card_path(step)
    entry = status["steps"][0]
    typer.echo(
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
            typer.echo(f"  {key}: {json.dumps(value, default=str)[:500]}")
    if card is None:
        typer.echo("  no card yet: run the step first")
        return
    typer.echo(f"  card: {card}")
    if _can_open_browser():
        import webbrowser

        webbrowser.open(card.as_uri())


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
    typer.echo(
        "ingest → split → transform → train → evaluate → register;  ingest_scoring → predict"
    )


@app.command("get-artifact")
def get_artifact(
    profile: ProfileOpt,
    artifact: Annotated[str, typer.Option("--artifact", "-a", help="Artifact name.")],
    recipe_root: RootOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Print where an artifact is: a local file path, or an MLflow URI for model/run/version."""
    try:
        recipe = _recipe(profile, recipe_root, None, quiet=True)
        location = recipe.artifact_location(artifact)
    except MlrecipesError as exc:
        _fail(exc, verbose)
        return
    if location is None:
        _err(f"Artifact '{artifact}' is not available yet: run its step first")
        raise typer.Exit(1)
    typer.echo(location)


@app.command("sample-data")
def sample_data(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (.csv or .parquet).")],
    rows: Annotated[int, typer.Option("--rows", "-n", min=1)] = 7043,
    seed: Annotated[int, typer.Option("--seed")] = 42,
) -> None:
    """Write a synthetic telco churn table with the IBM Telco schema and quirks."""
    from mlrecipes.datasets.telco import write_sample

    path = write_sample(out, rows=rows, seed=seed)
    typer.echo(f"Wrote {rows} rows to {path}")


def main() -> None:
    try:
        app()
    except SystemExit as exc:
        _exit_now(exc.code)
    _exit_now(0)


def _exit_now(code: object) -> None:
    """Exit without the interpreter's module teardown.

    A run leaves MLflow, SQLAlchemy, scikit-learn and matplotlib loaded; tearing them down
    takes about a second (measured: 1.0 s of a 8 s run) and does nothing useful for a process
    that is about to end. Everything a normal exit does that matters still happens: non-daemon
    threads are joined, atexit handlers run (MLflow ends its runs, logging flushes, Spark's
    gateway stops) and stdio is flushed. Every file the engine writes is closed by then.
    """
    import atexit
    import threading

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed pipe, e.g. `mlrecipes inspect | head`
            status = status or 1
    os._exit(status)


if __name__ == "__main__":
    main()
