"""Checking what the Hub sent before it lands: a file against what the Hub
announced for it (its commit, size and ETag), and API answers for being whole
JSON of the expected shape.

A file's announcement is on the last answer from the Hub itself: the file's own
answer when the Hub serves it (a file kept in git: `ETag` is its git blob id,
`Content-Length` its size), or the redirect that sends the client to storage
elsewhere (an LFS or Xet file: `X-Linked-Etag` is its sha256, `X-Linked-Size`
its size). Either way `X-Repo-Commit` names the commit answered for. The
storage host's answer carries headers of its own: its `ETag` is not the file's
sha256, so only its `Content-Length` is read (to refuse a body over the cap,
or one that disagrees with the Hub, before reading it). This is
huggingface_hub's reading too (`get_hf_file_metadata`: `X-Linked-Etag` else
`ETag`, `X-Linked-Size` else the length, from the answer before it leaves the
Hub's host).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmsync.hub.errors import HubError, TooLarge, UnverifiedAnswer
from llmsync.hub.hashing import git_blob_oid
from llmsync.hub.retry import IncompleteBody
from llmsync.hub.secrets import redact

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GIT_OID = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Announcement:
    """What the Hub said of a file before its body: the commit it answered
    for, the ETag the body must match (a sha256, or a git blob id for a file
    the Hub serves itself) and the size, when said."""

    commit: str
    etag: str
    size: int | None


def announcement(
    headers: Mapping[str, str], *, sha: str, linked: bool, max_bytes: int | None, what: str
) -> Announcement:
    """The announcement on the Hub's last answer for a file asked at commit
    `sha` (`linked`: that answer redirects to storage elsewhere, as for an LFS
    or Xet file). An answer for another commit, or one without a checkable
    ETag, is refused (UnverifiedAnswer); an announced size over the cap is
    TooLarge, before any body is asked for."""
    commit = headers.get("X-Repo-Commit")
    if not commit:
        raise UnverifiedAnswer(redact(f"{what}: the answer lacks X-Repo-Commit (not a Hub?)"))
    if commit != sha:
        raise UnverifiedAnswer(
            redact(f"{what}: the Hub answered for commit {commit[:40]!r}, not {sha[:12]}…")
        )
    said = headers.get("X-Linked-Etag") or headers.get("ETag") or ""
    etag = said.strip().removeprefix("W/").strip('"').lower()
    checkable = _SHA256.match(etag) or (not linked and _GIT_OID.match(etag))
    if not checkable:
        kind = "X-Linked-Etag (a sha256)" if linked else "ETag (a sha256 or git blob id)"
        raise UnverifiedAnswer(redact(f"{what}: the answer has no {kind} to check the body by"))
    size = _length(headers.get("X-Linked-Size")) if linked else _identity_length(headers)
    if size is not None and max_bytes is not None and size > max_bytes:
        raise TooLarge(redact(f"{what}: {size:,} bytes is over the cap of {max_bytes:,}"))
    return Announcement(commit=commit, etag=etag, size=size)


class BodyCheck:
    """A body checked as it streams in: against its own answer's length, the
    announcement and the cap; `finish` checks the ETag and gives the sha256.

    The answer's length and the announced size are compared before a byte is
    read, so a huge or contradictory body is refused unread. An encoded
    answer's Content-Length counts the encoded bytes, so it is compared only
    when the body came unencoded; the ETag still decides."""

    def __init__(
        self,
        announced: Announcement,
        headers: Mapping[str, str],
        *,
        max_bytes: int | None,
        what: str,
    ) -> None:
        self.announced = announced
        self.max_bytes = max_bytes
        self.what = what
        self.length = _identity_length(headers)
        self.received = 0
        self._sha256 = hashlib.sha256()
        if self.length is not None and max_bytes is not None and self.length > max_bytes:
            raise TooLarge(
                redact(f"{what}: {self.length:,} bytes is over the cap of {max_bytes:,}")
            )
        if self.length is not None and announced.size not in (None, self.length):
            raise IncompleteBody(
                f"the answer announces {self.length} bytes, the Hub {announced.size}"
            )

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.max_bytes is not None and self.received > self.max_bytes:
            raise TooLarge(redact(f"{self.what}: over the cap of {self.max_bytes:,} bytes"))
        self._sha256.update(chunk)

    def finish(self, path: Path) -> str:
        """The body's sha256, once it is whole and matches its ETag; `path`
        holds the bytes fed (read again only for a git blob id, a small file)."""
        for expected in (self.length, self.announced.size):
            if expected is not None and self.received != expected:
                raise IncompleteBody(f"got {self.received} bytes, the server announced {expected}")
        digest = self._sha256.hexdigest()
        etag = self.announced.etag
        if len(etag) == 64 and etag != digest:
            raise IncompleteBody(f"sha256 {digest[:12]}… differs from the ETag {etag[:12]}…")
        if len(etag) == 40 and git_blob_oid(path.read_bytes()) != etag:
            raise IncompleteBody(f"git blob id differs from the ETag {etag[:12]}…")
        return digest


def _length(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _identity_length(headers: Mapping[str, str]) -> int | None:
    """Content-Length, when it counts the body's own bytes (no encoding)."""
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    return _length(headers.get("Content-Length")) if encoding in ("", "identity") else None


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
