"""Which Hub a run talks to."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

DEFAULT_ENDPOINT = "https://huggingface.co"


def resolve_endpoint(endpoint: str | None) -> str:
    """The Hub a client talks to: the one given, else `HF_ENDPOINT`, else huggingface.co."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def origin(url: str) -> tuple[str, str, int | None]:
    """A URL's origin (scheme, host, port): where a token may be sent, and
    whether two URLs are served by the same host."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default
