"""Champion/challenger decisions: pure functions over holdout predictions (no MLflow, no files).

``holdout`` proves a holdout is clean against a model's training rows, ``bootstrap`` compares two
models' metric on the same resampled rows, ``decision`` turns that into promote / keep / refuse.
The deploy step and the ``approve`` / ``reject`` / ``rollback`` commands apply the result to the
registry (``tracking/`` does the MLflow calls).
"""
