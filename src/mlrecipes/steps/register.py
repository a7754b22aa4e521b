"""register: put a validated model in the registry and point an alias (default ``challenger``) at it.

Only VALIDATED models are registered, or UNKNOWN ones (no criteria) with
``allow_non_validated_model: true``. REJECTED models never are (as in MLflow Recipes 2.22).
If setting the alias fails, the new version is deleted again: nothing is left half-registered.
"""

from __future__ import annotations

import contextlib
from typing import Any

from mlrecipes.config.schema import RecipeConfig
from mlrecipes.errors import ValidationFailedError
from mlrecipes.steps.base import Step, StepContext, StepResult, dump
from mlrecipes.steps.outputs import CRITERIA_FILE, MODEL_INFO_FILE, STATUS_FILE

OUTPUT = "registered_model_version.json"


def registration_allowed(status: str, allow_non_validated: bool) -> bool:
    return status == "VALIDATED" or (status == "UNKNOWN" and allow_non_validated)


class RegisterStep(Step):
    name = "register"
    inputs = ("train", "evaluate")
    uses_tracking = True

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(config.steps.register),
            "model_registry": dump(config.model_registry),
            "model_name": config.model_name,
        }

    def run(self, ctx: StepContext) -> StepResult:
        cfg = ctx.config
        rcfg = cfg.steps.register
        status = ctx.read_text("evaluate", STATUS_FILE)
        info = ctx.read_json("train", MODEL_INFO_FILE)
        name = cfg.model_name
        assert name is not None
        if not registration_allowed(status, rcfg.allow_non_validated_model):
            raise ValidationFailedError(
                _refusal(status, ctx.read_json("evaluate", CRITERIA_FILE), info)
            )

        tracker = ctx.tracker()
        tags = {
            "mlflow.source.type": "RECIPE",
            "mlflow.pipeline.template.name": ctx.root.name,
            "mlrecipes.profile": ctx.recipe.profile,
            "mlrecipes.model_validation_status": status,
        }
        version = tracker.register(info["model_uri"], name, tags)
        try:
            result = {
                "registered_model_name": name,
                "registered_model_version": version,
                "alias": rcfg.alias,
                "aliases": [rcfg.alias],
                "model_uri": f"models:/{name}/{version}",
                "alias_uri": f"models:/{name}@{rcfg.alias}",
                "source_model_uri": info["model_uri"],
                "run_id": info["run_id"],
                "registry_uri": tracker.settings.registry_uri,
                "model_validation_status": status,
            }
            ctx.write_json(OUTPUT, result)
            with ctx.card_work():
                card = _card(ctx, result, tracker.settings.registry_uri)
                with tracker.run(run_id=info["run_id"]):
                    from mlrecipes.cards.render import render_html

                    tracker.log_text(render_html(card), "register/card.html")
            # Moving the alias is the last act: until here a failure only leaves an unaliased version,
            # which is deleted again.
            tracker.set_alias(name, rcfg.alias, version)
        except BaseException:
            with contextlib.suppress(Exception):
                tracker.delete_version(name, version)
            raise
        summary = {
            "registered_model_name": name,
            "registered_model_version": version,
            "aliases": [rcfg.alias],
            "model_uri": result["model_uri"],
        }
        return StepResult(summary=summary, card=card)


def _refusal(status: str, checks: list[dict[str, Any]], info: dict[str, Any]) -> str:
    if status == "REJECTED":
        failed = [c["description"] for c in checks if not c["passed"]]
        return (
            f"model {info['model_uri']} was REJECTED by validation_criteria on the test set: "
            + "; ".join(failed)
            + ". It was not registered."
        )
    return (
        f"model {info['model_uri']} has validation status {status} (no validation_criteria); set "
        "steps.register.allow_non_validated_model: true to register it anyway"
    )


def _card(ctx: StepContext, result: dict[str, Any], registry_uri: str) -> Any:
    card = ctx.new_card()
    name, version, alias = (
        result["registered_model_name"],
        result["registered_model_version"],
        result["alias"],
    )
    summary_tab = card.tab("Run Summary")
    summary_tab.kv(
        {
            "Model Name": name,
            "Model Version": version,
            "Alias": alias,
            "Model Source URI": result["source_model_uri"],
            "Source run": result["run_id"],
            "Registry URI": registry_uri,
            "Validation status": result["model_validation_status"],
        }
    )
    summary_tab.code(
        "import mlflow\n"
        f'mlflow.set_registry_uri("{registry_uri}")\n'
        f'model = mlflow.pyfunc.load_model("models:/{name}@{alias}")\n'
        "predictions = model.predict(df)  # df: raw rows, without the target column",
        title="Load this model",
    )
    return card
