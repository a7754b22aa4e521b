"""``python -m mlrecipes.scaffold DIR [--check]``: render a project's shared files (recipe.yaml,
profiles, access.yaml, the jobs bundle; the notebooks as the package has them) again from its
``mlrecipes-init.yaml``, after an upgrade of
mlrecipes or an edit of the declaration. ``--check`` only reports the files that differ (exit 1).

The repository's churn template is kept this way: its shared files are this package's templates
rendered with its own declaration, so the wheel's `init` and the repository never drift apart.
Hand-written files (steps/, README) are never touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlrecipes.scaffold.project import (
    ANY_TASK_NOTEBOOKS,
    NOTEBOOKS,
    SHARED_FILES,
    Declaration,
    copied,
    render,
)

DECLARATION = "mlrecipes-init.yaml"


def stale_files(root: Path) -> dict[str, str]:
    """Shared files whose text differs from their rendering (or, for the notebooks, from the
    package's copy): path -> the text they should have."""
    declaration = Declaration.from_yaml(root / DECLARATION)
    rendered = render(declaration, SHARED_FILES) | copied(
        NOTEBOOKS if declaration.task == "classification" else ANY_TASK_NOTEBOOKS
    )
    return {
        path: text
        for path, text in rendered.items()
        if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != text
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    roots = [a for a in argv if a != "--check"] or ["."]
    if len(roots) != 1:
        print("usage: python -m mlrecipes.scaffold [DIR] [--check]", file=sys.stderr)
        return 2
    root = Path(roots[0])
    stale = stale_files(root)
    for path, text in stale.items():
        if check:
            print(f"{root / path}: differs from its rendering of {DECLARATION}", file=sys.stderr)
        else:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
            print(f"rendered {root / path}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
