"""The steps of the recipes, by name (an explicit mapping, no discovery magic)."""

from __future__ import annotations

from mlrecipes.steps.base import Step
from mlrecipes.steps.evaluate import EvaluateStep
from mlrecipes.steps.ingest import IngestStep
from mlrecipes.steps.ingest_scoring import IngestScoringStep
from mlrecipes.steps.predict import PredictStep
from mlrecipes.steps.register import RegisterStep
from mlrecipes.steps.split import SplitStep
from mlrecipes.steps.train import TrainStep
from mlrecipes.steps.transform import TransformStep

TRAINING_STEPS = ("ingest", "split", "transform", "train", "evaluate", "register")
SCORING_STEPS = ("ingest_scoring", "predict")

STEP_CLASSES: dict[str, type[Step]] = {
    "ingest": IngestStep,
    "split": SplitStep,
    "transform": TransformStep,
    "train": TrainStep,
    "evaluate": EvaluateStep,
    "register": RegisterStep,
    "ingest_scoring": IngestScoringStep,
    "predict": PredictStep,
}

__all__ = ["SCORING_STEPS", "STEP_CLASSES", "TRAINING_STEPS", "Step"]
