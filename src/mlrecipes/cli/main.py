"""The ``mlrecipes`` command: parses arguments, calls :class:`mlrecipes.recipe.Recipe`, prints.

Plain click: a fully cached run takes ~0.2 s, and typer's per-call parameter adapters (pydantic)
cost half of that. Each command group lives in its own module of this package.
"""

from __future__ import annotations

from pathlib import Path

import click

from mlrecipes._version import __version__
from mlrecipes.cli.options import print_error
from mlrecipes.errors import MlrecipesError
from mlrecipes.process.exit import exit_quickly_at_end, leave


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    no_args_is_help=True,
)
@click.version_option(__version__, "--version", "-V", prog_name="mlrecipes")
def app() -> None:
    """Run declarative ML recipes (recipe.yaml + profiles + steps/*.py) on MLflow 3."""


@app.command("sample-data")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="File to write (.csv or .parquet); with --months, the folder.",
)
@click.option("--rows", "-n", type=click.IntRange(min=1), default=7043, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--months",
    type=click.IntRange(min=1),
    default=None,
    help="Write monthly snapshots (one CSV per month, with snapshot_date) into the folder OUT.",
)
@click.option(
    "--drift-from",
    type=click.IntRange(min=0),
    default=None,
    help="With --months: from this month on (0-based) the world changes: pricier fiber, contracts "
    "moving to month-to-month, mailed-check payers churning more.",
)
@click.option(
    "--labels",
    is_flag=True,
    help="With --months: also write OUT/labels.csv, each month's outcomes as they arrive a month "
    "later (customerID, Churn, labelled_at).",
)
def sample_data(
    out: Path, rows: int, seed: int, months: int | None, drift_from: int | None, labels: bool
) -> None:
    """Write a synthetic telco churn table with the IBM Telco schema and quirks."""
    if months is None and (drift_from is not None or labels):
        raise click.UsageError("--drift-from and --labels need --months")
    if months is None and out.is_dir():
        raise click.UsageError(f"--out {out} is a folder; a file is expected (or give --months)")
    if months is not None and (drift_from is not None or labels):
        from mlrecipes.sample_data.drifted import write_drifted_months

        if drift_from is not None and drift_from >= months:
            raise click.UsageError(f"--drift-from {drift_from}: months are 0..{months - 1}")
        paths = write_drifted_months(out, rows, months, drift_from, seed, labels)
        drift = "" if drift_from is None else f", drifted from month {drift_from}"
        click.echo(f"Wrote {months} monthly snapshots of {rows} customers to {out}{drift}")
        for path in paths:
            click.echo(f"  {path}")
        return
    if months is not None:
        from mlrecipes.sample_data.telco import write_snapshots

        paths = write_snapshots(out, rows=rows, months=months, seed=seed)
        click.echo(f"Wrote {months} monthly snapshots of {rows} customers to {out}")
        for path in paths:
            click.echo(f"  {path}")
        return
    from mlrecipes.sample_data.telco import write_sample

    path = write_sample(out, rows=rows, seed=seed)
    click.echo(f"Wrote {rows} rows to {path}")


def _add_commands() -> None:
    from mlrecipes.cli.init import init
    from mlrecipes.cli.inspect import get_artifact, inspect
    from mlrecipes.cli.loop import approve, champion, reject, retrain, rollback
    from mlrecipes.cli.run import clean, run
    from mlrecipes.cli.serve import serve, ui

    for command in (
        init,
        run,
        clean,
        inspect,
        get_artifact,
        approve,
        reject,
        rollback,
        champion,
        retrain,
        serve,
        ui,
    ):
        app.add_command(command)


def _add_groups() -> None:
    from mlrecipes.cli.access import access
    from mlrecipes.cli.demo import demo
    from mlrecipes.cli.jobs import job
    from mlrecipes.cli.migrate import migrate

    app.add_command(access)
    app.add_command(migrate)
    app.add_command(demo)
    app.add_command(job)


_add_commands()
_add_groups()


def main() -> None:
    exit_quickly_at_end()
    try:
        app(prog_name="mlrecipes")
    except SystemExit as exc:
        leave(exc.code)
    except MlrecipesError as exc:  # raised outside a command's own handling: still one line
        print_error(f"Error: {exc}")
        leave(1)
    except KeyboardInterrupt:
        leave(130)
    except Exception:  # noqa: BLE001 - a bug: its traceback, and never exit status 0
        import traceback

        traceback.print_exc()
        leave(1)
    leave(0)
