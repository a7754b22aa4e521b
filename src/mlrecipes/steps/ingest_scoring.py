"""ingest_scoring: copy the data to score into ``scoring-dataset.parquet`` (ingest's schema).

csv, parquet and delta sources are streamed batch by batch, so a table of any size is copied in
bounded memory; custom loaders (and sampled sources) are read whole, as ingest reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrecipes.io.sources import FEATURE_STORE, IngestConfig
from mlrecipes.steps.base import Output, Step, StepContext, StepResult

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig

STREAM_BATCH_ROWS = 100_000


class IngestScoringStep(Step):
    name = "ingest_scoring"
    config_model = IngestConfig
    config_required = True
    outputs = (
        Output("dataset", "scoring-dataset.parquet", {"ingested_scoring_data": "frame"}),
        # using: feature_store only: the model version whose feature spec built the rows
        # (predict scores with exactly that version)
        Output("scoring_model", "scoring_model.json"),
    )
    user_code_modules = ("ingest",)
    pipeline = "scoring"

    def source_block(self, config: RecipeConfig) -> IngestConfig:
        return self.block(config)

    def source_fingerprint(self, recipe: Any, previous: dict[str, Any] | None) -> Any:
        """A feature-store batch is its keys, the tables' versions and the model deciding the
        features (the version behind the alias now)."""
        cfg = self.block(recipe.config)
        if cfg.using != FEATURE_STORE:
            return super().source_fingerprint(recipe, previous)
        from mlrecipes.features.recipe_store import store_for
        from mlrecipes.io.fingerprint import fingerprint as file_fingerprint

        assert cfg.spine is not None
        files = []
        if cfg.spine.table is not None:
            info = store_for(recipe).info(cfg.spine.table)
            files.append({"table": info.name, "path": info.location, "delta_version": info.version})
        else:
            files += file_fingerprint(cfg.spine.as_source(), recipe.root, self.name)["files"]
        resolved = _scoring_model(recipe)
        files.append(
            {"model": resolved.uri, "name": resolved.name, "version": resolved.version,
             "alias": resolved.alias}
        )  # fmt: skip
        store = store_for(recipe)
        for name in store.tables():
            info = store.info(name)
            files.append({"table": name, "path": info.location, "delta_version": info.version})
        return {"files": files}

    def watched_paths(self, recipe: Any) -> list[Any]:
        cfg = self.block(recipe.config)
        if cfg.using != FEATURE_STORE:
            return super().watched_paths(recipe)
        return []  # the model behind an alias can change: no up-to-date shortcut

    def run(self, ctx: StepContext) -> StepResult:
        """Scoring data has no target to check; its columns are checked against the model in
        predict."""
        from mlrecipes.cards.profiles import dataset_tabs

        cfg = self.block(ctx.config)
        if cfg.using == FEATURE_STORE:
            head, rows = _from_feature_store(ctx, cfg)
        elif cfg.loader_method or cfg.sample_fraction is not None:
            from mlrecipes.io.datasets import dataset_write_errors, read_dataset

            df = read_dataset(cfg, ctx.root, self.name, ctx.download).reset_index(drop=True)
            with dataset_write_errors(df, self.name):
                ctx.write_frame("dataset", df)
            head, rows = df, len(df)
        else:
            head, rows = _stream_copy(cfg, ctx.root, ctx.output_path("dataset"), self.name)
        from mlrecipes.modeling.data_checks import check_declared_numeric

        # Streamed data is checked on its first rows (where a column delivered as words shows);
        # predict checks every row against the model's signature.
        check_declared_numeric(head, cfg.numeric_columns, "steps.ingest_scoring")
        card = ctx.new_card()
        with ctx.card_work():
            name = "Data Profile" if len(head) == rows else "Data Profile (first 10,000 rows)"
            dataset_tabs(card, head, rows, cfg, profile_name=name)
        return StepResult(
            summary={
                "rows": rows,
                "columns": list(map(str, head.columns)),
                "location": cfg.location,
            },
            card=card,
        )


def _scoring_model(recipe: Any) -> Any:
    """The model predict will use: ``predict.model_uri``, else the champion (else the register
    alias), resolved to one version."""
    from mlrecipes.config.tracking import resolve_tracking
    from mlrecipes.steps.deploy import scoring_policy
    from mlrecipes.tracking.client import Tracker
    from mlrecipes.tracking.models import resolve_scoring_model

    config = recipe.config
    predict = config.steps.predict
    return resolve_scoring_model(
        Tracker(resolve_tracking(recipe)),
        predict.model_uri if predict is not None else None,
        config.model_name or "",
        config.steps.register.alias,
        scoring_policy(config),
    )


def _keyed_model(ctx: StepContext) -> Any:
    """The model version this run's cache key was computed with (resolved once, when the key
    was: the alias may move in between, and the rows must be looked up for the keyed one)."""
    from mlrecipes.tracking.models import ResolvedModel

    for entry in (ctx.source or {}).get("files", []):
        if "model" in entry and "name" in entry:
            return ResolvedModel(entry["model"], entry["name"], entry["version"], entry["alias"])
    return None


def _from_feature_store(ctx: StepContext, cfg: IngestConfig) -> tuple[Any, int]:
    """The keys (spine) with the features the model's own spec names, looked up now."""
    from mlrecipes.errors import DatasetError
    from mlrecipes.features.recipe_store import read_spine, store_for
    from mlrecipes.features.spec import FeatureSpec
    from mlrecipes.features.training_set import features_for_keys
    from mlrecipes.io.datasets import dataset_write_errors
    from mlrecipes.tracking.models import feature_spec_of

    resolved = _keyed_model(ctx) or _scoring_model(ctx.recipe)
    model_uri = f"models:/{resolved.name}/{resolved.version}" if resolved.version else resolved.uri
    spec = feature_spec_of(ctx.tracker().load_model(model_uri))
    if spec is None:
        raise DatasetError(
            f"steps.ingest_scoring: {resolved.describe()} was not trained from feature tables (it "
            "has no feature spec), so its features cannot be looked up by key; score full rows "
            "(using: csv, parquet or delta) instead"
        )
    keys = read_spine(cfg, ctx.recipe, ctx.step)
    result = features_for_keys(store_for(ctx.recipe), keys, FeatureSpec.from_json(spec), cfg.as_of)
    for table, count in result.missing.items():
        if count:
            ctx.log(f"{count} keys found no snapshot in '{table}': their features are null")
    if cfg.on_missing == "error" and any(result.missing.values()):
        raise DatasetError(f"steps.ingest_scoring: keys without features {result.missing}")
    df = result.frame.reset_index(drop=True)
    with dataset_write_errors(df, ctx.step):
        ctx.write_frame("dataset", df)
    ctx.write_json(
        "scoring_model",
        {"model_uri": model_uri, "name": resolved.name, "version": resolved.version,
         "alias": resolved.alias, "lineage": result.feature_spec.lineage(),
         "missing_lookups": result.missing},
    )  # fmt: skip
    return df, len(df)


def _stream_copy(cfg: IngestConfig, root: Path, path: Path, block: str) -> tuple[Any, int]:
    """Copy the source into ``path`` batch by batch; the first 10,000 rows come back for the card."""
    import pyarrow.parquet as pq

    from mlrecipes.io.batches import copy_to_parquet, iter_source_batches
    from mlrecipes.process.memory import returnable_memory

    with returnable_memory():
        rows, _ = copy_to_parquet(
            iter_source_batches(cfg, root, block, STREAM_BATCH_ROWS),
            path,
            block,
            source=str(cfg.location),
        )
    head = next(pq.ParquetFile(path).iter_batches(batch_size=10_000)).to_pandas()
    return head, rows
