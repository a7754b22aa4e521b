"""Monitoring statistics as pure functions: input and prediction drift against a reference
summary, measured and estimated performance per scoring window, and the retraining trigger rule.
No MLflow, no files: the monitor step and ``mlrecipes retrain`` call them."""
