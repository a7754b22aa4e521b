"""deploy: compare the version just registered (the challenger) with the ``champion`` on a holdout
neither trained on, and promote it only when it is better beyond doubt.

Both models are scored through their registered pyfunc (``models:/<name>/<version>``). The
holdout is the challenger's test split, or ``deploy.holdout`` (a labelled dataset); it must
hold none of the rows either model trained on (checked against the row hashes train records),
else the step refuses. The decision (deployment/decision.py): a VALIDATED challenger whose
primary metric beats the champion's by at least ``min_improvement`` with the paired bootstrap
interval of the improvement above 0; with no champion, the first VALIDATED model becomes
champion. ``approval: manual`` leaves the move to ``mlrecipes approve``.

MLflow 3's ``mlflow.validate_evaluation_results`` with ``MetricThreshold`` is not used for the
gate: its ``min_absolute_change`` must be > 0 (a margin of 0 cannot be said) and it has no notion
of an interval; the rule is a pure function instead, tested on its own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, PositiveInt

from mlrecipes.config.blocks import StepBlock
from mlrecipes.errors import DatasetError, DeploymentError, MissingArtifactError
from mlrecipes.io.sources import IngestConfig
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.config.loader import LoadedRecipe
    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.deployment.bootstrap import PairedDifference
    from mlrecipes.deployment.scoring import ScoringPolicy
    from mlrecipes.tracking.client import Tracker
from mlrecipes.steps._deploy_card import _fill_card
from mlrecipes.steps._deploy_registry import _apply, _decided_by, _registry_facts
from mlrecipes.steps._deploy_scoring import _compare, _reported, _score


class DeployConfig(StepBlock):
    approval: Literal["auto", "manual"] = "auto"
    # how much better (in the primary metric's own units) the challenger must be
    min_improvement: float = Field(default=0.0, ge=0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    resamples: PositiveInt = Field(default=1000, ge=1000)
    seed: int = 0
    # columns identifying a row (e.g. customerID): the holdout check goes by them; without them
    # by whole rows
    key_columns: list[str] = Field(default_factory=list)
    # a labelled dataset to compare on (default: the challenger's test split)
    holdout: IngestConfig | None = None


class DeployStep(Step):
    name = "deploy"
    config_model = DeployConfig
    config_required = True
    inputs = ("split", "train", "evaluate", "register")
    outputs = (Output("decision", "decision.json", {"deployment_decision": "text"}),)
    user_code_modules = ("ingest", "custom_metrics")
    uses_tracking = True

    def source_block(self, config: RecipeConfig) -> IngestConfig | None:
        deploy = config.steps.deploy
        return deploy.holdout if deploy is not None else None

    def user_modules(self, config: RecipeConfig) -> tuple[str, ...]:
        custom = config.primary in {m.name for m in config.custom_metrics}
        return (*super().user_modules(config), *(("custom_metrics",) if custom else ()))

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(config.steps.deploy),
            "target_col": config.target_col,
            "task": config.task,
            "positive_class": config.positive_class,
            "primary_metric": config.primary,
            "custom_metrics": [dump(m) for m in config.custom_metrics],
            "model_name": config.model_name,
        }

    def watched_after(self, recipe: LoadedRecipe) -> list[Path] | None:
        """The registry's file (SQLite): a hand edit there (a champion deleted or moved) takes
        the next run past the up-to-date shortcut, to :meth:`external_outputs_problem`. A registry
        server cannot be watched by a file: no shortcut."""
        from mlrecipes.config.tracking import resolve_tracking
        from mlrecipes.tracking.settings import sqlite_path

        path = sqlite_path(resolve_tracking(recipe).registry_uri)
        return [path] if path is not None else None

    def external_outputs_problem(self, recipe: LoadedRecipe, state: Any) -> str | None:
        """Deploy's result is the champion it left: a champion since deleted or moved (by hand,
        by another runner) makes it decide again, and say so."""
        problem = super().external_outputs_problem(recipe, state)
        if problem:
            return problem
        from mlrecipes.config.tracking import resolve_tracking
        from mlrecipes.tracking.client import Tracker

        name = recipe.config.model_name or ""
        left = state.summary.get("champion_version")
        now = Tracker(resolve_tracking(recipe)).aliases(name).get("champion")
        if now == left:
            return None
        if now is None:
            return f"the champion v{left} deploy left is no longer in the registry"
        return f"the registry's champion is v{now}, not v{left} as deploy left it"

    def run(self, ctx: StepContext) -> StepResult:
        from mlrecipes.tracking.lease import registry_lease

        cfg: DeployConfig = self.block(ctx.config)
        registered = ctx.read_json("register", "registered_model_version")
        name = registered["registered_model_name"]
        version = str(registered["registered_model_version"])
        status = ctx.read_text("evaluate", "model_validation_status")
        holdout = _holdout(ctx, cfg)
        tracker = ctx.tracker()
        with registry_lease(tracker, name, "deploy", say=ctx.log):
            return self._decide(ctx, cfg, name, version, status, holdout, tracker)

    def _decide(
        self,
        ctx: StepContext,
        cfg: DeployConfig,
        name: str,
        version: str,
        status: str,
        holdout: pd.DataFrame,
        tracker: Tracker,
    ) -> StepResult:
        """Compare, decide and apply, under the deploy lease: another checkout's deploy,
        approve or rollback waits, so the champion replaced is the one compared with."""
        from mlrecipes.deployment.decision import decide
        from mlrecipes.deployment.holdout import fingerprint
        from mlrecipes.tracking import aliases as reg

        config = ctx.config
        with ctx.critical_section():
            reg.settle_interrupted(tracker, name, ctx.log)
        champion = tracker.aliases(name).get(reg.CHAMPION)
        _check_clean(holdout, _local_rows(ctx), cfg.key_columns, f"challenger v{version}")
        challenger = _score(tracker, config, name, version, holdout)
        comparison = champion_scored = None
        if champion is not None and champion != version:
            rows = _champion_rows(ctx, name, champion)
            _check_clean(holdout, rows, cfg.key_columns, f"champion v{champion}")
            champion_scored = _score(tracker, config, name, champion, holdout)
            comparison = _compare(
                ctx, (cfg.resamples, cfg.confidence, cfg.seed), holdout, champion_scored, challenger
            )
        decision = decide(
            status,
            comparison,
            cfg.min_improvement,
            cfg.approval == "manual",
            challenger_is_champion=champion == version,
            **_registry_facts(ctx, tracker, name, version, champion),
        )
        metrics = {
            "challenger": _reported(ctx, holdout, challenger),
            "champion": _reported(ctx, holdout, champion_scored) if champion_scored else {},
        }
        audit = _audit(decision, comparison, champion, version, holdout, cfg, fingerprint)
        audit.update(_decided_by(tracker))
        _apply(ctx, tracker, name, version, champion, decision, audit)
        summary = _summary(
            tracker.aliases(name), decision, cfg, config.primary, version, champion, comparison,
            metrics, holdout, audit,
        )  # fmt: skip
        ctx.write_json("decision", summary)
        card = ctx.new_card()
        with ctx.card_work():
            _fill_card(card, config, summary, holdout, champion_scored, challenger, comparison)
        return StepResult(summary=summary, card=card)

    @classmethod
    def result_phrase(cls, summary: Mapping[str, Any]) -> str | None:
        champion, decision = summary.get("champion_version"), summary.get("decision")
        return f"champion v{champion} ({decision})" if champion else f"no champion ({decision})"


def scoring_policy(config: RecipeConfig) -> ScoringPolicy:
    """What scoring may use, from this recipe's deploy block (``deployment.scoring``)."""
    from mlrecipes.deployment.scoring import ScoringPolicy

    deploy = config.steps.deploy
    return ScoringPolicy(
        deploy_decides=deploy is not None,
        manual_approval=deploy is not None and deploy.approval == "manual",
    )


