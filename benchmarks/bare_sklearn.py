"""The floor: the same read, split, fit and evaluation as the recipe, as one plain script
(pandas + scikit-learn, no MLflow, no caching, no cards)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline


def main(data: Path, recipe: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "bench_transform", recipe / "steps" / "transform.py"
    )
    transform = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(transform)
    spec = importlib.util.spec_from_file_location("bench_train", recipe / "steps" / "train.py")
    train_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_module)

    df = pd.read_csv(data)
    df = df[df["Churn"].notna()]
    train, rest = train_test_split(df, train_size=0.75, stratify=df["Churn"], random_state=42)
    validation, test = train_test_split(
        rest, train_size=0.5, stratify=rest["Churn"], random_state=42
    )
    model = Pipeline(
        [("transformer", transform.transformer_fn()), ("estimator", train_module.estimator_fn())]
    )
    model.fit(train.drop(columns=["Churn"]), train["Churn"])
    for name, part in (("validation", validation), ("test", test)):
        X, y = part.drop(columns=["Churn"]), part["Churn"]
        labels = model.predict(X)
        proba = model.predict_proba(X)[:, list(model.classes_).index("Yes")]
        scores = {
            "roc_auc": roc_auc_score(y == "Yes", proba),
            "f1_score": f1_score(y, labels, pos_label="Yes"),
            "precision_score": precision_score(y, labels, pos_label="Yes"),
            "recall_score": recall_score(y, labels, pos_label="Yes"),
            "accuracy_score": accuracy_score(y, labels),
            "log_loss": log_loss(y == "Yes", proba),
        }
        print(name, {k: round(v, 4) for k, v in scores.items()})


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
