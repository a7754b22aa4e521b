"""Everything that talks to MLflow lives in this package (settings.py alone does not import it)."""
