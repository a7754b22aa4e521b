"""Opening a Delta table the engine keeps history in (monitoring, trigger, scores), so that a
damaged one is never mistaken for a new, empty one.

A folder of data files whose ``_delta_log`` is gone is not an empty table: starting it afresh
would silently drop its history (the trigger would see one window; a trigger in cooldown would
fire again). An unreadable log (corrupt or missing commits) is one clear line naming the table,
not delta-rs' backtrace. Both stop the command before it writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlrecipes.errors import DatasetError

if TYPE_CHECKING:
    from deltalake import DeltaTable


def _data_files(location: Path) -> int:
    return sum(1 for _ in location.rglob("*.parquet")) if location.is_dir() else 0


def existing_table(location: Path, name: str) -> DeltaTable | None:
    """The table at ``location``; None when there is none yet (nothing, or an empty folder)."""
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError

    if not (location / "_delta_log").is_dir():
        files = _data_files(location)
        if files:
            raise DatasetError(
                f"{name} at {location} holds {files} data file(s) but no _delta_log: it is not "
                "an empty table, and starting it afresh would lose its history; restore the "
                "_delta_log (from a backup), or move the folder away to start a new table"
            )
        return None
    try:
        return DeltaTable(str(location))
    except DeltaError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DatasetError(
            f"{name} at {location}: its Delta log cannot be read ({first}); restore the "
            "_delta_log from a backup; nothing was written"
        ) from None
