"""Validation of Hub repo ids and revisions taken from upstream data.

A leaderboard row or a card is written by strangers; its repo id ends up in a
URL and in a path under `data/raw/`. Only ids of the Hub's own shape pass, so
a hostile row (`../../etc`, an absolute path, odd characters) is never used.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# The Hub's rule: one optional namespace and a name, each made of letters,
# digits, `-`, `_` and `.`, not starting or ending with `-` or `.`, with no
# `--` or `..`, at most 96 characters.
# The rule is written once, here: `is_valid_repo_id` and the vectorised check
# over many names (`tables.repo_ids`, RE2) both match a whole string with
# `REPO_ID_PART` and refuse `REPO_ID_FORBIDDEN`. Whole string (here for the
# revisions too): Python's `$` would also match before a trailing newline.
REPO_ID_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
REPO_ID_FORBIDDEN = ("..", "--")
_REPO_ID = re.compile(rf"(?:{REPO_ID_PART}/)?{REPO_ID_PART}")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_COMMIT_SHA = re.compile(r"[0-9a-f]{40}")


class InvalidIdError(ValueError):
    """An id or revision from upstream data that is unsafe to use."""


def is_valid_repo_id(value: str) -> bool:
    return _REPO_ID.fullmatch(value) is not None and not any(
        part in value for part in REPO_ID_FORBIDDEN
    )


def is_commit_sha(value: str) -> bool:
    return _COMMIT_SHA.fullmatch(value) is not None


def require_repo_id(value: str) -> str:
    if not is_valid_repo_id(value):
        raise InvalidIdError(f"not a valid Hub repo id: {value[:120]!r}")
    return value


def require_revision(value: str) -> str:
    """A branch name or commit sha safe for a URL segment and a folder name."""
    if _REVISION.fullmatch(value) is None or ".." in value:
        raise InvalidIdError(f"not a valid revision: {value[:120]!r}")
    return value


def require_repo_path(path: str) -> str:
    """A relative POSIX path inside a repo: no absolute paths, no `..` or `.`
    segments, no empty segments, no backslashes or NULs."""
    if not path or len(path) > 1024 or "\\" in path or "\0" in path:
        raise InvalidIdError(f"not a valid repo file path: {path[:120]!r}")
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in path.split("/")):
        raise InvalidIdError(f"not a valid repo file path: {path[:120]!r}")
    return path
