"""``mlrecipes init DIR --data FILE --target COL``: a complete project (recipe, five profiles,
steps, access, the jobs bundle) written for one table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlrecipes.cli.options import attempt, verbose_option

if TYPE_CHECKING:
    from mlrecipes.scaffold.init import InitPlan

# a model must score at most this much of these (errors); at least the threshold of the others
LOWER_IS_BETTER = ("root_mean_squared_error", "mean_absolute_error", "mean_squared_error")


def _ask_target(data: Path) -> str:
    """Only with a person at a terminal: the columns, then a prompt."""
    from mlrecipes.scaffold.init import read_table

    columns = list(map(str, attempt(lambda: read_table(data), False).columns))
    click.echo(f"Columns of {data}: {', '.join(columns)}")
    return click.prompt("Target column (what the model predicts)", type=click.Choice(columns))


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--data",
    "-d",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The table (.csv or .parquet); a copy goes to DIR/data/.",
)
@click.option("--target", "-t", default=None, help="The column to predict.")
@click.option("--positive-class", default=None, help="Classification: the class to detect.")
@click.option(
    "--id", "id_columns", multiple=True, help="Key column (repeatable; default: detected)."
)
@click.option("--time", "time_column", default=None, help="Snapshot time column, if any.")
@click.option(
    "--task",
    type=click.Choice(["classification", "regression"]),
    default=None,
    help="Default: binary targets are classification, other numbers regression.",
)
@click.option("--name", default=None, help="Project name (default: DIR's name).")
@click.option("--drop", multiple=True, help="A column the model must not use (repeatable).")
@click.option(
    "--no-baseline", is_flag=True, help="Skip the baseline; criteria: the majority class's scores."
)
@click.option("--dry-run", is_flag=True, help="Show the schema and the files; write nothing.")
@verbose_option
def init(
    directory: Path,
    data: Path,
    target: str | None,
    positive_class: str | None,
    id_columns: tuple[str, ...],
    time_column: str | None,
    task: str | None,
    name: str | None,
    drop: tuple[str, ...],
    no_baseline: bool,
    dry_run: bool,
    verbose: bool,
) -> None:
    """Write a complete project for the table FILE into DIR: the recipe, the five profiles
    (local, local_features, dev, staging, prod), steps/, access.yaml and the jobs bundle, with
    validation criteria read off a quick baseline on the data."""
    from mlrecipes.scaffold.init import plan_project, write_project

    if target is None:
        if not sys.stdin.isatty():
            raise click.UsageError("Missing option '--target' (the column to predict).")
        target = _ask_target(data)
    plan = attempt(
        lambda: plan_project(
            directory,
            data,
            target,
            positive_class=positive_class,
            id_columns=list(id_columns),
            time_column=time_column,
            task=task,  # type: ignore[arg-type]
            name=name,
            drop=list(drop),
            baseline=not no_baseline,
        ),
        verbose,
    )
    _say_schema(plan)
    if dry_run:
        click.echo(f"Would write into {directory}:")
        for path in sorted([*plan.files, plan.declaration.data_location]):
            click.echo(f"  {path}")
        return
    written = attempt(lambda: write_project(plan), verbose)
    click.echo(f"Wrote {len(written)} files into {directory}. Next:")
    click.echo(f"  cd {directory} && mlrecipes run --profile local")


def _say_schema(plan: InitPlan) -> None:
    spec = plan.spec
    what = (
        f"classification, positive class {spec.positive_class!r} ({spec.positive_share:.1%})"
        if spec.task == "classification"
        else "regression"
    )
    click.echo(f"{plan.data}: {spec.rows} rows; target '{spec.target}' ({what})")
    for column, role in spec.roles(plan.columns):
        click.echo(f"  {column:<24} {role}")
    criteria = ", ".join(
        f"{c['metric']} {'<=' if c['metric'] in LOWER_IS_BETTER else '>='} {c['threshold']}"
        for c in plan.declaration.criteria
    )
    click.echo(f"validation criteria: {criteria} ({plan.declaration.criteria_note})")
