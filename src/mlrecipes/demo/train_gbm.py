"""The demo's data-scientist change (copied over the template's steps/train.py and committed):
gradient-boosted trees, which pick up the new churn drivers (a billing change for mailed-check
payers, pricier fiber) together with the old ones. Calibrated by the recipe like the default."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier


def estimator_fn(estimator_params: dict[str, Any] | None = None):
    params = {
        "learning_rate": 0.06, "max_iter": 250, "max_leaf_nodes": 15, "l2_regularization": 1.0,
        "class_weight": "balanced", "random_state": 42,
    }  # fmt: skip
    params.update(estimator_params or {})
    return HistGradientBoostingClassifier(**params)
