"""``access.yaml``: who may do what on each environment's MLflow experiments and registered models.

Identities are names only (MLflow basic-auth users, people or service principals); a password
comes from the environment variable an identity names, and only when ``access apply`` has to
create the user. Grants name an identity or a group, per environment, with MLflow's permission
levels (READ, USE, EDIT, MANAGE, DENY).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlrecipes.errors import ConfigError

Permission = Literal["READ", "USE", "EDIT", "MANAGE", "DENY"]
# what each level allows, lowest first (DENY is apart: it beats every grant)
LEVELS: tuple[str, ...] = ("NO_PERMISSIONS", "READ", "USE", "EDIT", "MANAGE")


PROTECTED_NAME = "prod"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identity(_Strict):
    kind: Literal["user", "service_principal"] = "user"
    password_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class Environment(_Strict):
    profile: str
    experiments: list[str] = Field(min_length=1)
    registered_models: list[str] = Field(min_length=1)
    # where this environment's data lives (inputs, feature store, scoring outputs, monitoring):
    # other environments' profiles refuse to read under them (see mlrecipes.access.data_roots)
    data_roots: list[str] = Field(default_factory=list)
    grants: dict[str, Permission]
    # destructive commands (`demo reset`) touch what a protected environment owns only with
    # --i-know; unset: protected when the environment or its profile is called prod
    protected: bool | None = None

    def is_protected(self, name: str) -> bool:
        if self.protected is not None:
            return self.protected
        return PROTECTED_NAME in (name, self.profile)


class AccessSpec(_Strict):
    identities: dict[str, Identity]
    groups: dict[str, list[str]] = Field(default_factory=dict)
    environments: dict[str, Environment]

    @model_validator(mode="after")
    def _names_resolve(self) -> AccessSpec:
        for group, members in self.groups.items():
            if group in self.identities:
                raise ValueError(f"groups.{group}: a group cannot share an identity's name")
            unknown = [m for m in members if m not in self.identities]
            if unknown:
                raise ValueError(f"groups.{group}: unknown identities {unknown}")
        for env, spec in self.environments.items():
            for name in spec.grants:
                if name not in self.identities and name not in self.groups:
                    raise ValueError(
                        f"environments.{env}.grants.{name}: not an identity or a group "
                        f"(identities: {sorted(self.identities)}, groups: {sorted(self.groups)})"
                    )
        return self

    def grants_of(self, environment: str) -> dict[str, str]:
        """Each identity's permission in ``environment`` (a direct grant beats its group's)."""
        env = self.environments[environment]
        out: dict[str, str] = {}
        for name, permission in env.grants.items():
            for member in self.groups.get(name, []):
                out.setdefault(member, permission)
        for name, permission in env.grants.items():
            if name in self.identities:
                out[name] = permission
        return out


def load_access(path: Path) -> AccessSpec:
    """Read and check ``access.yaml``; errors name the file and the key."""
    import yaml

    if not path.is_file():
        raise ConfigError(f"{path}: no such access file (see docs/how-to/environments.md)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return AccessSpec.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
