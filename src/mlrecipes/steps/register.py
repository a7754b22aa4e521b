"""register: put a validated model in the registry and point an alias (default ``challenger``) at it.

Only VALIDATED models are registered, or UNKNOWN ones (no criteria) with
``allow_non_validated_model: true``. REJECTED models never are (as in MLflow Recipes 2.22).
If setting the alias fails, the new version is deleted again: nothing is left half-registered.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import StrictBool, field_validator

from mlrecipes.config.blocks import StepBlock
from mlrecipes.errors import MlrecipesError, ValidationFailedError
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    from mlrecipes.config.loader import LoadedRecipe
    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.tracking.client import Tracker

_ALIAS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class RegisterConfig(StepBlock):
    model_name: str | None = None
    allow_non_validated_model: StrictBool = False
    registry_uri: str | None = None
    alias: str = "challenger"
    # a retrain of the same data, code and configuration (after `clean`) gives an identical
    # model: true reuses the version already registered for it instead of adding one
    skip_identical: StrictBool = False

    @field_validator("alias")
    @classmethod
    def _valid_alias(cls, value: str) -> str:
        if not _ALIAS_RE.match(value) or value.lower() == "latest" or re.match(r"^[vV]\d+$", value):
            raise ValueError(
                f"'{value}' is not a usable registry alias: use letters, digits, '_' or '-', "
                "not 'latest' and not v<number>"
            )
        return value


REGISTRATION_TAG = "mlrecipes.registration"


def recover_interrupted(
    tracker: Tracker, name: str, workspace: str, run_id: str, log: Any
) -> str | None:
    """Settle versions that an interrupted register of this execution directory left behind.

    The profile lock is held, so no version of this workspace is being registered right now.
    A version created for the same train run is adopted (returned) instead of registering a
    duplicate; a pending one from another run is deleted, unless an alias already points at it,
    in which case its registration had in fact completed and it is kept.
    """
    adopted: str | None = None
    for mv in tracker.versions_tagged(name, {"mlrecipes.workspace": workspace}):
        version = str(mv.version)
        if mv.tags.get("mlrecipes.source_run_id") == run_id:
            if adopted is None or int(version) > int(adopted):
                adopted = version
            continue
        if mv.tags.get(REGISTRATION_TAG) != "pending":
            continue
        if getattr(mv, "aliases", None):
            tracker.set_version_tag(name, version, REGISTRATION_TAG, "complete")
            log(f"version {version} of {name} was aliased before an interruption: kept")
        else:
            tracker.delete_version(name, version)
            log(f"deleted version {version} of {name}, left by an interrupted register")
    if adopted is not None:
        log(f"adopting version {adopted} of {name}, registered by an interrupted run")
    return adopted


def _version_to_alias(
    ctx: StepContext,
    tracker: Tracker,
    name: str,
    status: str,
    info: dict[str, Any],
    owner: dict[str, str],
) -> str:
    """The version the alias will point at: one an interrupted run left, an identical one
    (``skip_identical``), or a new registration tagged ``pending`` until the alias moves."""
    rcfg = ctx.config.steps.register
    version = recover_interrupted(tracker, name, ctx.workspace.identity, info["run_id"], ctx.log)
    if version is not None:
        return version
    identical = _identical_versions(tracker, name, info.get("content_key"))
    if identical and rcfg.skip_identical:
        ctx.log(
            f"version {identical[-1]} of {name} was trained from the same data, code and "
            "configuration: reusing it (steps.register.skip_identical)"
        )
        return identical[-1]
    if identical:
        ctx.log(
            f"note: version {', '.join(identical)} of {name} was trained from the same "
            "data, code and configuration; registering another (set "
            "steps.register.skip_identical: true to reuse it)"
        )
    tags = {
        "mlflow.source.type": "RECIPE",
        "mlflow.pipeline.template.name": ctx.root.name,
        "mlrecipes.profile": ctx.recipe.profile,
        "mlrecipes.model_validation_status": status,
        # Written with the version in one call: after kill -9 the next run finds it.
        REGISTRATION_TAG: "pending",
        "mlrecipes.register_cache_key": ctx.cache_key,
        "mlrecipes.train_content_key": info.get("content_key") or "",
        **(info.get("feature_tables") or {}),  # lineage: tables and versions read
        **owner,
    }
    with ctx.critical_section():
        return tracker.register(info["model_uri"], name, tags, run_id=info["run_id"])


def _remove_unaliased(tracker: Tracker, name: str, owner: dict[str, str]) -> None:
    """After a failure in register: delete this run's pending versions that no alias points at.

    By tags, not only by ``version``: interrupted inside the registry call, the version may
    exist without its number having come back. A version some alias points at is never touched.
    """
    for mv in tracker.versions_tagged(name, {**owner, REGISTRATION_TAG: "pending"}):
        if not mv.aliases:
            tracker.delete_version(name, str(mv.version))


def _identical_versions(tracker: Tracker, name: str, content_key: str | None) -> list[str]:
    """Complete versions of ``name`` trained from the same inputs (oldest first)."""
    if not content_key:
        return []
    found = tracker.versions_tagged(
        name, {"mlrecipes.train_content_key": content_key, REGISTRATION_TAG: "complete"}
    )
    return sorted((str(mv.version) for mv in found), key=int)


def registration_allowed(status: str, allow_non_validated: bool) -> bool:
    return status == "VALIDATED" or (status == "UNKNOWN" and allow_non_validated)


class RegisterStep(Step):
    name = "register"
    config_model = RegisterConfig
    inputs = ("train", "evaluate")
    outputs = (
        Output(
            "registered_model_version",
            "registered_model_version.json",
            {"registered_model_version": "model_version"},
        ),
    )
    uses_tracking = True

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(config.steps.register),
            "model_registry": dump(config.model_registry),
            "model_name": config.model_name,
        }

    def external_outputs_problem(self, recipe: LoadedRecipe, state: Any) -> str | None:
        """The registered version must still exist: for a SQLite registry its file (no MLflow
        import), for a registry server the version itself."""
        from mlrecipes.config.tracking import resolve_tracking
        from mlrecipes.tracking.settings import sqlite_path

        problem = super().external_outputs_problem(recipe, state)
        settings = resolve_tracking(recipe)
        if problem or sqlite_path(settings.registry_uri) is not None:
            return problem
        name = state.summary.get("registered_model_name")
        version = state.summary.get("registered_model_version")
        if not name or not version:
            return None
        from mlrecipes.tracking.client import Tracker

        if not Tracker(settings).version_exists(name, str(version)):
            return f"version {version} of {name} is no longer in the registry"
        return None

    def run(self, ctx: StepContext) -> StepResult:
        cfg = ctx.config
        rcfg = cfg.steps.register
        status = ctx.read_text("evaluate", "model_validation_status")
        info = ctx.read_json("train", "model_info")
        name = cfg.model_name
        assert name is not None
        if not registration_allowed(status, rcfg.allow_non_validated_model):
            raise ValidationFailedError(
                _refusal(status, ctx.read_json("evaluate", "validation_results"), info)
            )

        tracker = ctx.tracker()
        owner = {
            "mlrecipes.workspace": ctx.workspace.identity,
            "mlrecipes.source_run_id": info["run_id"],
        }
        try:
            version = _version_to_alias(ctx, tracker, name, status, info, owner)
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
            ctx.write_json("registered_model_version", result)
            with ctx.card_work():
                card = _card(ctx, result, tracker.settings.registry_uri)
                with tracker.run(run_id=info["run_id"]):
                    from mlrecipes.cards.render import render_html

                    tracker.log_text(render_html(card), "register/card.html")
            # Moving the alias is the last act: until here a failure only leaves an unaliased version,
            # which is deleted again.
            with ctx.critical_section():
                tracker.set_alias(name, rcfg.alias, version)
                tracker.set_version_tag(name, version, REGISTRATION_TAG, "complete")
        except BaseException:
            # best effort: the original error is re-raised; a cleanup that fails too (the server
            # gone) leaves pending versions, which the next register removes
            with contextlib.suppress(MlrecipesError, OSError):
                _remove_unaliased(tracker, name, owner)
            raise
        summary = {
            "registered_model_name": name,
            "registered_model_version": version,
            "aliases": [rcfg.alias],
            "model_uri": result["model_uri"],
        }
        return StepResult(summary=summary, card=card)

    @classmethod
    def result_phrase(cls, summary: Mapping[str, Any]) -> str | None:
        aliases = "".join(f" @{a}" for a in summary.get("aliases", []))
        return (
            f"registered {summary.get('registered_model_name')} "
            f"v{summary.get('registered_model_version')}{aliases}"
        )


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
