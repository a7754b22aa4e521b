"""Hyperparameter search with hyperopt, configured by ``steps.train.tuning`` (MLflow Recipes keys)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, PositiveInt, StrictBool, model_validator

from mlrecipes.config.blocks import Block
from mlrecipes.errors import ConfigError

HYPEROPT_DISTRIBUTIONS = {
    "uniform": ("low", "high"),
    "quniform": ("low", "high", "q"),
    "loguniform": ("low", "high"),
    "qloguniform": ("low", "high", "q"),
    "normal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "lognormal": ("mu", "sigma"),
    "qlognormal": ("mu", "sigma", "q"),
    "randint": ("low", "high"),
    "uniformint": ("low", "high"),
}


class TuningParameter(Block):
    values: list[Any] | None = None
    distribution: str | None = None
    low: float | None = None
    high: float | None = None
    q: float | None = None
    mu: float | None = None
    sigma: float | None = None

    @model_validator(mode="after")
    def _one_form(self) -> TuningParameter:
        if (self.values is None) == (self.distribution is None):
            raise ValueError("give either values: [...] or distribution: <hyperopt function>")
        if self.distribution is not None:
            if self.distribution not in HYPEROPT_DISTRIBUTIONS:
                raise ValueError(
                    f"unknown distribution '{self.distribution}'; expected one of "
                    f"{', '.join(HYPEROPT_DISTRIBUTIONS)}"
                )
            missing = [
                k for k in HYPEROPT_DISTRIBUTIONS[self.distribution] if getattr(self, k) is None
            ]
            if missing:
                raise ValueError(f"distribution {self.distribution} needs {', '.join(missing)}")
        return self


class TuningConfig(Block):
    enabled: StrictBool
    max_trials: PositiveInt | None = None
    parameters: dict[str, TuningParameter] = Field(default_factory=dict)
    algorithm: str = "hyperopt.rand.suggest"
    parallelism: PositiveInt = 1
    sample_fraction: float = Field(default=1.0, gt=0, le=1)
    early_stop_fn: str | None = None

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> TuningConfig:
        if self.enabled:
            if self.max_trials is None:
                raise ValueError("max_trials is required when tuning is enabled")
            if not self.parameters:
                raise ValueError("parameters is required when tuning is enabled")
        if self.parallelism != 1:
            raise ValueError(
                "parallelism > 1 (hyperopt SparkTrials) is not supported; trials run sequentially"
            )
        return self


@dataclass
class Trial:
    params: dict[str, Any]
    metric: float
    loss: float
    run_id: str | None = None


@dataclass
class TuningOutcome:
    best_params: dict[str, Any]
    trials: list[Trial] = field(default_factory=list)
    baseline_won: bool = False


def search_space(tuning: TuningConfig) -> dict[str, Any]:
    from hyperopt import hp

    space = {}
    for name, spec in tuning.parameters.items():
        if spec.values is not None:
            space[name] = hp.choice(name, spec.values)
            continue
        fn = getattr(hp, spec.distribution or "")
        kwargs = {
            k: getattr(spec, k)
            for k in ("low", "high", "q", "mu", "sigma")
            if getattr(spec, k) is not None
        }
        if spec.distribution in ("randint", "uniformint"):
            kwargs = {k: int(v) for k, v in kwargs.items()}
        space[name] = fn(name, **kwargs)
    return space


def resolve_algorithm(name: str) -> Callable[..., Any]:
    module_name, _, attr = name.rpartition(".")
    if not module_name.startswith("hyperopt"):
        module_name = f"hyperopt.{module_name}" if module_name else "hyperopt"
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"steps.train.tuning.algorithm: '{name}' is not a hyperopt algorithm "
            "(expected e.g. hyperopt.tpe.suggest or hyperopt.rand.suggest)"
        ) from exc


def run_search(
    tuning: TuningConfig,
    evaluate: Callable[[dict[str, Any]], tuple[float, str | None]],
    greater_is_better: bool,
    hardcoded: dict[str, Any],
    early_stop_fn: Callable[..., Any] | None = None,
    seed: int = 42,
) -> TuningOutcome:
    """Minimise ±metric over the space; the hard-coded parameters alone are always tried too.

    ``evaluate(params)`` fits and scores one configuration and returns (metric, child run id).
    """
    import numpy as np
    from hyperopt import STATUS_OK, Trials, fmin, space_eval

    trials_log: list[Trial] = []

    def loss_of(metric: float) -> float:
        return -metric if greater_is_better else metric

    def objective(sampled: dict[str, Any]) -> dict[str, Any]:
        params = {**hardcoded, **sampled}
        metric, run_id = evaluate(params)
        trials_log.append(Trial(params=params, metric=metric, loss=loss_of(metric), run_id=run_id))
        return {"loss": loss_of(metric), "status": STATUS_OK}

    space = search_space(tuning)
    best_raw = fmin(
        objective,
        space,
        algo=resolve_algorithm(tuning.algorithm),
        max_evals=tuning.max_trials,
        trials=Trials(),
        rstate=np.random.default_rng(seed),
        early_stop_fn=early_stop_fn,
        show_progressbar=False,
    )
    best = {**hardcoded, **space_eval(space, best_raw)}
    best_trial = min(trials_log, key=lambda t: t.loss)
    outcome = TuningOutcome(best_params=best, trials=trials_log)
    if hardcoded:
        metric, run_id = evaluate(dict(hardcoded))
        baseline = Trial(params=dict(hardcoded), metric=metric, loss=loss_of(metric), run_id=run_id)
        trials_log.append(baseline)
        if baseline.loss < best_trial.loss:
            outcome.best_params = dict(hardcoded)
            outcome.baseline_won = True
    return outcome
