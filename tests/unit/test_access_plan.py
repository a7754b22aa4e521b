"""access.yaml and the plan that makes a server match it, and the data-roots guard: pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrecipes.access.data_roots import crossings, data_locations, environment_of
from mlrecipes.access.plan import EXPERIMENT, MODEL, ServerState, matrix, plan
from mlrecipes.access.spec import AccessSpec, load_access
from mlrecipes.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def spec() -> AccessSpec:
    return load_access(REPO / "access.yaml")


def test_the_template_gives_prod_edit_to_the_prod_identity_alone(spec: AccessSpec) -> None:
    prod = spec.grants_of("prod")
    assert [u for u, p in prod.items() if p in ("EDIT", "MANAGE")] == ["prod-deployer"]
    assert spec.grants_of("dev")["ds-alice"] == "EDIT"  # through the data-scientists group
    assert spec.grants_of("staging") == {
        "ds-alice": "READ",
        "ci-staging": "EDIT",
        "prod-deployer": "READ",
    }


def test_on_an_empty_server_everything_is_created_before_it_is_granted(spec: AccessSpec) -> None:
    changes = plan(spec, ServerState(users={"admin": True}))
    actions = [c.action for c in changes]
    assert actions[:3] == ["create_user"] * 3
    last_create = max(i for i, a in enumerate(actions) if a.startswith("create_"))
    assert all(a == "grant" for a in actions[last_create + 1 :])
    assert sum(a == "create_experiment" for a in actions) == 6
    assert sum(a == "create_registered_model" for a in actions) == 3
    assert sum(a == "grant" for a in actions) == 9 * 3


def _applied(spec: AccessSpec) -> ServerState:
    """A server that matches the spec: ids for experiments, every declared grant."""
    experiments = {n: str(i) for i, n in enumerate(e for env in spec.environments.values() for e in env.experiments)}  # fmt: skip
    models = frozenset(m for env in spec.environments.values() for m in env.registered_models)
    grants = {}
    for name, env in spec.environments.items():
        for user, permission in spec.grants_of(name).items():
            grants |= {(user, EXPERIMENT, experiments[e]): permission for e in env.experiments}
            grants |= {(user, MODEL, m): permission for m in env.registered_models}
    users = {"admin": True, **dict.fromkeys(spec.identities, False)}
    return ServerState(users, experiments, models, grants)


def test_a_matching_server_needs_nothing_and_a_first_writer_is_taken_back(spec: AccessSpec) -> None:
    state = _applied(spec)
    assert plan(spec, state) == []
    assert all(row["matches"] for row in matrix(spec, state))
    intruder = {("mallory", MODEL, "prod.churn.churn_model"): "MANAGE"}
    raised = {("ds-alice", MODEL, "prod.churn.churn_model"): "MANAGE"}
    users = {**state.users, "mallory": False}
    changed = ServerState(
        users, state.experiments, state.models, {**state.grants, **intruder, **raised}
    )
    found = {(c.action, c.identity, c.previous, c.permission) for c in plan(spec, changed)}
    assert found == {("revoke", "mallory", "MANAGE", ""), ("change", "ds-alice", "MANAGE", "READ")}
    assert [c.action for c in plan(spec, changed, ["dev"])] == []  # only prod differs


def test_access_file_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(
        "identities: {a: {password_env: A_PW}}\n"
        "environments:\n  prod:\n    profile: prod\n    experiments: [x]\n"
        "    registered_models: [m]\n    grants: {b: EDIT}\n"
    )
    with pytest.raises(ConfigError, match=r"environments\.prod\.grants\.b: not an identity"):
        load_access(path)
    path.write_text("identities: {a: {password: hunter2}}\nenvironments: {}\n")
    with pytest.raises(ConfigError, match=r"identities\.a\.password: Extra inputs"):
        load_access(path)


def test_a_profile_may_not_use_another_environments_data(spec: AccessSpec) -> None:
    config = {
        "steps": {
            "features": {"source": {"location": "data/prod/customers.csv"}},
            "ingest": {"location": ["data/dev/a.csv", "/abs/elsewhere.csv"]},
            "predict": {"output": {"location": "data/scores/churn_dev"}},
        },
        "feature_store": {"root": "data/feature_store/dev"},
    }
    assert len(list(data_locations(config))) == 5
    assert environment_of(spec, "dev") == "dev" and environment_of(spec, "local") is None
    root = Path("/recipe")
    found = crossings(spec, "dev", config, root)
    assert found == [
        ("steps.features.source.location", "data/prod/customers.csv", "prod", "data/prod")
    ]
    assert crossings(spec, "prod", config, root) == [
        ("steps.ingest.location[0]", "data/dev/a.csv", "dev", "data/dev"),
        ("steps.predict.output.location", "data/scores/churn_dev", "dev", "data/scores/churn_dev"),
        ("feature_store.root", "data/feature_store/dev", "dev", "data/feature_store/dev"),
    ]
    # a sibling that only shares a prefix is not under the root
    assert crossings(spec, "dev", {"location": "data/production/x.csv"}, root) == []
    # a profile of no environment (local) may use none of them
    assert len(crossings(spec, "local", config, root)) == 4
