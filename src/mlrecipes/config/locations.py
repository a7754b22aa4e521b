"""Every spelling of a data location the readers accept, turned into one path.

A location is a plain path (relative to the recipe root, ``~`` expanded), ``file:relative``,
``file:/abs``, ``file:///abs`` or ``file://localhost/abs`` (percent-escapes decoded), or a remote
URI (``s3://``, ``dbfs:/``, ...) that no local path stands for. The readers, the writers and the
data-roots guard all go through :func:`local_path`, so the guard judges exactly the file a
reader opens: a guard that normalised fewer spellings than the readers accept let
``file:data/prod/x.csv`` past it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from mlrecipes.errors import ConfigError

_LOCAL_HOSTS = ("", "localhost")


def is_remote(location: str) -> bool:
    """A location no local path stands for (``s3://...``, ``dbfs:/...``, ``abfss://...``)."""
    return "://" in location and not location.lower().startswith("file:")


def _file_uri_path(location: str) -> str:
    parts = urlsplit(location)
    if location.lower().startswith("file://"):
        if parts.netloc.lower() not in _LOCAL_HOSTS:
            raise ConfigError(
                f"location '{location}': a file URI on host '{parts.netloc}' is not on this "
                "machine; use file:///absolute/path, a relative path, or a remote URI"
            )
        return unquote(parts.path)
    return unquote(location[len("file:") :])  # file:relative or file:/abs


def local_path(location: str, root: Path) -> Path:
    """The absolute path ``location`` names (not resolved: symlinks are kept, so messages show
    what the user wrote). A remote URI is an error here; test :func:`is_remote` first."""
    if is_remote(location):
        raise ConfigError(f"location '{location}' is remote: it has no local path")
    text = _file_uri_path(location) if location.lower().startswith("file:") else location
    path = Path(text).expanduser()
    return path if path.is_absolute() else root / path


def resolved_path(location: str, root: Path) -> Path:
    """:func:`local_path` with symlinks and ``..`` resolved: what a containment check compares."""
    return local_path(location, root).resolve()


def contains(base: Path, path: Path) -> bool:
    """Whether ``path`` is ``base`` or inside it, both resolved first (symlinks, ``..``)."""
    return path.resolve().is_relative_to(base.resolve())
