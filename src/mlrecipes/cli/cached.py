"""``mlrecipes run --profile P [--step S]`` answered before click is imported, when the fast
path (``execution.fastpath``) says every step is up to date: click and the command modules are
most of a cached run's imports (49 of its ~95 ms, measured with ``-X importtime``), and a cached
run is the command people type most. Anything else on the command line (another command, any
other option, ``--help``, a malformed argument) goes to the full CLI, which parses it as always;
so does a run the fast path cannot answer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_OPTIONS = {"--profile": "profile", "-p": "profile", "--step": "step", "-s": "step"}


def plain_run(argv: list[str]) -> tuple[str, str | None] | None:
    """(profile, step) of ``run`` with only --profile/-p and --step/-s (each once, a value
    each, ``--opt=value`` or ``--opt value``); None for any other command line."""
    if not argv or argv[0] != "run":
        return None
    found: dict[str, str] = {}
    rest = argv[1:]
    while rest:
        head, rest = rest[0], rest[1:]
        name, eq, value = head.partition("=")
        key = _OPTIONS.get(name if eq else head)
        if key is None or key in found:
            return None
        if not eq:
            if not rest or rest[0].startswith("-"):
                return None
            value, rest = rest[0], rest[1:]
        if not value:
            return None
        found[key] = value
    if "profile" not in found:
        return None  # the profile from the environment: the full CLI reads it
    return found["profile"], found.get("step")


def answer(argv: list[str]) -> bool:
    """Print the cached run's report and return True when ``argv`` is a plain run with nothing
    to do; False (having printed nothing) otherwise."""
    parsed = plain_run(argv)
    return parsed is not None and report_if_up_to_date(*parsed, None)


def report_if_up_to_date(profile: str, step: str | None, recipe_root: Path | None) -> bool:
    """Print a fully cached run's report and return True; False, having printed nothing, when
    something must run (or the recipe cannot be found: the full path reports that)."""
    from mlrecipes.config.paths import find_recipe_root
    from mlrecipes.errors import MlrecipesError
    from mlrecipes.execution import cached_run, reporter

    try:
        root = find_recipe_root(recipe_root)
    except MlrecipesError:
        return False
    report = cached_run(root, profile, step, reporter(_to_stderr))
    if report is None:
        return False
    print_outcome(report, root, profile)
    return True


def print_outcome(report: Any, root: Path, profile: str) -> None:
    """What ran, what was cached, where the cards are, and the run's result line."""
    from mlrecipes.execution import execution_dir, result_line

    ran, cached = report.names("ran"), report.names("cached")
    print(
        f"Ran: {', '.join(ran) or 'nothing'}; cached: {', '.join(cached) or 'none'}; "
        f"cards: {execution_dir(root, profile) / 'steps'}"
    )
    line = result_line(root, profile, [o.step for o in report.outcomes], ran)
    if line:
        print(line)


def _to_stderr(text: str) -> None:
    from mlrecipes.config.redaction import redact

    print(redact(text), file=sys.stderr)
