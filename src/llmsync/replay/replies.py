"""What the replay hub answers: a `Reply` and the Hub's ways of saying no.

Shared by the request handler, the recorded view and the generated population,
so that every answer has the Hub's headers (`X-Error-Code`, `X-Error-Message`,
`Accept-Ranges`, `Content-Range`) whoever builds it.
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def dump_json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Reply:
    """A response to send: a small body in memory or a slice of a blob file."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    blob: Path | None = None
    offset: int = 0
    length: int = 0

    @property
    def content_length(self) -> int:
        return self.length if self.blob is not None else len(self.body)


def set_header(
    headers: list[tuple[str, str]], name: str, value: str | None
) -> list[tuple[str, str]]:
    """`headers` with `name` (any case) replaced by `value`, or left out (None)."""
    kept = [(key, val) for key, val in headers if key.lower() != name.lower()]
    return kept if value is None else [*kept, (name, value)]


def error_reply(status: int, code: str | None, message: str, **extra: str) -> Reply:
    headers = [("Content-Type", JSON_TYPE), ("X-Error-Message", message)]
    if code:
        headers.append(("X-Error-Code", code))
    headers.extend(extra.items())
    return Reply(status, headers, dump_json({"error": message}))


def repo_not_found(*, authenticated: bool) -> Reply:
    # The Hub answers an anonymous request for a missing (or private) repo with
    # 401, an authenticated one with 404; both carry `RepoNotFound`.
    return error_reply(404 if authenticated else 401, "RepoNotFound", "Repository not found")


# Never sent by the Hub: the replay hub's word for a repo or file that exists on
# the Hub but is not in its recordings, so a client can tell a gap in the
# recordings from a repo or file that does not exist.
NOT_RECORDED = "NotRecorded"


def not_recorded_reply(what: str, **extra: str) -> Reply:
    return error_reply(404, NOT_RECORDED, f"Not in the replay hub's recordings: {what}", **extra)


def gated_reply(
    repo_type: str, repo_id: str, *, status: int, endpoint: str, echo: str = ""
) -> Reply:
    if status == 401:
        message = (
            f"Access to {repo_type} {repo_id} is restricted. You must have access to it "
            "and be authenticated to access it. Please log in."
        )
    else:
        message = (
            f"Access to {repo_type} {repo_id} is restricted and you are not in the "
            f"authorized list. Visit {endpoint}/{repo_id} to ask for access."
        )
    return error_reply(status, "GatedRepo", message + echo)


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, length) of a single `bytes=` range; None: whole file; "bad": 416."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # unsupported forms get the whole file, as many servers do
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                return "bad"
            start = max(0, size - suffix)
            end = size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "bad"
    end = min(end, size - 1)
    return start, end - start + 1


def content_type(path: str) -> str:
    if path.endswith((".md", ".txt", ".json", ".yaml", ".yml", ".csv")):
        guessed = mimetypes.guess_type(path)[0] or "text/plain"
        return f"{guessed}; charset=utf-8"
    return "application/octet-stream"


def blob_reply(
    blob: Path, size: int, headers: list[tuple[str, str]], range_header: str | None
) -> Reply:
    """A file's bytes, whole or the one `Range` asked for, from a blob on disk."""
    headers = [*headers, ("Accept-Ranges", "bytes")]
    wanted = parse_range(range_header, size)
    if wanted == "bad":
        return Reply(416, [*headers, ("Content-Range", f"bytes */{size}")])
    if isinstance(wanted, tuple):
        start, length = wanted
        headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{size}"))
        return Reply(206, headers, blob=blob, offset=start, length=length)
    return Reply(200, headers, blob=blob, offset=0, length=size)


def bytes_reply(data: bytes, headers: list[tuple[str, str]], range_header: str | None) -> Reply:
    """A file's bytes, whole or the one `Range` asked for, from memory."""
    headers = [*headers, ("Accept-Ranges", "bytes")]
    size = len(data)
    wanted = parse_range(range_header, size)
    if wanted == "bad":
        return Reply(416, [*headers, ("Content-Range", f"bytes */{size}")])
    if isinstance(wanted, tuple):
        start, length = wanted
        headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{size}"))
        return Reply(206, headers, data[start : start + length])
    return Reply(200, headers, data)
