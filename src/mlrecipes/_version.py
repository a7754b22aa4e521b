"""The engine version: part of every cache key (a new engine re-runs the steps)."""

__version__ = "0.1.0"
