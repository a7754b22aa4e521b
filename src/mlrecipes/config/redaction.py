"""Credentials never leave the process in a recorded URI.

MLflow's HTTP client sends the userinfo of ``http://user:password@host`` as basic auth, so such a
URI works, and would carry the password into every card, snapshot, model file, tag, log line and
``--json`` output that mentions the store. Every writer and printer goes through :func:`redact`
(a text) or :func:`redact_uri` (one URI); only ``tracking`` connects with the original.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# scheme://userinfo@ : userinfo holds no '/', whitespace, quote or '@' (RFC 3986 allows none of
# '/', '?', '#', '@' there), so a path like /tmp/a@b or an e-mail address is never touched
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s'\"<>@?#]+)@")


def has_credentials(uri: str) -> bool:
    return bool(_USERINFO.search(uri))


def redact_uri(uri: str) -> str:
    """``uri`` with the userinfo taken out of its authority (the rest as it was)."""
    if not has_credentials(uri):
        return uri
    parts = urlsplit(uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=host))


def redact(text: str) -> str:
    """Every ``scheme://user:password@`` in ``text`` without its userinfo."""
    return _USERINFO.sub(lambda m: m.group("scheme"), text)


CREDENTIALS_HINT = (
    "the tracking URI carries credentials: they are used to connect and left out of everything "
    "recorded or printed; put them in MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD instead"
)
