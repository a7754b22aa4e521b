"""What a predict run killed between its scores commit and its record left behind, and what the
next run does about it (crash recovery, #31).

Predict journals the window it is about to write (its scoring time, output, model and a hash of
its input) before writing, and clears the entry once ``prediction_info`` records the window.
An entry found at the next run means the last run died in between; the output itself says
whether the commit happened (rows scored at that time are there, or not):

- committed, same input and same model: the window is complete; the run adopts it instead of
  scoring the same rows again (which would put every customer in the table twice);
- committed, other input or model: a complete window nobody recorded; it stays in the output
  (it is what the model said of that data) and the run says so, then scores its own;
- not committed: the killed run left nothing visible; the run scores as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlrecipes.errors import DatasetError
from mlrecipes.io.hashing import hash_file, hash_tree
from mlrecipes.io.monitoring_table import window_batches


def input_print(source: Path) -> str:
    """The scoring input's content hash (a file, or a folder of files)."""
    return hash_tree(source) if source.is_dir() else hash_file(source)


def committed_rows(location: Path, scored_at: str) -> int:
    """Rows of the output at ``location`` scored at ``scored_at`` (0 when there is no output)."""
    if not location.exists():
        return 0
    try:
        return sum(b.num_rows for b in window_batches(location, scored_at, ["scored_at"]))
    except (OSError, ValueError, KeyError):  # no scored_at column: not a scores output
        return 0


Action = Literal["adopt", "orphan", "nothing"]


@dataclass(frozen=True)
class Recovery:
    action: Action
    scored_at: str
    rows: int
    model: str

    def message(self, location: Path) -> str:
        if self.action == "adopt":
            return (
                f"a predict run killed after committing window {self.scored_at} ({self.rows} "
                f"rows, {self.model}) to {location} left it unrecorded; this run records that "
                "window instead of scoring the same input again"
            )
        if self.action == "orphan":
            return (
                f"warning: a predict run killed after committing window {self.scored_at} "
                f"({self.rows} rows, {self.model}) to {location} never recorded it, and its "
                "input or model differs from this run's: those rows stay in the output, and "
                "no monitoring window covers them"
            )
        return f"a predict run killed before its commit left nothing in {location}"


def recovery(
    pending: dict[str, Any], committed: int, source_print: str, model_uri: str
) -> Recovery:
    """The next run's action for a journal entry whose window has ``committed`` rows."""
    same_job = pending.get("input") == source_print and pending.get("model_uri") == model_uri
    if not committed:
        action: Action = "nothing"
    else:
        action = "adopt" if same_job else "orphan"
    model = f"{pending.get('model_name')} v{pending.get('model_version')}"
    return Recovery(action, str(pending.get("scored_at")), committed, model)


def refuse_second_scoring(location: Path, scored_at: str) -> None:
    """Appending a window whose scoring time the output already holds would put its
    customers in the table twice (a fixed SCORING_TIME run again); refused."""
    rows = committed_rows(location, scored_at)
    if rows:
        raise DatasetError(
            f"{location} already holds window {scored_at} ({rows} rows); scoring it again "
            "would count its customers twice. Use another scoring time "
            "(steps.predict.scoring_time), or save_mode: overwrite to replace the output"
        )
