"""Say "everything is up to date" without loading the engine.

Deciding that a fully cached run has nothing to do needs the validated configuration (pydantic,
Jinja2, PyYAML): ~0.15 s of imports, most of a cached run. After a run in which every step of
the plan succeeded, :func:`write_manifest` records what the cache keys were computed from:

- a digest of the context: engine version, recipe root, profile, target, ``--var`` values and
  the environment variables that rendering or tracking read;
- size and mtime of every file the keys depend on: the template files rendering read, every file
  under ``steps/``, the data sources, and each step's state file and every output file;
- the existence of stores outside the execution directory that a step's result lives in (the
  SQLite registry holding the registered version);
- the versions of Python and the libraries in the cache keys (``cache.library_versions``).

:func:`up_to_date_plan` compares only those. Any difference, even a touch that leaves a file's
content unchanged, makes it answer ``None`` and the caller runs the full content-hash check, so
this can make a run faster but never changes what runs. Plans with a step that always runs
(predict) or a source that cannot be fingerprinted (remote data) get no manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlrecipes._version import __version__
from mlrecipes.execution.report import Reporter, RunReport, report_up_to_date
from mlrecipes.execution.workspace import Workspace
from mlrecipes.io.atomic import write_text_atomic

MANIFEST_DIR = "uptodate"
TRACKING_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def manifest_path(workspace: Path, target: str) -> Path:
    return workspace / MANIFEST_DIR / f"{target}.json"


def context_digest(
    root: Path, profile: str, target: str, overrides: dict[str, Any], env_names: Iterable[str]
) -> str:
    from mlrecipes.execution.cache import library_versions

    env = {name: os.environ.get(name) for name in sorted(set(env_names))}
    context = [__version__, library_versions(), str(root), profile, target, overrides, env]
    return hashlib.sha256(json.dumps(context, sort_keys=True, default=repr).encode()).hexdigest()


def exists_entry(path: Path) -> list[Any]:
    """A file that must merely still exist (a SQLite store: its mtime moves with every write)."""
    return [str(path), "exists", path.exists()]


def stat_entry(path: Path) -> list[Any]:
    """A file's size, mtime, ctime and inode; a folder's listing (its mtime also moves when Python writes
    ``__pycache__`` into it, which changes nothing)."""
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            return [str(path), "dir", sorted(n for n in os.listdir(path) if n != "__pycache__")]
    except OSError:
        return [str(path), None, None]
    # ctime and inode too: `cp -p`, `rsync -t` and `tar -x` put an old mtime back on new content,
    # but cannot set the ctime, and a file replaced by rename has a new inode.
    return [str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def tree_paths(folder: Path) -> list[Path]:
    """``folder``, its subfolders and their files (bytecode caches excluded)."""
    if not folder.is_dir():
        return [folder]
    paths = [folder]
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        base = Path(dirpath)
        paths.extend(base / d for d in dirnames)
        paths.extend(base / f for f in sorted(filenames))
    return paths


def write_manifest(
    workspace: Path,
    root: Path,
    profile: str,
    target: str,
    plan: list[str],
    overrides: dict[str, Any],
    env_names: Iterable[str],
    entries: Iterable[list[Any]],
) -> None:
    """``entries`` are :func:`stat_entry` results; take those of inputs *before* the run, so a
    file edited while the run was reading it never looks up to date afterwards."""
    names = sorted(set(env_names) | set(TRACKING_ENV))
    manifest = {
        "plan": plan,
        "env_names": names,
        "context": context_digest(root, profile, target, overrides, names),
        "files": sorted(entries, key=lambda entry: entry[0]),
    }
    path = manifest_path(workspace, target)
    write_text_atomic(path, json.dumps(manifest))


def up_to_date_plan(
    workspace: Path, root: Path, profile: str, target: str, overrides: dict[str, Any]
) -> list[str] | None:
    """The plan of ``target`` if nothing it depends on changed since the manifest; else None."""
    if not target.isidentifier():
        return None
    try:
        manifest = json.loads(manifest_path(workspace, target).read_text(encoding="utf-8"))
        names, files, plan = manifest["env_names"], manifest["files"], manifest["plan"]
        if manifest["context"] != context_digest(root, profile, target, overrides, names):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for entry in files:
        check = exists_entry if entry[1] == "exists" else stat_entry
        if check(Path(entry[0])) != entry:
            return None
    return plan


def cached_report(
    workspace: Workspace,
    root: Path,
    profile: str,
    target: str,
    overrides: dict[str, Any],
    reporter: Reporter,
) -> RunReport | None:
    """The report of a fully cached run of ``target`` if the manifest vouches for it, else None."""
    plan = up_to_date_plan(workspace.path, root, profile, target, overrides)
    return None if plan is None else report_up_to_date(workspace, plan, reporter)


# After-run stamps: a step whose result lives outside the execution directory (deploy: the
# champion it left in the registry) is checked against that place when its cache is reused. When
# the place is a file (a SQLite registry) unchanged since the end of the last run, that check is
# skipped, so a full check with nothing to do stays free of MLflow (about 2 s of imports).
AFTER_STAMP = "after_run_stamp.json"


def write_after_stamp(workspace: Workspace, step: str, paths: list[Path]) -> None:
    """Record the step's state file and ``paths`` as they are at the end of a run."""
    entries = [stat_entry(workspace.state_path(step))] + [stat_entry(p) for p in paths]
    path = workspace.step_dir(step) / AFTER_STAMP
    write_text_atomic(path, json.dumps(entries))


def unchanged_since_last_run(workspace: Workspace, step: str, paths: list[Path]) -> bool:
    """Whether the step's state and ``paths`` (non-empty) are exactly as the last run left them."""
    if not paths:
        return False
    try:
        recorded = json.loads((workspace.step_dir(step) / AFTER_STAMP).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    current = [stat_entry(workspace.state_path(step))] + [stat_entry(p) for p in paths]
    return recorded == current and all(entry[1] is not None for entry in current)
