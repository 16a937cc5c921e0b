"""Which Hub a run talks to."""

from __future__ import annotations

import os

DEFAULT_ENDPOINT = "https://huggingface.co"


def resolve_endpoint(endpoint: str | None) -> str:
    """The Hub a client talks to: the one given, else `HF_ENDPOINT`, else huggingface.co."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
