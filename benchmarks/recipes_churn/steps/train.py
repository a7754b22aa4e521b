"""The same estimator as the template (steps/train.py at the repository root)."""

from sklearn.linear_model import LogisticRegression


def estimator_fn(estimator_params=None):
    params = {"C": 0.2, "class_weight": "balanced", "max_iter": 2000}
    params.update(estimator_params or {})
    return LogisticRegression(**params)
