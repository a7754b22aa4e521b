"""split: train / validation / test parquet files from the ingested data.

Rows go to the same split as under MLflow Recipes (splitting.py): rows with a null target are
dropped keeping the ingested index, which the hash includes; the split files get a fresh index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from mlrecipes.config.blocks import StepBlock
from mlrecipes.errors import DatasetError, UserCodeError
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.config.schema import RecipeConfig

MIN_ROWS = 4


class SplitConfig(StepBlock):
    using: Literal["split_ratios", "custom"] = "split_ratios"
    split_ratios: list[float] = Field(default_factory=lambda: [0.75, 0.125, 0.125])
    split_method: str | None = None
    post_split_filter_method: str | None = None
    post_split_method: str | None = None
    skip_data_profiling: StrictBool = False
    # new in mlrecipes: hash only these columns, so all rows of a group (a customer's snapshots)
    # share a split, and keep it as the data grows (none: MLflow Recipes' per-row hash)
    group_columns: list[str] | None = None

    @field_validator("split_ratios")
    @classmethod
    def _three_positive(cls, value: list[float]) -> list[float]:
        if len(value) != 3 or any(v <= 0 for v in value):
            raise ValueError(f"expected 3 positive numbers (train, validation, test), got {value}")
        return value

    @model_validator(mode="after")
    def _custom_needs_method(self) -> SplitConfig:
        if self.using == "custom" and not self.split_method:
            raise ValueError("using: custom needs split_method (a function in steps/split.py)")
        return self


class SplitStep(Step):
    name = "split"
    config_model = SplitConfig
    inputs = ("ingest",)
    outputs = (
        Output("train", "train.parquet", {"training_data": "frame"}),
        Output("validation", "validation.parquet", {"validation_data": "frame"}),
        Output("test", "test.parquet", {"test_data": "frame"}),
    )
    user_code_modules = ("split",)

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(config.steps.split),
            "target_col": config.target_col,
            "task": config.task,
        }

    def user_modules(self, config: RecipeConfig) -> tuple[str, ...]:
        s = config.steps.split
        uses = s.using == "custom" or s.post_split_filter_method or s.post_split_method
        return ("split",) if uses else ()

    def run(self, ctx: StepContext) -> StepResult:
        from mlrecipes.modeling import splitting

        cfg = ctx.config.steps.split
        target = ctx.config.target_col
        raw = ctx.read_frame("ingest", "dataset")
        df = raw[raw[target].notna()]  # the ingested index stays: it is part of each row's hash
        dropped = len(raw) - len(df)

        train, validation, test = splitting.partition(df, _assignment(ctx, cfg, df))
        train, validation, test = _after_split(ctx, cfg, list(df.columns), train, validation, test)
        parts = {"train": train, "validation": validation, "test": test}
        for split_name, part in parts.items():
            if len(part) < MIN_ROWS:
                raise DatasetError(
                    f"steps.split: the {split_name} split has {len(part)} rows; at least {MIN_ROWS} "
                    f"are needed (dataset has {len(df)} rows after dropping null targets)"
                )
            ctx.write_frame(split_name, part)

        card = ctx.new_card()
        summary = {
            "rows": {k: len(v) for k, v in parts.items()},
            "dropped_rows": dropped,
        }
        with ctx.card_work():
            _fill_card(card, parts, target, ctx.config.is_classification, dropped)
        return StepResult(summary=summary, card=card)


def _assignment(ctx: StepContext, cfg: SplitConfig, df: pd.DataFrame) -> pd.Series:
    """Each row's split: the user's split_method, by groups, or by ratios (stratified for
    classification)."""
    import pandas as pd

    from mlrecipes.io.user_code import call_user_function, load_function
    from mlrecipes.modeling import splitting

    target = ctx.config.target_col
    if cfg.using == "custom":
        where = f"steps/split.py:{cfg.split_method}"
        fn = load_function(ctx.root, "split", cfg.split_method or "")
        assignment = call_user_function(fn, where, df)
        _check_assignment(assignment, df, where)
        return pd.Series(assignment.to_numpy(), index=pd.RangeIndex(len(df)))
    if cfg.group_columns:
        missing = [c for c in cfg.group_columns if c not in df.columns]
        if missing:
            raise DatasetError(
                f"steps.split.group_columns: {missing} are not columns of the ingested data"
            )
        return splitting.group_split(df, cfg.group_columns, cfg.split_ratios)
    return splitting.ratio_split(
        df, target, cfg.split_ratios, stratify=ctx.config.is_classification
    )


def _after_split(
    ctx: StepContext,
    cfg: SplitConfig,
    columns: list[str],
    train: pd.DataFrame,
    validation: pd.DataFrame,
    test: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The user's post_split_method, or post_split_filter_method on the training rows."""
    import pandas as pd

    from mlrecipes.io.user_code import call_user_function, load_function

    if cfg.post_split_method:
        where = f"steps/split.py:{cfg.post_split_method}"
        fn = load_function(ctx.root, "split", cfg.post_split_method)
        result = call_user_function(fn, where, train, validation, test)
        return _check_post_split(result, columns, where)
    if cfg.post_split_filter_method:
        where = f"steps/split.py:{cfg.post_split_filter_method}"
        fn = load_function(ctx.root, "split", cfg.post_split_filter_method)
        keep = call_user_function(fn, where, train)
        if not isinstance(keep, pd.Series) or len(keep) != len(train):
            raise UserCodeError(
                f"{where} must return a boolean pandas Series with one value per training row"
            )
        train = train[keep.to_numpy(dtype=bool)].reset_index(drop=True)
    return train, validation, test


