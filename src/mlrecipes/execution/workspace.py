"""The execution directory of one recipe profile and the atomic replacement of step outputs.

Layout::

    <exec>/lock                    profile lock (held while a run is in progress)
    <exec>/events.jsonl            why each step ran or was skipped
    <exec>/steps/<step>/state.json status, cache key, timings, summary, error
    <exec>/steps/<step>/outputs/   the step's outputs, replaced only when the step succeeds
    <exec>/steps/<step>/card.html  the step card (also card.json)
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from mlrecipes.execution.state import StepState

EXECUTION_DIR_ENV = "MLRECIPES_EXECUTION_DIR"


PROFILE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def check_profile_name(profile: str) -> str:
    """Profile names become folder names (and ``clean`` deletes folders): letters, digits, ``_``
    and ``-`` only, so no name can reach outside the execution directory."""
    if not PROFILE_NAME.fullmatch(profile or ""):
        from mlrecipes.errors import ConfigError

        raise ConfigError(
            f"--profile {profile!r}: a profile name may only hold letters, digits, '_' and '-'"
        )
    return profile


def execution_dir_for(root: Path, profile: str) -> Path:
    check_profile_name(profile)
    base = os.environ.get(EXECUTION_DIR_ENV)
    return (Path(base).expanduser().resolve() if base else root / ".mlrecipes") / profile


@dataclass(frozen=True)
class Workspace:
    path: Path

    @property
    def identity(self) -> str:
        """A stable id of this execution directory, tagged on what it creates in a registry."""
        import hashlib

        return hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:16]

    def step_dir(self, step: str) -> Path:
        return self.path / "steps" / step

    def outputs(self, step: str) -> Path:
        return self.step_dir(step) / "outputs"

    def state_path(self, step: str) -> Path:
        return self.step_dir(step) / "state.json"

    def active_run_marker(self, step: str) -> Path:
        """Where a step notes the MLflow run it has open, so a killed run can be closed later."""
        return self.step_dir(step) / "active_mlflow_run"

    def card_path(self, step: str) -> Path:
        return self.step_dir(step) / "card.html"

    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def lock_path(self) -> Path:
        return self.path / "lock"

    def state(self, step: str) -> StepState:
        return StepState.read(self.state_path(step))

    def new_temp_outputs(self, step: str) -> Path:
        tmp = self.step_dir(step) / f".tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir(parents=True)
        return tmp

    def commit_outputs(self, step: str, tmp: Path) -> None:
        """Swap ``tmp`` in as the outputs directory (rename, so readers never see a partial one)."""
        final = self.outputs(step)
        trash = None
        if final.exists():
            trash = self.step_dir(step) / f".old-{uuid.uuid4().hex[:12]}"
            os.rename(final, trash)
        os.rename(tmp, final)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)

    def discard_outputs(self, step: str) -> None:
        shutil.rmtree(self.outputs(step), ignore_errors=True)

    def remove_leftovers(self, step: str) -> None:
        """Temporary folders of runs that died (kill -9, power loss) are never reused."""
        directory = self.step_dir(step)
        if not directory.is_dir():
            return
        for child in directory.iterdir():
            if child.name.startswith((".tmp-", ".old-")):
                shutil.rmtree(child, ignore_errors=True)

    def check_removable(self, step: str) -> None:
        """Refuse a ``step`` folder that resolves outside this execution directory (a symlinked
        ``steps`` folder must not take ``clean`` elsewhere)."""
        target = self.step_dir(step)
        if not target.exists() and not target.is_symlink():
            return
        base = self.path.resolve()
        if target.is_symlink() or not target.resolve().is_relative_to(base):
            from mlrecipes.errors import ConfigError

            raise ConfigError(
                f"clean: {target} resolves to {target.resolve()}, outside the execution "
                f"directory {base}; nothing removed"
            )

    def clean(self, step: str) -> None:
        self.check_removable(step)
        shutil.rmtree(self.step_dir(step), ignore_errors=True)
