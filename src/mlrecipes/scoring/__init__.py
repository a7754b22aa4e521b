"""Batch scoring: one job description (job.py) that the pandas and the Spark engine both take,
and the pure frame helpers they share (frames.py)."""
