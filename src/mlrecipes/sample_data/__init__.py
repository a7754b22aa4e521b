"""Sample datasets the project generates itself (no downloads)."""
