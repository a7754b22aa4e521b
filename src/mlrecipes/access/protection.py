"""Which profiles are protected: their resources are touched by destructive commands only with
``--i-know``, and their cards show no customer rows. Protection is a property of an environment
in ``access.yaml`` (``protected``, by default the one called prod); without that file, of the
profile called prod."""

from __future__ import annotations

from pathlib import Path

from mlrecipes.access.spec import PROTECTED_NAME, AccessSpec, load_access

ACCESS_FILE = "access.yaml"


def access_spec(root: Path) -> AccessSpec | None:
    path = root / ACCESS_FILE
    return load_access(path) if path.is_file() else None


def protected_profile(root: Path, profile: str) -> bool:
    spec = access_spec(root)
    if spec is not None:
        for name, env in spec.environments.items():
            if env.profile == profile:
                return env.is_protected(name)
    return profile == PROTECTED_NAME
