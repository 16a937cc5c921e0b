"""What the Hub client answers with: typed errors and landed results.

Every error is a `HubError`; its message never contains the token.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import ModelInfo

from llmsync.hub.landing import StoredObject

# -- errors ---------------------------------------------------------------------


class HubError(Exception):
    """A Hub request failed; the message never contains the token."""


class RepoNotFound(HubError):
    """The repo does not exist (or is private to someone else)."""


class RevisionNotFound(HubError):
    """The repo exists, the revision does not."""


class FileNotFound(HubError):
    """The repo and revision exist, the file does not."""


class NotRecorded(HubError):
    """The replay hub has no recording of the repo or file (it exists on the
    Hub): a gap in the recordings, never a fact about the Hub. The Hub itself
    never answers so."""


class Gated(HubError):
    """401/403: access needs approval or a (better) token."""


# The replay hub's code for a gap in its recordings (the Hub never sends it).
NOT_RECORDED_CODE = "NotRecorded"


def not_recorded(exc: BaseException, message: str) -> NotRecorded | None:
    """`NotRecorded` for an HTTP error that carries the replay hub's code."""
    response = exc.response if isinstance(exc, HfHubHTTPError) else None
    if response is not None and response.headers.get("X-Error-Code") == NOT_RECORDED_CODE:
        return NotRecorded(message)
    return None


class HubUnavailable(HubError):
    """Transient failures (429, 5xx, resets, truncated bodies) outlasted the retries."""


class TooLarge(HubError):
    """The file is over the caller's size cap; it was not downloaded."""


class UnverifiedAnswer(HubError):
    """The answer for a file cannot be checked as asked: it is for another
    commit, or names no commit or no ETag to check the body by. Nothing lands,
    and asking again would get the same answer."""


# -- results --------------------------------------------------------------------


@dataclass(frozen=True)
class CommitRef:
    sha: str
    date: dt.datetime
    title: str


@dataclass(frozen=True)
class LandedFile:
    path: Path
    sha256: str
    size: int
    revision: str  # the commit sha the bytes came from

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True)
class LandedInfo:
    repo_id: str  # as asked for
    revision: str  # the commit sha the info describes
    raw: bytes  # the exact JSON body
    path: Path
    info: ModelInfo
    sha256: str  # of `raw`, which names the landed object

    @property
    def stored(self) -> StoredObject:
        return StoredObject(self.path, self.sha256, len(self.raw))
