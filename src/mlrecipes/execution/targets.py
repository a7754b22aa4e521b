"""The default target of a run (kept apart from the DAG so the CLI can name it cheaply)."""

DEFAULT_TARGET = "register"
