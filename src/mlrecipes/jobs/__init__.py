"""The pipelines as jobs: the Databricks bundle read as data, and its commands run locally."""