def _summary(
    aliases: dict[str, str],
    decision: Any,
    cfg: DeployConfig,
    primary: str,
    version: str,
    champion: str | None,
    comparison: PairedDifference | None,
    metrics: dict[str, Any],
    holdout: pd.DataFrame,
    audit: dict[str, Any],
) -> dict[str, Any]:
    from mlrecipes.tracking.aliases import CHAMPION, PREVIOUS

    return {
        "decision": decision.outcome,
        "reason": decision.reason,
        "champion_version": aliases.get(CHAMPION),
        "challenger_version": version,
        "previous_champion_version": aliases.get(PREVIOUS),
        "compared_with": champion if champion != version else None,
        "metric": primary,
        "champion_score": comparison.champion if comparison else None,
        "challenger_score": (
            comparison.challenger if comparison else metrics["challenger"].get(primary)
        ),
        "difference": comparison.improvement if comparison else None,
        "ci_low": comparison.ci_low if comparison else None,
        "ci_high": comparison.ci_high if comparison else None,
        "confidence": cfg.confidence,
        "min_improvement": cfg.min_improvement,
        "approval": cfg.approval,
        "holdout": {"rows": len(holdout), "fingerprint": audit["mlrecipes.deploy.holdout"]},
        "metrics": metrics,
    }


