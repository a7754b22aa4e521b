"""``mlrecipes migrate registry``: an MLflow 2 registry's stages become MLflow 3 aliases."""

from __future__ import annotations

from pathlib import Path

import click

from mlrecipes.cli.options import attempt, verbose_option


@click.group()
def migrate() -> None:
    """Bring what MLflow 2 / MLflow Recipes left behind to MLflow 3."""


@migrate.command("registry")
@click.option("--from-uri", required=True, help="The MLflow 2 registry (sqlite:///…, http://…).")
@click.option(
    "--to-uri",
    default=None,
    help="Copy the staged versions into this registry instead (default: alias them in place).",
)
@click.option(
    "--stage-alias",
    "stage_aliases",
    multiple=True,
    metavar="STAGE=ALIAS",
    help="Which alias a stage becomes (repeatable; default Production=champion, "
    "Staging=challenger; naming any replaces the default).",
)
@click.option("--model", "models", multiple=True, help="Only this registered model (repeatable).")
@click.option(
    "--training-data",
    "training_data",
    multiple=True,
    metavar="[MODEL=]FILE",
    help="The rows a model trained on (.csv/.parquet, e.g. MLflow Recipes' split output "
    "train.parquet): recorded so that deploy can prove its holdout clean against it.",
)
@click.option("--key", "key_columns", multiple=True, help="Key column of those rows (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the moves; change nothing.")
@verbose_option
def registry(
    from_uri: str,
    to_uri: str | None,
    stage_aliases: tuple[str, ...],
    models: tuple[str, ...],
    training_data: tuple[str, ...],
    key_columns: tuple[str, ...],
    dry_run: bool,
    verbose: bool,
) -> None:
    """Give each registered model's Production version the champion alias and its Staging
    version the challenger alias; tag what was done (mlrecipes.migrated_from_stage).

    A model MLflow Recipes registered is re-logged as a new version MLflow 3 can load (the same
    fitted pipeline, predicting as before), and the alias goes there. Running it again changes
    nothing; a stage two versions hold, or an alias already pointing elsewhere, is refused
    before anything is written.
    """

    def go() -> None:
        from mlrecipes.deployment.stages import parse_stage_aliases
        from mlrecipes.tracking.stage_migration import Migration, migrate_registry

        job = Migration(
            from_uri=from_uri,
            to_uri=to_uri,
            stage_aliases=parse_stage_aliases(stage_aliases),
            models=models,
            dry_run=dry_run,
            training_data=_training_data(training_data, models),
            key_columns=key_columns,
        )
        migrate_registry(job, click.echo)

    attempt(go, verbose)


def _training_data(given: tuple[str, ...], models: tuple[str, ...]) -> dict[str, Path]:
    from mlrecipes.errors import ConfigError

    found: dict[str, Path] = {}
    for item in given:
        model, sep, file = item.rpartition("=")
        if not sep:
            if len(models) != 1:
                raise ConfigError(
                    f"--training-data {item}: say which model's rows these are (MODEL=FILE), "
                    "or migrate one model (--model NAME)"
                )
            model = models[0]
        found[model] = Path(file)
    return found
