"""Per-step state (``steps/<name>/state.json``) and the append-only ``events.jsonl``."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mlrecipes.config.redaction import redact
from mlrecipes.io.atomic import write_text_atomic

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
    output_files: dict[str, list[int]] | None = None  # relative path -> [size, mtime_ns]
    source: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    card_seconds: float | None = None  # time spent only on the card (profiles, plots, HTML)
    # the step's part of the run's one-line result (Step.result_phrase), phrased when it ran,
    # so the cached path prints it without importing any step
    result_phrase: str | None = None
    # an always-run step's phrase says what that run did (rows scored): only a run that ran the
    # step says it (a later --only run of the next step did not score anything)
    action_phrase: str | None = None
    # Set when reading, never written: why the file could not be trusted (the step re-runs).
    problem: str | None = field(default=None, compare=False)

    @classmethod
    def read(cls, path: Path) -> StepState:
        """The state in ``path``; a file that is not a valid state (binary, a JSON list, wrong
        types) reads as "never ran" with a warning naming it, so the step re-runs once and
        rewrites it, instead of failing the same way on every run."""
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
            return cls(**_checked(data))
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
            problem = f"state file {path} is unreadable or corrupt ({exc}); the step re-runs"
            warnings.warn(problem, stacklevel=2)
            return cls(problem=problem)

    def write(self, path: Path) -> None:
        data = asdict(self)
        data.pop("problem")
        write_json_atomic(path, data)


_STATUSES = ("NOT_RUN", "RUNNING", "SUCCEEDED", "FAILED")
_TYPES: dict[str, tuple[type, ...]] = {
    "status": (str,),
    "cache_key": (str, type(None)),
    "started_at": (str, type(None)),
    "finished_at": (str, type(None)),
    "duration_s": (int, float, type(None)),
    "pid": (int, type(None)),
    "output_fingerprint": (str, type(None)),
    "output_files": (dict, type(None)),
    "source": (dict, type(None)),
    "summary": (dict,),
    "error": (dict, type(None)),
    "card_seconds": (int, float, type(None)),
    "result_phrase": (str, type(None)),
    "action_phrase": (str, type(None)),
}


def _checked(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    known = {k: v for k, v in data.items() if k in _TYPES}
    for key, value in known.items():
        if not isinstance(value, _TYPES[key]) or isinstance(value, bool):
            raise ValueError(f"'{key}' holds {type(value).__name__}")
    if known.get("status", "NOT_RUN") not in _STATUSES:
        raise ValueError(f"unknown status {known['status']!r}")
    return known


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, redact(json.dumps(data, indent=1, default=str)))


def append_event(path: Path, **event: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"at": now_iso(), **event}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(redact(json.dumps(record, default=str)) + "\n")
