"""The production loop's operations over a Recipe that no single step owns: the retraining trigger (retrain.py)."""