def _check_assignment(assignment: Any, df: Any, where: str) -> None:
    import pandas as pd

    from mlrecipes.modeling.splitting import SPLIT_VALUES

    if not isinstance(assignment, pd.Series):
        raise UserCodeError(
            f"{where} must return a pandas Series of TRAINING/VALIDATION/TEST, "
            f"got {type(assignment).__name__}"
        )
    if not assignment.index.equals(df.index):
        raise UserCodeError(f"{where} must return a Series aligned on the input's index")
    bad = sorted(set(assignment.unique()) - set(SPLIT_VALUES), key=str)
    if bad:
        raise UserCodeError(f"{where} returned values {bad}; expected only {list(SPLIT_VALUES)}")


def _check_post_split(result: Any, columns: list[str], where: str) -> tuple:
    import pandas as pd

    if not (
        isinstance(result, tuple)
        and len(result) == 3
        and all(isinstance(p, pd.DataFrame) for p in result)
    ):
        raise UserCodeError(
            f"{where} must return a tuple of 3 DataFrames (train, validation, test)"
        )
    for part in result:
        if list(part.columns) != columns:
            raise UserCodeError(f"{where} must not change the columns; expected {columns}")
    return tuple(p.reset_index(drop=True) for p in result)


def _fill_card(card: Any, parts: dict, target: str, classification: bool, dropped: int) -> None:
    import pandas as pd

    from mlrecipes.cards.profiles import data_profile_tab
    from mlrecipes.modeling.splitting import drifting_columns

    if classification:
        balance = pd.DataFrame(
            {
                name: part[target].astype(str).value_counts(normalize=True)
                for name, part in parts.items()
            }
        ).fillna(0.0)
        balance.insert(0, "class", balance.index)
        card.tab("Class Balance").table(balance.round(4), title="Share of each class per split")
    drift_rows = []
    for other in ("validation", "test"):
        for column, measure, value in drifting_columns(parts["train"], parts[other]):
            drift_rows.append(
                {"split": other, "column": column, "measure": measure, "value": value}
            )
    drift_tab = card.tab("Drift Between Splits")
    if drift_rows:
        drift_tab.table(pd.DataFrame(drift_rows), title="Columns that differ from the train split")
    else:
        drift_tab.text(
            "No column differs noticeably between train and validation/test (KS or TV > 0.1)."
        )
    for name, part in parts.items():
        card.tabs.append(data_profile_tab(part, name=f"Profile ({name})"))
    card.tab("Run Summary").kv(
        {
            "Number of training rows": len(parts["train"]),
            "Number of validation rows": len(parts["validation"]),
            "Number of test rows": len(parts["test"]),
            "Number of dropped rows (null target)": dropped,
        }
    )
