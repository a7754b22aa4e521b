"""The Tracker's registry calls: versions, their tags and aliases, each failure said as a
:class:`TrackingError` naming the call (mixed into ``tracking.client.Tracker``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException

from mlrecipes.config.redaction import redact
from mlrecipes.errors import TrackingError

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from mlrecipes.tracking.guard import GuardedClient


class RegistryCalls:
    """Registry calls over the tracker's client; the tracker supplies ``client``, ``scoped``
    (the fluent API pointed at its stores) and ``_fail`` (its error wording)."""

    client: GuardedClient
    scoped: Callable[[], AbstractContextManager[None]]
    _fail: Callable[[str, Exception], TrackingError]

    def register(
        self, model_uri: str, name: str, tags: dict[str, str], run_id: str | None = None
    ) -> str:
        """Create a model version; its tags are written in the same call as the version, so an
        interrupted registration can always be found again by them."""
        model_id = model_uri[len("models:/") :] if model_uri.startswith("models:/m-") else None
        try:
            try:
                self.client.create_registered_model(name)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            with self.scoped():  # the registry resolves a models:/ source through the fluent URI
                version = self.client.create_model_version(
                    name, source=model_uri, run_id=run_id, tags=tags, model_id=model_id
                )
        except MlflowException as exc:
            raise self._fail(f"registering {model_uri} as '{name}'", exc) from exc
        return str(version.version)

    def versions_tagged(self, name: str, tags: dict[str, str]) -> list[Any]:
        """Model versions of ``name`` carrying all of ``tags`` (with their tags and aliases)."""
        try:
            found = self.client.search_model_versions(f"name = '{_quote(name)}'")
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return []
            raise self._fail(f"searching the versions of {name}", exc) from exc
        matching = [mv for mv in found if all(mv.tags.get(k) == v for k, v in tags.items())]
        if not matching:
            return []
        # search_model_versions leaves ``aliases`` empty on some stores (SQLite): take them
        # from the registered model, which always has them.
        by_version: dict[str, list[str]] = {}
        for alias, version in self.client.get_registered_model(name).aliases.items():
            by_version.setdefault(str(version), []).append(alias)
        for mv in matching:
            mv.aliases = sorted(by_version.get(str(mv.version), []))
        return matching

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.client.set_model_version_tag(name, version, key, value)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, version)

    def delete_version(self, name: str, version: str) -> None:
        try:
            self.client.delete_model_version(name, version)
        except MlflowException as exc:
            raise self._fail(f"deleting version {version} of {name}", exc) from exc

    def get_alias_version(self, name: str, alias: str) -> str | None:
        try:
            return str(self.client.get_model_version_by_alias(name, alias).version)
        except MlflowException:
            return None

    def aliases(self, name: str) -> dict[str, str]:
        """Alias -> version of a registered model ({} when the model does not exist)."""
        try:
            found = self.client.get_registered_model(name).aliases
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return {}
            raise
        return {alias: str(version) for alias, version in found.items()}

    def delete_alias(self, name: str, alias: str) -> None:
        self.client.delete_registered_model_alias(name, alias)

    def version(self, name: str, version: str) -> ModelVersion:
        """The model version (tags, run_id, source); a version that does not exist is said so."""
        try:
            return self.client.get_model_version(name, version)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                known = sorted((str(mv.version) for mv in self.versions(name)), key=int)
                raise TrackingError(
                    f"{name} has no version {version} (its versions: {', '.join(known) or 'none'})"
                ) from exc
            raise self._fail(f"reading version {version} of {name}", exc) from exc

    def set_version_tags(self, name: str, version: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(name, version, key, redact(str(value)))

    def delete_version_tag(self, name: str, version: str, key: str) -> None:
        """Remove one tag of a version (nothing when it has none)."""
        if key not in self.client.get_model_version(name, version).tags:
            return
        self.client.delete_model_version_tag(name, version, key)

    def versions(self, name: str) -> list[Any]:
        """Every version of ``name``, with its tags (aliases filled from the registered model)."""
        return self.versions_tagged(name, {})


def _quote(value: str) -> str:
    return value.replace("'", "\\'")
