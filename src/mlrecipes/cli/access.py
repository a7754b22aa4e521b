"""``mlrecipes access apply | show``: access.yaml against an MLflow server run with
``--app-name basic-auth``, as its admin (``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mlrecipes.errors import ConfigError, MlrecipesError

uri_option = click.option(
    "--tracking-uri",
    required=True,
    envvar="MLFLOW_TRACKING_URI",
    show_envvar=True,
    help="The MLflow server (run with --app-name basic-auth).",
)
file_option = click.option(
    "--file",
    "access_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The access file (default: access.yaml beside the nearest recipe.yaml).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def _spec_path(access_file: Path | None) -> Path:
    if access_file is not None:
        return access_file
    from mlrecipes.config.paths import find_recipe_root

    return find_recipe_root() / "access.yaml"


def _run(action: Any) -> Any:
    try:
        return action()
    except (MlrecipesError, ValueError) as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None


@click.group()
def access() -> None:
    """Who may do what on each environment's experiments and models (access.yaml)."""


@access.command("apply")
@uri_option
@file_option
@click.option(
    "--environment",
    "-e",
    "environments",
    multiple=True,
    help="Only this environment (repeatable; default: all).",
)
@click.option("--dry-run", is_flag=True, help="Print the changes, make none.")
@json_option
def apply(
    tracking_uri: str,
    access_file: Path | None,
    environments: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
) -> None:
    """Make the server match access.yaml: create the users and every environment's experiments
    and registered models (before anyone else can), grant what the file says, revoke the rest.
    Idempotent: a second run changes nothing."""
    from mlrecipes.access.plan import plan
    from mlrecipes.access.spec import load_access
    from mlrecipes.tracking.access_server import AccessServer

    def work() -> list[Any]:
        spec = load_access(_spec_path(access_file))
        server = AccessServer(tracking_uri)
        state = server.state()
        try:
            changes = plan(spec, state, list(environments) or None)
        except ValueError as exc:
            raise ConfigError(f"--environment: {exc}") from None
        if not dry_run:
            server.apply(spec, changes, state)
        return changes

    changes = _run(work)
    if as_json:
        out = {"dry_run": dry_run, "changes": [c.as_dict() for c in changes]}
        click.echo(json.dumps(out, indent=2))
        return
    verb = "would change" if dry_run else "changed"
    if not changes:
        from mlrecipes.config.redaction import redact_uri

        click.echo(f"{redact_uri(tracking_uri)} matches access.yaml: nothing to change")
        return
    for change in changes:
        click.echo(change.describe())
    click.echo(f"{verb}: {len(changes)} item(s)")


@access.command("show")
@uri_option
@file_option
@json_option
def show(tracking_uri: str, access_file: Path | None, as_json: bool) -> None:
    """Who can do what on each environment's experiments and registered models, as the server
    has it, beside what access.yaml declares."""
    from mlrecipes.access.plan import matrix
    from mlrecipes.access.spec import load_access
    from mlrecipes.tracking.access_server import AccessServer

    def work() -> list[dict[str, Any]]:
        spec = load_access(_spec_path(access_file))
        return matrix(spec, AccessServer(tracking_uri).state())

    rows = _run(work)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        flag = (
            ""
            if row["matches"]
            else "   <- access.yaml: "
            + (row["declared"] or "no grant" if row["exists"] else "missing (run access apply)")
        )
        click.echo(
            f"{row['environment']:<8} {row['resource']:<16} {row['name']:<28} "
            f"{row['identity']:<18} {row['permission']}{flag}"
        )
