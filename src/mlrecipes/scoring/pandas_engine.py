"""The pandas engine of batch scoring: the scoring data streamed through the model in batches,
so memory stays flat whatever the number of rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from mlrecipes.io.batches import iter_parquet_frames, parquet_schema, write_batches
from mlrecipes.process.memory import release_free_memory, returnable_memory
from mlrecipes.scoring.frames import coerce_frame, output_frame, parsed_columns
from mlrecipes.scoring.job import ScoringJob


class NullCounter:
    """Counts missing values per model input column over the batches (for the summary)."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        self.rows = 0
        self.nulls = dict.fromkeys(columns, 0)

    def add(self, frame: Any) -> None:
        self.rows += len(frame)
        present = [c for c in self.columns if c in frame.columns]
        for column, count in frame[present].isna().sum().items():
            self.nulls[column] += int(count)

    def all_null(self) -> list[str]:
        return [c for c, n in self.nulls.items() if self.rows and n == self.rows]


def check_convertible(source: Path, plan: dict[str, str], batch_rows: int) -> None:
    """Parse every value that must be parsed before a single row is written (only the columns
    whose conversion can fail are read)."""
    columns = parsed_columns(plan)
    if not columns:
        return
    first_row = 0
    for frame in iter_parquet_frames(source, batch_rows, columns=columns):
        coerce_frame(frame, {c: plan[c] for c in columns}, first_row)
        first_row += len(frame)


def score_with_pandas(job: ScoringJob, nulls: NullCounter) -> tuple[int, pd.DataFrame]:
    """Score ``job.source`` batch by batch into the output; the rows written and a preview."""

    assert job.location is not None
    frames = iter_parquet_frames(job.source, job.batch_size)
    dated = bool(job.partition)

    def score(frame: Any) -> Any:
        nulls.add(frame)
        inputs = coerce_frame(frame, job.plan)
        predictions = job.model.predict(inputs)
        return output_frame(
            inputs,  # model inputs as the model's types, the other columns as read
            predictions,
            job.id_columns,
            job.resolved,
            job.scored_at,
            dated,
            job.keep_input_columns,
        )

    first_out = score(next(frames))
    schema = output_schema(first_out, parquet_schema(job.source))

    def batches():
        yield pa.RecordBatch.from_pandas(first_out, schema=schema, preserve_index=False)
        for frame in frames:
            yield pa.RecordBatch.from_pandas(score(frame), schema=schema, preserve_index=False)
            release_free_memory()

    with returnable_memory():
        rows = write_batches(
            batches(), schema, job.using, job.location, job.save_mode, job.partition
        )
    return rows, first_out.head(10_000)


def output_schema(first: Any, source: Any) -> Any:
    """The output's Arrow schema, from the first scored batch. A column that batch holds only
    nulls in takes the scoring data's type (later batches may hold values), or text when the
    whole column is empty (Delta has no null type)."""
    import pyarrow as pa

    schema = pa.Schema.from_pandas(first, preserve_index=False).remove_metadata()
    fields = []
    for f in schema:
        if pa.types.is_null(f.type):
            known = source.field(f.name).type if f.name in source.names else pa.null()
            f = f.with_type(pa.string() if pa.types.is_null(known) else known)
        fields.append(f)
    return pa.schema(fields)
