"""The seed demo: reset an environment (demo-setup)."""
