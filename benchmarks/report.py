"""Markdown tables for benchmark output (no extra dependency)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def markdown_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], floatfmt: str = ".4f"
) -> str:
    def cell(value: Any) -> str:
        return format(value, floatfmt) if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_section(path: Any, name: str, body: str) -> None:
    """Replace (or append) the part of a results file between ``<!-- name -->`` markers, so
    each benchmark updates its own figures and leaves the others'."""
    from pathlib import Path

    path = Path(path)
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    text = path.read_text() if path.exists() else ""
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    elif name == "compare" and text and start not in text:
        text = block + "\n"  # the file from before sections: compare_recipes wrote all of it
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text)


def cpu_model() -> str:
    """The CPU's model name (benchmark figures are only comparable on the same machine)."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ensure_venv(venv: Any, requirements: Sequence[str], label: str) -> Any:
    """The ``bin`` folder of a benchmark's own virtual environment, created (once) with
    ``requirements`` when it has no Python yet (tools that do not install beside our pins)."""
    import subprocess
    import sys
    from pathlib import Path

    venv = Path(venv)
    python, installed = venv / "bin" / "python", venv / ".installed"
    if not installed.exists():  # marked only once the install finished: a failed one is redone
        print(f"creating {venv} ({label}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--progress-bar", "off", *requirements],
            check=True,
        )
        installed.touch()
    return venv / "bin"
