"""``mlrecipes demo reset``: the seed demo's demo-setup for one environment."""

from __future__ import annotations

from pathlib import Path

import click

from mlrecipes.errors import MlrecipesError


@click.group()
def demo() -> None:
    """The seed demo's set-up."""


@demo.command("reset")
@click.option("--profile", "-p", required=True, help="Profile under profiles/.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--i-know", "i_know", is_flag=True, help="Allow resetting prod.")
@click.option(
    "--recipe-root", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Recipe directory (default: nearest with recipe.yaml).",
)  # fmt: skip
def reset_command(profile: str, yes: bool, i_know: bool, recipe_root: Path | None) -> None:
    """Remove the profile's experiments, registered model (every version and alias), feature
    tables, scoring output, monitoring tables and execution directory. Idempotent."""
    from mlrecipes.access.protection import protected_profile
    from mlrecipes.config.paths import find_recipe_root
    from mlrecipes.demo.reset import reset, reset_plan
    from mlrecipes.execution import reporter
    from mlrecipes.recipe import Recipe

    try:
        root = find_recipe_root(recipe_root)
        if protected_profile(root, profile) and not i_know:
            click.echo(f"Error: refusing to reset '{profile}' without --i-know", err=True)
            raise SystemExit(1)
        recipe = Recipe(profile, root=root, reporter=reporter(None))
        plan = reset_plan(recipe)
        click.echo(f"demo reset of profile '{profile}' removes:", err=True)
        for line in plan.describe():
            click.echo(f"  {line}", err=True)
        if plan.protected and not i_know:
            click.echo(
                f"Error: refusing to reset '{profile}' without --i-know: it would delete what a "
                "protected environment owns: " + "; ".join(plan.protected),
                err=True,
            )
            raise SystemExit(1)
        if not yes and not click.confirm("Remove all of it?", default=False, err=True):
            click.echo("nothing removed", err=True)
            raise SystemExit(1)
        removed = reset(recipe, plan)
    except MlrecipesError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"removed {len(removed)} item(s)" + "".join(f"\n  {r}" for r in removed))


@demo.command("play")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"),
    show_default=True, help="Where the report, summary, logs and the working copy go (replaced).",
)  # fmt: skip
@click.option("--customers", type=click.IntRange(min=500), default=2000, show_default=True)
@click.option("--months", type=click.IntRange(min=5), default=6, show_default=True)
@click.option(
    "--recipe-root", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="The project whose template is played (default: nearest with recipe.yaml).",
)  # fmt: skip
def play_command(out: Path, customers: int, months: int, recipe_root: Path | None) -> None:
    """The seed's demo, month by month, on a real basic-auth MLflow server started here (and
    stopped, whatever happens): steady state, drift, the trigger, the data scientist's change
    through staging, the release, the recovery. Writes OUT/report.html and OUT/summary.json."""
    from mlrecipes.config.paths import find_recipe_root
    from mlrecipes.demo.story import play

    try:
        summary = play(find_recipe_root(recipe_root), out.resolve(), customers, months,
                       say=lambda line: click.echo(line, err=True))  # fmt: skip
    except MlrecipesError as exc:
        click.echo(f"Error: {exc}\n(every command's output: {out / 'commands.log'})", err=True)
        raise SystemExit(1) from None
    click.echo(f"report: {out / 'report.html'}\nsummary: {out / 'summary.json'} "
               f"({summary['seconds']} s)")  # fmt: skip
