"""No secret leaks, no write escapes (issue #32): the pure parts. Every location spelling the
readers accept reaches the data-roots guard as the same path; credentials in a store URI never
reach what is recorded; a decision records who authenticated, a declared name only beside it;
templates cannot read outside the recipe root; protected profiles' cards carry no rows."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from mlrecipes.access.data_roots import crossings
from mlrecipes.access.spec import AccessSpec
from mlrecipes.config.locations import is_remote, local_path
from mlrecipes.config.redaction import has_credentials, redact, redact_uri
from mlrecipes.errors import ConfigError
from mlrecipes.execution.context import load_recipe

# --- one normaliser for every location spelling ------------------------------------------------


def _spellings(root: Path) -> list[str]:
    absolute = root / "data" / "prod" / "customers.csv"
    return [
        "data/prod/customers.csv",
        "./data/dev/../prod/customers.csv",
        "file:data/prod/customers.csv",
        f"file:{absolute}",
        f"file://{absolute}",
        f"file://localhost{absolute}",
        f"file://{str(absolute).replace('customers', 'custo%6Ders')}",
        str(absolute),
    ]


def test_every_location_spelling_names_the_same_file(tmp_path: Path) -> None:
    expected = (tmp_path / "data" / "prod" / "customers.csv").resolve()
    for spelling in _spellings(tmp_path):
        assert not is_remote(spelling)
        assert local_path(spelling, tmp_path).resolve() == expected, spelling
    assert is_remote("s3://bucket/data/prod/customers.csv")
    with pytest.raises(ConfigError, match="on host 'fileserver' is not on this machine"):
        local_path("file://fileserver/data/prod/customers.csv", tmp_path)


def _environment(name: str) -> dict:
    return {
        "profile": name,
        "experiments": [f"churn-{name}"],
        "registered_models": [f"{name}.churn.churn_model"],
        "data_roots": [f"data/{name}"],
        "grants": {},
    }


SPEC = AccessSpec.model_validate(
    {"identities": {}, "environments": {"dev": _environment("dev"), "prod": _environment("prod")}}
)


def test_the_data_roots_guard_sees_through_every_spelling(tmp_path: Path) -> None:
    for spelling in _spellings(tmp_path):
        config = {"steps": {"features": {"source": {"location": spelling}}}}
        found = crossings(SPEC, "dev", config, tmp_path)
        assert [(key, env) for key, _, env, _ in found] == [
            ("steps.features.source.location", "prod")
        ], spelling
    own = {"steps": {"features": {"source": {"location": "file:data/dev/customers.csv"}}}}
    assert crossings(SPEC, "dev", own, tmp_path) == []


def test_a_symlink_into_another_environment_is_a_crossing(tmp_path: Path) -> None:
    (tmp_path / "data" / "prod").mkdir(parents=True)
    (tmp_path / "innocent").symlink_to(tmp_path / "data" / "prod")
    config = {"steps": {"ingest": {"location": "file:innocent/customers.csv"}}}
    assert [env for _, _, env, _ in crossings(SPEC, "dev", config, tmp_path)] == ["prod"]


# --- credentials in a store URI -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("http://alice:s3cr3t@127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://alice:p%40ss@mlflow.example.com/path?x=1", "https://mlflow.example.com/path?x=1"),
        ("https://token@mlflow.example.com", "https://mlflow.example.com"),
        ("postgresql://u:pw@db:5432/mlflow", "postgresql://db:5432/mlflow"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("sqlite:////tmp/a@b/mlruns.db", "sqlite:////tmp/a@b/mlruns.db"),
        ("databricks", "databricks"),
    ],
)
def test_redact_uri_drops_userinfo_only(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown
    assert has_credentials(uri) == (uri != shown)


def test_redact_finds_credentials_inside_any_text() -> None:
    text = (
        "API request to http://ci:pa55@127.0.0.1:5000/api/2.0/mlflow/runs/get failed; "
        "registry 'https://u:v@h.example.com/x', tracking=http://127.0.0.1:1"
    )
    out = redact(text)
    assert "pa55" not in out and "u:v@" not in out
    assert "http://127.0.0.1:5000/api/2.0/mlflow/runs/get" in out
    assert "'https://h.example.com/x'" in out and "http://127.0.0.1:1" in out
    assert redact("an e-mail a@b.c and a path /tmp/a@b") == "an e-mail a@b.c and a path /tmp/a@b"


def test_tracking_settings_record_no_credentials(tmp_path: Path, monkeypatch) -> None:
    from mlrecipes.config.tracking import resolve_tracking

    root = _recipe(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://ci:pa55@127.0.0.1:5999")
    settings = resolve_tracking(load_recipe(root, "local", {}))
    assert settings.tracking_uri == "http://127.0.0.1:5999"
    assert settings.registry_uri == "http://127.0.0.1:5999"
    assert "pa55" not in repr(settings) and "pa55" not in str(settings.__dict__.get("tracking_uri"))
    # MLflow still gets them: its client sends the userinfo as basic auth
    assert settings.connect_tracking_uri == "http://ci:pa55@127.0.0.1:5999"
    assert settings.connect_registry_uri == "http://ci:pa55@127.0.0.1:5999"
    assert settings.credentials_in_uri


# --- who decided ------------------------------------------------------------------------------


def test_the_decider_is_the_authenticated_identity_and_a_declared_name_only_a_claim() -> None:
    from mlrecipes.deployment.audit import decider

    claimed = {"MLRECIPES_DECIDER": "ds-alice", "GITHUB_ACTOR": "someone"}
    who = decider("prod-deployer", "mlflow basic-auth", claimed)
    assert who.as_event() == {
        "by": "prod-deployer",
        "by_source": "mlflow basic-auth",
        "declared_by": "ds-alice",
    }
    assert decider("prod-deployer", "mlflow basic-auth", {}).as_event() == {
        "by": "prod-deployer",
        "by_source": "mlflow basic-auth",
    }
    # the declared name is recorded beside the identity, never instead of it
    assert decider("alice", "os user", {"GITHUB_ACTOR": "bob"}).as_event()["by"] == "alice"
    assert decider("alice", "os user", {"GITHUB_ACTOR": "alice"}).as_event() == {
        "by": "alice",
        "by_source": "os user",
    }


# --- templates stay inside the root -----------------------------------------------------------


def _recipe(tmp_path: Path, profile: str = 'DATA: "d.csv"\n') -> Path:
    root = tmp_path / "recipe"
    (root / "profiles").mkdir(parents=True)
    (root / "recipe.yaml").write_text(
        textwrap.dedent(
            """
            recipe: "classification/v1"
            target_col: "label"
            positive_class: "yes"
            steps:
              ingest: {using: csv, location: "{{ DATA }}"}
              train: {estimator_method: estimator_fn}
              register: {model_name: m}
            """
        )
    )
    (root / "profiles" / "local.yaml").write_text(profile)
    return root


def test_an_include_through_a_symlink_cannot_read_outside_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "secret.yaml"
    outside.parent.mkdir()
    outside.write_text("TOP_SECRET_LINE: the deployer's password is hunter2\n")
    root = _recipe(tmp_path, profile='{% include "profiles/shared.yaml" %}\nDATA: "d.csv"\n')
    (root / "profiles" / "shared.yaml").symlink_to(outside)
    with pytest.raises(ConfigError) as caught:
        load_recipe(root, "local", {})
    message = str(caught.value)
    assert "profiles/shared.yaml" in message and "outside the recipe root" in message
    assert "hunter2" not in message and "TOP_SECRET" not in message
    for escape in ("../elsewhere/secret.yaml", str(outside)):
        (root / "profiles" / "local.yaml").write_text(f'{{% include "{escape}" %}}\n')
        with pytest.raises(ConfigError) as caught:
            load_recipe(root, "local", {})
        assert "hunter2" not in str(caught.value)


def test_an_include_inside_the_root_still_works(tmp_path: Path) -> None:
    root = _recipe(tmp_path, profile='{% include "profiles/shared.yaml" %}\n')
    (root / "profiles" / "shared.yaml").write_text('DATA: "shared.csv"\n')
    assert load_recipe(root, "local", {}).config.steps.ingest.location == "shared.csv"


# --- cards of protected profiles carry no customer rows ---------------------------------------


def test_a_card_without_row_previews_keeps_schema_and_statistics_only() -> None:
    from mlrecipes.cards.model import Card
    from mlrecipes.cards.profiles import data_profile_tab, preview_tab, schema_tab
    from mlrecipes.cards.render import render_html

    frame = pd.DataFrame({"customerID": ["7590-VHVEG", "5575-GNVDE"], "tenure": [1, 34]})
    card = Card(step="ingest", recipe="r", profile="prod", row_previews=False)
    card.tabs += [data_profile_tab(frame), schema_tab(frame), preview_tab(frame)]
    card.tab("Worst predictions").rows(frame)
    for text in (render_html(card), card.to_json()):
        assert "5575-GNVDE" not in text and "7590-VHVEG" not in text
        assert "row previews are off" in text
        assert "tenure" in text  # the schema stays
    shown = Card(step="ingest", recipe="r", profile="dev")
    shown.tabs.append(preview_tab(frame))
    assert "5575-GNVDE" in json.loads(shown.to_json())["tabs"][0]["blocks"][0]["rows"][1]
