"""Checking what the Hub sent before it lands: a body against the size and
ETag announced (sha256 for LFS files, the git blob id otherwise), and API
answers for being whole JSON of the expected shape."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmsync.hub.errors import HubError, TooLarge
from llmsync.hub.hashing import git_blob_oid, sha256_of
from llmsync.hub.retry import IncompleteBody
from llmsync.hub.secrets import redact


def check_body(
    data: bytes, headers: Mapping[str, str], *, max_bytes: int | None, what: str
) -> str | None:
    """Check a whole (decoded) body against its answer's Content-Length and
    ETag (the etag is returned); IncompleteBody when they disagree, TooLarge
    over the cap. An encoded answer's Content-Length counts the encoded bytes,
    so it is compared only when the body came unencoded."""
    announced = (headers.get("X-Linked-Etag") or headers.get("ETag") or "").removeprefix("W/")
    etag = announced.strip('"') or None
    length = headers.get("Content-Length")
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    if (
        encoding in ("", "identity")
        and length is not None
        and length.isdigit()
        and int(length) != len(data)
    ):
        raise IncompleteBody(f"got {len(data)} bytes, the server announced {length}")
    if max_bytes is not None and len(data) > max_bytes:
        raise TooLarge(redact(f"{what}: over the cap of {max_bytes:,} bytes"))
    digest = hashlib.sha256(data).hexdigest()
    if etag is not None and len(etag) == 64 and etag != digest:
        raise IncompleteBody(f"sha256 {digest[:12]}… differs from the ETag {etag[:12]}…")
    if etag is not None and len(etag) == 40 and git_blob_oid(data) != etag:
        raise IncompleteBody(f"git blob id differs from the ETag {etag[:12]}…")
    return etag


def verify_file(path: Path, *, size: int | None, etag: str | None) -> str:
    """sha256 of the downloaded file, after checking it against the announced
    size and ETag; IncompleteBody if they disagree."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise IncompleteBody(f"got {actual_size} bytes, the server announced {size}")
    digest = sha256_of(path)
    if etag is not None and len(etag) == 64 and etag != digest:
        raise IncompleteBody(f"sha256 {digest[:12]}… differs from the ETag {etag[:12]}…")
    if etag is not None and len(etag) == 40 and git_blob_oid(path.read_bytes()) != etag:
        raise IncompleteBody(f"git blob id differs from the ETag {etag[:12]}…")
    return digest


def parse_datetime(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def json_object(raw: bytes, *, what: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise HubError(redact(f"{what}: the body is not JSON")) from exc
    if not isinstance(data, dict):
        raise HubError(redact(f"{what}: expected a JSON object"))
    return data


def json_list(raw: bytes, *, what: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise HubError(redact(f"{what}: the body is not JSON")) from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise HubError(redact(f"{what}: expected a JSON list of objects"))
    return data
