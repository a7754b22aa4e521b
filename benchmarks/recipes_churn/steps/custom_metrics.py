"""No custom metrics."""
