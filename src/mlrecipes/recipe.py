"""``Recipe(profile=...)``: run, inspect, clean and fetch artifacts, from Python or a notebook."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlrecipes.access.data_roots import check_before_running
from mlrecipes.config.loader import LoadedRecipe
from mlrecipes.config.paths import find_recipe_root
from mlrecipes.errors import ArtifactError, MlrecipesError, RecipeGraphError
from mlrecipes.execution import dag, fastpath
from mlrecipes.execution.context import load_recipe
from mlrecipes.execution.lock import profile_lock
from mlrecipes.execution.report import Reporter, RunReport
from mlrecipes.execution.runner import run_plan, step_cache_key
from mlrecipes.execution.state import StepState
from mlrecipes.execution.targets import DEFAULT_LABEL, default_target
from mlrecipes.execution.workspace import Workspace, check_profile_name, execution_dir_for


class Recipe:
    """A recipe root plus a profile. The configuration is re-read on every call, so edits to
    recipe.yaml, profiles or steps/*.py between calls are picked up (as in a notebook)."""

    def __init__(
        self,
        profile: str,
        root: str | Path | None = None,
        variables: dict[str, Any] | None = None,
        reporter: Reporter | None = None,
        strict: bool = False,
    ):
        """``strict``: a key MLflow Recipes ignored is an error, not a warning (``reporter``)."""
        self.root = find_recipe_root(Path(root) if root else None)
        self.profile = check_profile_name(profile)
        self.variables = dict(variables or {})
        self.reporter = reporter or Reporter(print)
        self.strict = strict
        self._loaded = self._load()  # validate eagerly: a broken recipe fails at construction
        for line in self._loaded.said():
            self.reporter.info(line)

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def config(self) -> Any:
        """The validated configuration (re-read now): ``target_col``, ``positive_class``,
        ``model_name``, ``steps.<step>`` blocks, ... (a ``RecipeConfig``)."""
        self._loaded = self._load()
        return self._loaded.config

    @property
    def workspace(self) -> Workspace:
        return Workspace(execution_dir_for(self.root, self.profile))

    def _load(self) -> LoadedRecipe:
        return load_recipe(self.root, self.profile, self.variables, self.strict)

    def run(self, step: str | None = None, only: bool = False) -> RunReport:
        """Run ``step`` (default: deploy when configured, else register) and whatever it needs;
        cached steps are skipped. ``only``: run ``step`` alone, on the outputs its upstream
        steps recorded last."""
        label = dag.check_step(step) if step else DEFAULT_LABEL
        if only and step is None:
            raise RecipeGraphError("only=True needs a step: the step to run alone")
        ws = self.workspace
        cached = None
        if not only:
            cached = fastpath.cached_report(
                ws, self.root, self.profile, label, self.variables, self.reporter
            )
        if cached is not None:
            return cached
        from mlrecipes.process.collector import fewer_full_collections
        from mlrecipes.process.signals import signals_as_exceptions
        from mlrecipes.tracking.settings import engine_environment

        with engine_environment(), signals_as_exceptions(), fewer_full_collections():
            self._loaded = self._load()
            check_before_running(self._loaded, self.reporter.info)
            target = step or default_target(self._loaded.config)
            return self._run_locked(ws, target, label, only)

    def _run_locked(self, ws: Workspace, target: str, label: str, only: bool = False) -> RunReport:
        from mlrecipes.execution.declarations import step_classes

        with profile_lock(ws.lock_path, on_wait=self.reporter.info):
            inputs = [fastpath.stat_entry(p) for p in _watched_inputs(self._loaded, target)]
            steps = dag.plan(target, self._loaded.config)
            reuse = set(steps[:-1]) if only else None
            report = run_plan(self._loaded, ws, steps, self.reporter, reuse=reuse)
            plan = [o.step for o in report.outcomes]
            after = [step_classes()[name]().watched_after(self._loaded) for name in plan]
            for outcome, paths in zip(report.outcomes, after, strict=True):
                if paths and outcome.outcome in ("cached", "ran"):
                    fastpath.write_after_stamp(ws, outcome.step, paths)
            if not only and None not in after and _manifest_allowed(ws, report):
                outputs = [ws.state_path(name) for name in plan]
                for name, paths in zip(plan, after, strict=True):
                    outputs += fastpath.tree_paths(ws.outputs(name)) + (paths or [])
                externals = [
                    fastpath.exists_entry(path)
                    for name in plan
                    for path in step_classes()[name]().external_paths(self._loaded)
                ]
                fastpath.write_manifest(
                    ws.path,
                    self.root,
                    self.profile,
                    label,
                    plan,
                    self.variables,
                    self._loaded.template_inputs.env_names,
                    inputs + [fastpath.stat_entry(p) for p in outputs] + externals,
                )
            return report

    def clean(self, step: str | None = None) -> None:
        """Remove the outputs, state and card of ``step`` (default: every step)."""
        ws = self.workspace
        names = [dag.check_step(step)] if step else list(dag.all_steps())
        if not ws.path.exists():
            return
        if (
            not ws.path.resolve().is_relative_to(self.root.resolve())
            and not ws.events_path.is_file()
        ):
            from mlrecipes.errors import ConfigError

            raise ConfigError(
                f"clean: the execution directory {ws.path} (MLRECIPES_EXECUTION_DIR) is outside "
                "the recipe root and holds no run's events: it is not this profile's; not removed"
            )
        for name in names:  # all checked before anything is removed (again under the lock)
            ws.check_removable(name)
        with profile_lock(ws.lock_path, on_wait=self.reporter.info):
            for name in names:
                ws.clean(name)

    def status(self, step: str | None = None, check_cache: bool = True) -> dict[str, Any]:
        """The machine-readable view behind ``inspect --json``."""
        from mlrecipes.config.tracking import resolve_tracking

        self._loaded = self._load()
        ws = self.workspace
        names = [dag.check_step(step)] if step else self._listed_steps()
        steps = [self._step_status(ws, n, check_cache) for n in names]
        out: dict[str, Any] = {
            "recipe": self._loaded.config.recipe,
            "recipe_root": str(self.root),
            "profile": self.profile,
            "tracking_uri": resolve_tracking(self._loaded).tracking_uri,
            "execution_dir": str(ws.path),
            "steps": steps,
        }
        if step:
            out.update(self._step_details(ws, step))
        return out

    def _listed_steps(self) -> list[str]:
        """Every step, less the optional ones this recipe does not configure (features)."""
        from mlrecipes.execution.declarations import step_classes

        steps = self._loaded.config.steps
        return [
            name
            for name in dag.all_steps()
            if step_classes()[name].listed_unconfigured or getattr(steps, name) is not None
        ]

    def _step_status(self, ws: Workspace, name: str, check_cache: bool) -> dict[str, Any]:
        from mlrecipes.execution.declarations import step_classes

        state = ws.state(name)
        status = state.status if state.status in ("SUCCEEDED", "FAILED") else "NOT_RUN"
        card = ws.card_path(name)
        entry: dict[str, Any] = {
            "name": name,
            "status": status,
            "started_at": state.started_at,
            "finished_at": state.finished_at,
            "duration_s": state.duration_s,
            "cache_key": state.cache_key,
            "card": str(card) if card.is_file() else None,
            "card_seconds": state.card_seconds,
        }
        if check_cache and status == "SUCCEEDED":
            try:
                key, _ = step_cache_key(step_classes()[name](), self._loaded, ws)
                entry["up_to_date"] = key == state.cache_key
            except (MlrecipesError, OSError) as exc:  # a missing data file: no key
                entry["up_to_date"] = False
                entry["up_to_date_error"] = str(exc)
        if state.error:
            entry["error"] = state.error.get("message")
        return entry

    @staticmethod
    def _step_details(ws: Workspace, name: str) -> dict[str, Any]:
        state = ws.state(name)
        details = dict(state.summary)
        if state.source and not state.source.get("volatile"):
            from mlrecipes.io.fingerprint import fingerprint_for_key

            # what the step read: the files (or tables and versions) and their content hash
            details["data_files"] = [
                {k: v for k, v in f.items() if k != "mtime_ns"} for f in state.source["files"]
            ]
            details["data_fingerprint"] = fingerprint_for_key(state.source)
        if state.error:
            details["error"] = state.error
        return details

    def step_state(self, step: str) -> StepState:
        return self.workspace.state(dag.check_step(step))

    def card_path(self, step: str) -> Path | None:
        path = self.workspace.card_path(dag.check_step(step))
        return path if path.is_file() else None

    def inspect(self, step: str | None = None) -> Any:
        """In Jupyter, display the step's card (or the DAG status); elsewhere return the status dict."""
        if step is None:
            status = self.status()
            if _in_notebook():
                from IPython.display import HTML, display

                display(HTML(_status_html(status)))
                return None
            return status
        path = self.card_path(step)
        if path is None:
            warnings.warn(f"step '{step}' has no card yet: run it first", stacklevel=2)
            return None
        if _in_notebook():
            from IPython.display import HTML, display

            display(HTML(self.card_fragment(step)))
            return None
        return path

    def card_fragment(self, step: str) -> str:
        """The step's card as an HTML fragment with its own ids, for a page showing several
        cards (a notebook): the full card.html of each would hide and switch each other's tabs."""
        from mlrecipes.cards.render import load_card, render_fragment

        path = self.card_path(step)
        if path is None:
            raise ArtifactError(f"step '{step}' has no card yet: run it first")
        return render_fragment(load_card(path.with_name("card.json")))

    def artifact_names(self) -> list[str]:
        """The names ``get_artifact`` serves (declared by the steps' outputs)."""
        from mlrecipes.execution.artifacts import artifacts

        return list(artifacts())

    def get_artifact(self, artifact_name: str) -> Any:
        """Load an artifact by its MLflow Recipes name; None (with a warning) if not produced yet."""
        from mlrecipes.execution.artifacts import load_artifact, spec_for

        spec = spec_for(artifact_name)
        path = self.workspace.outputs(spec.step) / spec.file
        if not path.is_file() or self.workspace.state(spec.step).status != "SUCCEEDED":
            warnings.warn(
                f"The artifact '{artifact_name}' is not available. Re-run the '{spec.step}' step "
                "to generate it.",
                stacklevel=2,
            )
            return None
        from mlrecipes.io.user_code import ensure_importable

        ensure_importable(self.root)  # pickled transformers reference steps/*.py
        return load_artifact(spec, path, self._tracker)

    def artifact_location(self, artifact_name: str) -> str | None:
        from mlrecipes.execution.artifacts import artifact_location, spec_for

        spec = spec_for(artifact_name)
        path = self.workspace.outputs(spec.step) / spec.file
        return artifact_location(spec, path) if path.is_file() else None

    def approve(self, version: str, reason: str | None = None) -> str | None:
        """Complete a ``pending_approval`` deploy decision: ``version`` becomes champion (the
        replaced champion, returned, becomes ``previous_champion``). A rolled-back version needs
        a ``reason``."""
        from mlrecipes.tracking import aliases as registry

        with self._registry_action(lease=True) as (tracker, name, critical):
            return registry.approve(tracker, name, str(version), critical, reason)

    def reject(self, version: str, reason: str) -> None:
        """Record a refusal of a ``pending_approval`` decision."""
        from mlrecipes.tracking import aliases as registry

        with self._registry_action(lease=True) as (tracker, name, _):
            registry.reject(tracker, name, str(version), reason)

    def rollback(self, reason: str) -> tuple[str, str]:
        """Move ``champion`` back to ``previous_champion``; returns (champion, previous)."""
        from mlrecipes.tracking import aliases as registry

        with self._registry_action(lease=True) as (tracker, name, critical):
            return registry.rollback(tracker, name, reason, critical)

    def champion(self) -> dict[str, Any]:
        """The model's aliases and every deploy decision (who, when, why, which version)."""
        from mlrecipes.tracking import aliases as registry

        with self._registry_action() as (tracker, name, _):
            return {
                "model_name": name,
                "aliases": tracker.aliases(name),
                "history": registry.history(tracker, name),
            }

    @contextlib.contextmanager
    def _registry_action(self, lease: bool = False) -> Iterator[tuple[Any, str, Any]]:
        """The tracker and model name, under the profile lock (a deploy may be deciding) and,
        for a change of the champion (``lease``), the registry's deploy lease (a deploy of
        another checkout may be deciding)."""
        from mlrecipes.process.signals import deferred_signals
        from mlrecipes.tracking.aliases import settle_interrupted
        from mlrecipes.tracking.lease import registry_lease
        from mlrecipes.tracking.settings import engine_environment

        with engine_environment():
            self._loaded = self._load()
            name = self._loaded.config.model_name
            assert name is not None  # the schema requires a model name
            with profile_lock(self.workspace.lock_path, on_wait=self.reporter.info):
                tracker = self._tracker()
                held = registry_lease(tracker, name, "deploy", say=self.reporter.info)
                with held if lease else contextlib.nullcontext():
                    settle_interrupted(tracker, name, self.reporter.info)
                    yield tracker, name, deferred_signals

    def _tracker(self) -> Any:
        from mlrecipes.config.tracking import resolve_tracking
        from mlrecipes.tracking.client import Tracker

        return Tracker(resolve_tracking(self._loaded))

    def __repr__(self) -> str:
        return f"Recipe(profile={self.profile!r}, root={str(self.root)!r})"


def _manifest_allowed(ws: Workspace, report: RunReport) -> bool:
    from mlrecipes.execution.declarations import step_classes

    for outcome in report.outcomes:
        if outcome.outcome not in ("cached", "ran") or step_classes()[outcome.step].always_run:
            return False
        if (ws.state(outcome.step).source or {}).get("volatile"):
            return False
    return True


def _watched_inputs(loaded: LoadedRecipe, target: str) -> list[Path]:
    """Template files, everything under steps/, and the data sources of the plan's steps."""
    from mlrecipes.execution.declarations import step_classes

    paths = [Path(f) for f in loaded.template_inputs.files]
    paths.extend(fastpath.tree_paths(loaded.root / "steps"))
    for name in dag.plan(target, loaded.config):
        try:
            paths += step_classes()[name]().watched_paths(loaded)
        except (MlrecipesError, OSError):  # a missing data file: run_plan reports it
            continue
    return paths


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _status_html(status: dict[str, Any]) -> str:
    from markupsafe import escape

    rows = "".join(
        f"<tr><td>{escape(s['name'])}</td><td>{escape(s['status'])}</td>"
        f"<td>{escape(s.get('finished_at') or '')}</td><td>{escape(str(s.get('duration_s') or ''))}</td></tr>"
        for s in status["steps"]
    )
    return (
        f"<h4>{escape(status['recipe'])} · profile {escape(status['profile'])}</h4>"
        f"<table><tr><th>step</th><th>status</th><th>finished</th><th>seconds</th></tr>{rows}</table>"
    )
