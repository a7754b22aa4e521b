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

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, PositiveInt

from mlrecipes.config.blocks import StepBlock
from mlrecipes.errors import DatasetError, MissingArtifactError
from mlrecipes.io.sources import IngestConfig
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.deployment.bootstrap import PairedDifference, Scored
    from mlrecipes.tracking.client import Tracker


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


REPORTED = {
    "classification/binary": ("roc_auc", "log_loss", "brier_score", "precision_recall_auc"),
    "classification/multiclass": ("accuracy_score", "f1_score_macro", "log_loss"),
    "regression": ("root_mean_squared_error", "mean_absolute_error", "r2_score"),
}
# smaller is better; the rest of the reported metrics follow the recipe's directions


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

    def run(self, ctx: StepContext) -> StepResult:
        from mlrecipes.deployment.audit import iter_audit_tags
        from mlrecipes.deployment.decision import decide
        from mlrecipes.deployment.holdout import fingerprint
        from mlrecipes.tracking import aliases as reg

        cfg: DeployConfig = self.block(ctx.config)
        config = ctx.config
        registered = ctx.read_json("register", "registered_model_version")
        name = registered["registered_model_name"]
        version = str(registered["registered_model_version"])
        status = ctx.read_text("evaluate", "model_validation_status")
        holdout = _holdout(ctx, cfg)
        tracker = ctx.tracker()

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
            comparison = _compare(ctx, cfg, holdout, champion_scored, challenger)
        decision = decide(
            status,
            comparison,
            cfg.min_improvement,
            cfg.approval == "manual",
            challenger_is_champion=champion == version,
        )
        metrics = {
            "challenger": _reported(ctx, holdout, challenger),
            "champion": _reported(ctx, holdout, champion_scored) if champion_scored else {},
        }
        audit = _audit(decision, comparison, champion, version, holdout, cfg, fingerprint)
        event = {"event": "decision", "decision": decision.outcome, "reason": decision.reason}
        with ctx.critical_section():
            tracker.set_version_tags(name, version, dict(iter_audit_tags("", audit)))
            if champion is not None and champion != version:
                # the champion carries the same audit record, one tag per challenge
                record = dict(iter_audit_tags("", audit))
                tracker.set_version_tags(
                    name,
                    champion,
                    {f"mlrecipes.deploy.challenged_by.v{version}": json.dumps(record)},
                )
            if decision.moves_now:
                reg.move_champion(tracker, name, version, event, ctx.critical_section)
            else:
                reg.record_event(tracker, name, version, event)
        aliases = tracker.aliases(name)
        summary = {
            "decision": decision.outcome,
            "reason": decision.reason,
            "champion_version": aliases.get(reg.CHAMPION),
            "challenger_version": version,
            "previous_champion_version": aliases.get(reg.PREVIOUS),
            "compared_with": champion if champion != version else None,
            "metric": config.primary,
            "champion_score": comparison.champion if comparison else None,
            "challenger_score": (
                comparison.challenger if comparison else metrics["challenger"].get(config.primary)
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
        ctx.write_json("decision", summary)
        card = ctx.new_card()
        with ctx.card_work():
            _fill_card(card, config, summary, holdout, champion_scored, challenger, comparison)
        return StepResult(summary=summary, card=card)

    @classmethod
    def result_phrase(cls, summary: Mapping[str, Any]) -> str | None:
        champion, decision = summary.get("champion_version"), summary.get("decision")
        return f"champion v{champion} ({decision})" if champion else f"no champion ({decision})"


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
    from mlrecipes.errors import DeploymentError

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
        by = f"key columns {list(overlap.columns)}" if overlap.kind == "keys" else "whole rows"
        raise DatasetError(
            f"the holdout is not clean: {overlap.rows} of its {overlap.holdout_rows} rows are "
            f"among the rows {who} trained on (matched by {by}); a comparison on them would "
            "favour that model. Use a holdout neither model saw (steps.deploy.holdout)"
        )


def _score(tracker: Tracker, config: RecipeConfig, name: str, version: str, holdout: Any) -> Scored:
    """The registered pyfunc's predictions on the holdout, as arrays."""
    import pandas as pd

    from mlrecipes.deployment.bootstrap import Scored

    model = tracker.load_model(f"models:/{name}/{version}")
    out = model.predict(holdout.drop(columns=[config.target_col]))
    if not config.is_classification:
        values = out.iloc[:, 0] if isinstance(out, pd.DataFrame) else out
        return Scored(np.asarray(values, dtype=float).reshape(-1))
    frame = out if isinstance(out, pd.DataFrame) else pd.DataFrame({"label": np.asarray(out)})
    label = next((c for c in frame.columns if str(c).endswith("label")), frame.columns[0])
    labels = frame[label].to_numpy()
    if config.task == "classification/binary":
        column = next(
            (c for c in frame.columns if str(c).endswith(f"score_{config.positive_class}")), None
        )
        scores = None if column is None else frame[column].to_numpy(dtype=float)
        return Scored(labels, scores)
    columns = [c for c in frame.columns if "score_" in str(c)]
    classes = tuple(str(c).split("score_", 1)[1] for c in columns)
    matrix = frame[columns].to_numpy(dtype=float) if columns else None
    return Scored(labels, matrix, classes or None)


def _metric_fn(ctx: StepContext, holdout: Any, name: str) -> Any:
    """The resampled form of metric ``name`` on the holdout (deployment/bootstrap.py)."""
    import pandas as pd

    from mlrecipes.deployment.bootstrap import resampled_metric
    from mlrecipes.io.user_code import custom_metric_functions
    from mlrecipes.modeling.evaluation import builtin_metric, eval_frame

    config = ctx.config
    truth = holdout[config.target_col].to_numpy()
    custom = {m.name for m in config.custom_metrics}
    functions = custom_metric_functions(ctx.root, config) if name in custom else {}

    truth_classes = sorted(pd.unique(truth).tolist(), key=str)

    def one(rows: np.ndarray, s: Scored) -> float:
        y = pd.Series(truth[rows])
        proba, classes = _proba(s, rows, truth_classes, config.positive_class)
        if name in functions:
            from mlrecipes.modeling.evaluation import custom_metric_values

            frame = eval_frame(y, s.labels[rows], proba, classes, config.positive_class)
            return custom_metric_values({name: functions[name]}, frame, {})[name]
        if name == "precision_recall_auc" and s.scores is not None and s.scores.ndim == 1:
            from sklearn.metrics import average_precision_score

            return float(average_precision_score(y == config.positive_class, s.scores[rows]))
        return builtin_metric(
            name, config.task, y, s.labels[rows], proba, classes, config.positive_class
        )

    return resampled_metric(name, config.task, truth, config.positive_class, fallback=one)


def _proba(s: Scored, rows: np.ndarray, classes: list, positive: Any) -> tuple[Any, Any]:
    """Class probabilities of ``rows`` as builtin_metric takes them (None: the model has none)."""
    if s.scores is None:
        return None, None
    if s.scores.ndim == 1:  # binary: P(positive) and its complement, in the truth's classes
        p = s.scores[rows]
        return np.column_stack([p if c == positive else 1 - p for c in classes]), classes
    return s.scores[rows], list(s.classes or ())


def _compare(
    ctx: StepContext, cfg: DeployConfig, holdout: Any, champion: Scored, challenger: Scored
) -> PairedDifference:
    from mlrecipes.deployment.bootstrap import paired_bootstrap

    config = ctx.config
    primary = config.primary
    return paired_bootstrap(
        primary,
        config.metric_directions[primary],
        _metric_fn(ctx, holdout, primary),
        champion,
        challenger,
        len(holdout),
        resamples=cfg.resamples,
        confidence=cfg.confidence,
        seed=cfg.seed,
    )


def _reported(ctx: StepContext, holdout: Any, scored: Scored) -> dict[str, float]:
    """The primary metric and the task's usual ones on the whole holdout (those computable)."""
    config = ctx.config
    names = dict.fromkeys([config.primary, *REPORTED[config.task]])
    identity = np.arange(len(holdout))[np.newaxis, :]
    values = {}
    for name in names:
        try:
            values[name] = float(_metric_fn(ctx, holdout, name)(identity, scored)[0])
        except (ValueError, TypeError):  # e.g. probabilities asked of a hinge classifier
            continue
    return values


def _audit(
    decision: Any,
    comparison: PairedDifference | None,
    champion: str | None,
    version: str,
    holdout: Any,
    cfg: DeployConfig,
    fingerprint: Any,
) -> dict[str, Any]:
    from mlrecipes.deployment.audit import decider, now
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
        f"{prefix}decided_by": decider(),
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


def _fill_card(
    card: Any,
    config: RecipeConfig,
    summary: dict[str, Any],
    holdout: Any,
    champion: Scored | None,
    challenger: Scored,
    comparison: PairedDifference | None,
) -> None:
    import pandas as pd

    from mlrecipes.cards.plots import bootstrap_histogram, roc_comparison

    decision = card.tab("Decision")
    decision.text(f"{summary['decision'].upper()}: {summary['reason']}.")
    decision.kv(
        {
            "Challenger": f"version {summary['challenger_version']}",
            "Champion before": summary["compared_with"] or "none",
            "Champion now": summary["champion_version"] or "none",
            "Previous champion": summary["previous_champion_version"] or "none",
            "Approval": summary["approval"],
            "Holdout": f"{summary['holdout']['rows']} rows (fingerprint {summary['holdout']['fingerprint']})",
        }
    )
    metrics = summary["metrics"]
    names = list(dict.fromkeys([*metrics["challenger"], *metrics["champion"]]))
    card.tab("Metrics").table(
        pd.DataFrame(
            {
                "metric": names,
                "champion": [metrics["champion"].get(n) for n in names],
                "challenger": [metrics["challenger"].get(n) for n in names],
            }
        ),
        title="On the holdout, through each registered model",
    )
    plots = card.tab("Plots")
    if config.task == "classification/binary" and challenger.scores is not None:
        curves = {f"challenger v{summary['challenger_version']}": challenger.scores}
        if champion is not None and champion.scores is not None:
            curves = {f"champion v{summary['compared_with']}": champion.scores, **curves}
        plots.image(roc_comparison(holdout[config.target_col] == config.positive_class, curves))
    if comparison is not None and len(comparison.distribution):
        plots.image(
            bootstrap_histogram(
                comparison.distribution, comparison.ci_low, comparison.ci_high, comparison.metric
            ),
            title=f"{comparison.resamples} paired resamples (seed {comparison.seed})",
        )
    card.tab("Run Summary").code(json.dumps(summary, indent=1, default=str), title="decision.json")
