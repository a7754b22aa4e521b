"""Per-step state (``steps/<name>/state.json``) and the append-only ``events.jsonl``."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Status = Literal["NOT_RUN", "RUNNING", "SUCCEEDED", "FAILED"]


@dataclass
class StepState:
    status: Status = "NOT_RUN"
    cache_key: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    pid: int | None = None
    output_fingerprint: str | None = None
    source: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    card_seconds: float | None = None  # time spent only on the card (profiles, plots, HTML)

    @classmethod
    def read(cls, path: Path) -> StepState:
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def write(self, path: Path) -> None:
        write_json_atomic(path, asdict(self))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def append_event(path: Path, **event: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"at": now_iso(), **event}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str) + "\n")
