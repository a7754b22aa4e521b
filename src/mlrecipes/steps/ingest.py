"""ingest: read the training data into ``dataset.parquet`` (csv, parquet, delta, custom loader)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlrecipes.config.loader import LoadedRecipe
from mlrecipes.config.schema import IngestConfig, RecipeConfig
from mlrecipes.errors import ConfigError
from mlrecipes.steps.base import Step, StepContext, StepResult, dump
from mlrecipes.steps.outputs import DATASET


class IngestStep(Step):
    name = "ingest"
    block = "ingest"
    output = DATASET

    def block_config(self, config: RecipeConfig) -> IngestConfig:
        cfg = getattr(config.steps, self.block)
        if cfg is None:
            raise ConfigError(f"recipe.yaml: steps.{self.block} is required to run '{self.name}'")
        return cfg

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(getattr(config.steps, self.block)),
            "target_col": config.target_col,
            "task": config.task,
            "positive_class": config.positive_class,
        }

    def user_modules(self, config: RecipeConfig) -> tuple[str, ...]:
        cfg = getattr(config.steps, self.block)
        return ("ingest",) if cfg is not None and cfg.loader_method else ()

    def source_fingerprint(
        self, recipe: LoadedRecipe, previous: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        from mlrecipes.io.fingerprint import fingerprint

        return fingerprint(self.block_config(recipe.config), recipe.root, self.block, previous)

    def watched_paths(self, recipe: LoadedRecipe) -> list[Path]:
        from mlrecipes.io.fingerprint import resolve_sources, source_locations

        cfg = self.block_config(recipe.config)
        sources = resolve_sources(cfg, recipe.root, self.block)
        paths = [*source_locations(cfg, recipe.root), *sources.paths]
        if sources.is_delta:
            paths.extend(p / "_delta_log" for p in sources.paths)
        return paths

    def check(self, df: Any, config: RecipeConfig) -> None:
        from mlrecipes.data_checks import check_numeric_columns, check_target

        where = f"steps.{self.block}"
        check_target(df, config.target_col, config.task, config.positive_class, where)
        check_numeric_columns(df, where, skip=(config.target_col,))

    def run(self, ctx: StepContext) -> StepResult:
        from mlrecipes.cards.profiles import data_profile_tab, preview_tab, schema_tab
        from mlrecipes.io.datasets import read_dataset

        cfg = self.block_config(ctx.config)
        df = read_dataset(cfg, ctx.root, self.block)
        self.check(df, ctx.config)
        _write_dataset(ctx, self.output, df, self.block)

        card = ctx.new_card()
        with ctx.card_work():
            if not cfg.skip_data_profiling:
                card.tabs.append(data_profile_tab(df))
            card.tabs.append(schema_tab(df))
            card.tabs.append(preview_tab(df))
            card.tab("Run Summary").kv(
                {
                    "Number of rows ingested": len(df),
                    "Number of columns": len(df.columns),
                    "Dataset source location": cfg.location,
                    "Format": cfg.using,
                }
            )
        return StepResult(
            summary={"rows": len(df), "columns": list(map(str, df.columns))}, card=card
        )


def _write_dataset(ctx: StepContext, name: str, df: Any, block: str) -> None:
    from mlrecipes.errors import DatasetError

    try:
        ctx.write_frame(name, df)
    except Exception as exc:
        bad = _mixed_type_columns(df)
        detail = f"; columns with mixed value types: {bad}" if bad else ""
        raise DatasetError(
            f"steps.{block}: could not store the ingested data as parquet: {exc}{detail}"
        ) from exc


def _mixed_type_columns(df: Any) -> list[str]:
    bad = []
    for column in df.columns:
        if df[column].dtype == object:
            kinds = {type(v).__name__ for v in df[column].dropna().head(10000)}
            if len(kinds) > 1:
                bad.append(str(column))
    return bad
