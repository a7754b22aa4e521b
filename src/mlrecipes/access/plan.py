"""The changes that make an MLflow basic-auth server match ``access.yaml`` (pure: the server's
state comes in as data, the changes go out as data; ``tracking.access_server`` does the I/O).

The first writer must not win: MLflow lets any authenticated user create an experiment or a
registered model that does not exist yet and makes its creator MANAGE it, so every environment's
resources are created here, by the admin, before anyone else can; a grant the file does not
declare (a creator's MANAGE, a hand-made grant) is revoked, and reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlrecipes.access.spec import AccessSpec

EXPERIMENT, MODEL = "experiment", "registered_model"
FIRST_WRITER = "MANAGE is what a creator gets: it created this before access apply"


@dataclass(frozen=True)
class Resource:
    kind: str  # EXPERIMENT | MODEL
    name: str
    environment: str

    def __str__(self) -> str:
        return f"{self.kind.replace('_', ' ')} '{self.name}' ({self.environment})"


@dataclass(frozen=True)
class ServerState:
    """What a server has: users (name -> is admin), experiments (name -> id), registered
    models, and the explicit per-user grants ((user, resource type, id or name) -> level)."""

    users: dict[str, bool] = field(default_factory=dict)
    experiments: dict[str, str] = field(default_factory=dict)
    models: frozenset[str] = frozenset()
    grants: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def key(self, resource: Resource) -> str | None:
        """The id grants use for ``resource`` (None: it does not exist yet)."""
        if resource.kind == EXPERIMENT:
            return self.experiments.get(resource.name)
        return resource.name if resource.name in self.models else None

    def holders(self, resource: Resource) -> dict[str, str]:
        key = self.key(resource)
        if key is None:
            return {}
        return {
            u: p
            for (u, kind, rid), p in self.grants.items()
            if kind == resource.kind and rid == key
        }


@dataclass(frozen=True)
class Change:
    action: (
        str  # create_user | create_experiment | create_registered_model | grant | change | revoke
    )
    identity: str = ""
    resource: Resource | None = None
    permission: str = ""
    previous: str = ""
    note: str = ""

    def describe(self) -> str:
        what = {
            "create_user": f"+ create user '{self.identity}'",
            "create_experiment": f"+ create {self.resource}",
            "create_registered_model": f"+ create {self.resource}",
            "grant": f"+ grant {self.permission} on {self.resource} to '{self.identity}'",
            "change": f"~ '{self.identity}' on {self.resource}: {self.previous} -> {self.permission}",
            "revoke": f"- revoke {self.previous} on {self.resource} from '{self.identity}'",
        }[self.action]
        return f"{what} ({self.note})" if self.note else what

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "identity": self.identity or None,
            "resource": None
            if self.resource is None
            else {"kind": self.resource.kind, "name": self.resource.name, "environment": self.resource.environment},
            "permission": self.permission or None,
            "previous": self.previous or None,
            "note": self.note or None,
        }  # fmt: skip


def resources(spec: AccessSpec, environments: list[str] | None = None) -> list[Resource]:
    names = environments or list(spec.environments)
    out = []
    for env in names:
        block = spec.environments[env]
        out += [Resource(EXPERIMENT, n, env) for n in block.experiments]
        out += [Resource(MODEL, n, env) for n in block.registered_models]
    return out


def plan(
    spec: AccessSpec, state: ServerState, environments: list[str] | None = None
) -> list[Change]:
    """Users to create, resources to create, grants to add, change and revoke, in that order."""
    selected = environments or list(spec.environments)
    unknown = [e for e in selected if e not in spec.environments]
    if unknown:
        raise ValueError(
            f"unknown environments {unknown} (access.yaml has {sorted(spec.environments)})"
        )
    wanted = {e: spec.grants_of(e) for e in selected}
    users = sorted({u for grants in wanted.values() for u in grants})
    changes = [Change("create_user", identity=u) for u in users if u not in state.users]
    listed = resources(spec, selected)
    changes += [Change(f"create_{r.kind}", resource=r) for r in listed if state.key(r) is None]
    for resource in listed:
        holders = state.holders(resource)
        for user, permission in sorted(wanted[resource.environment].items()):
            held = holders.get(user)
            if held is None:
                changes.append(Change("grant", user, resource, permission))
            elif held != permission:
                note = FIRST_WRITER if held == "MANAGE" else ""
                changes.append(Change("change", user, resource, permission, held, note))
        for user, held in sorted(holders.items()):
            if user in wanted[resource.environment] or state.users.get(user, False):
                continue  # declared, or an admin (admins can do everything anyway)
            note = FIRST_WRITER if held == "MANAGE" else "not in access.yaml"
            changes.append(Change("revoke", user, resource, previous=held, note=note))
    return changes


def matrix(
    spec: AccessSpec, state: ServerState, default_permission: str = "READ"
) -> list[dict[str, Any]]:
    """Who can do what, as the server has it: one row per environment x resource x identity
    (every declared identity, and anyone else holding a grant)."""
    rows = []
    for resource in resources(spec):
        exists = state.key(resource) is not None
        holders = state.holders(resource)
        declared = spec.grants_of(resource.environment)
        for user in sorted(set(spec.identities) | set(holders)):
            if state.users.get(user, False):
                continue
            held = holders.get(user)
            rows.append(
                {
                    "environment": resource.environment,
                    "resource": resource.kind,
                    "name": resource.name,
                    "identity": user,
                    "permission": held or f"{default_permission} (default)",
                    "declared": declared.get(user),
                    "exists": exists,
                    "matches": exists and held == declared.get(user),
                }
            )
    return rows
