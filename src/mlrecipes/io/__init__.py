"""Data I/O: every read and write of tabular data goes through this package."""