def _holdout(ctx: StepContext, cfg: DeployConfig) -> pd.DataFrame:
    target = ctx.config.target_col
    if cfg.holdout is None:
        frame = ctx.read_frame("split", "test")
        where = "the test split"
    else:
        from mlrecipes.io.datasets import read_dataset

        frame = read_dataset(cfg.holdout, ctx.root, "deploy.holdout", ctx.download).reset_index(
            drop=True
        )
        where = f"steps.deploy.holdout ({cfg.holdout.location})"
    if target not in frame.columns:
        raise DatasetError(f"{where} has no target column '{target}' to compare the models on")
    frame = frame[frame[target].notna()].reset_index(drop=True)
    if len(frame) < 20:
        raise DatasetError(f"{where} has {len(frame)} labelled rows; a comparison needs 20 or more")
    missing = [c for c in ctx.read_json("train", "model_info")["feature_columns"] if c not in frame]
    if missing:
        raise DatasetError(f"{where} lacks the model's input columns {missing}")
    return frame


def _load_rows(path: Path) -> dict[str, Any]:
    from mlrecipes.deployment.holdout import row_sets_from_arrays

    with np.load(path, allow_pickle=False) as arrays:
        return row_sets_from_arrays({k: arrays[k] for k in arrays.files})


def _local_rows(ctx: StepContext) -> dict[str, Any]:
    return _load_rows(ctx.input_path("train", "training_rows"))


def _champion_rows(ctx: StepContext, name: str, version: str) -> dict[str, Any]:

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = ctx.logged_output_of(name, version, "train", "training_rows", Path(tmp))
        except MissingArtifactError as exc:
            raise DeploymentError(
                f"champion v{version} of {name} has no record of the rows it trained on "
                f"({exc}); the holdout cannot be proven clean against it. Retrain it with this "
                "version of mlrecipes, or move the champion alias by hand after checking"
            ) from exc
        return _load_rows(path)


def _check_clean(holdout: pd.DataFrame, trained_on: dict, key_columns: list[str], who: str) -> None:
    from mlrecipes.deployment.holdout import holdout_overlap

    overlap = holdout_overlap(holdout, trained_on, key_columns)
    if not overlap.clean:
        by = (
            f"key columns {list(overlap.columns)}, compared trimmed and lower-cased"
            if overlap.kind == "keys"
            else "their content (every feature column but the keys)"
        )
        if overlap.kind == "rows" and overlap.chance:
            by += f"; chance explains at most {overlap.chance} such repeats"
        raise DatasetError(
            f"the holdout is not clean: {overlap.rows} of its {overlap.holdout_rows} rows are "
            f"among the rows {who} trained on (matched by {by}); a comparison on them would "
            "favour that model. Use a holdout neither model saw (steps.deploy.holdout)"
        )


def _audit(
    decision: Any,
    comparison: PairedDifference | None,
    champion: str | None,
    version: str,
    holdout: Any,
    cfg: DeployConfig,
    fingerprint: Any,
) -> dict[str, Any]:
    from mlrecipes.deployment.audit import now
    from mlrecipes.tracking.aliases import DECISION_TAG

    prefix = "mlrecipes.deploy."
    audit = {
        DECISION_TAG: decision.outcome,
        f"{prefix}reason": decision.reason[:4000],
        f"{prefix}champion_version": champion if champion != version else None,
        f"{prefix}challenger_version": version,
        f"{prefix}approval": cfg.approval,
        f"{prefix}min_improvement": cfg.min_improvement,
        f"{prefix}holdout": fingerprint(holdout),
        f"{prefix}holdout_rows": len(holdout),
        f"{prefix}decided_at": now(),
    }
    if comparison is not None:
        audit.update(
            {
                f"{prefix}metric": comparison.metric,
                f"{prefix}champion_score": comparison.champion,
                f"{prefix}challenger_score": comparison.challenger,
                f"{prefix}difference": comparison.improvement,
                f"{prefix}ci_low": comparison.ci_low,
                f"{prefix}ci_high": comparison.ci_high,
                f"{prefix}confidence": comparison.confidence,
                f"{prefix}resamples": comparison.resamples,
            }
        )
    return audit
