"""The one place that talks to the Hub, through huggingface_hub, landing raw bytes.

- Every request goes through `retry.call_with_retry` (one policy, one predicate)
  and, when it is to the Hub's own host, through the pacer once.
- A file is landed at a commit sha with one GET of its resolver URL: the Hub
  serves a file kept in git itself, and redirects for an LFS or Xet file to
  storage elsewhere (another host, fetched without the token and not counted by
  the Hub's rate limits). The body streams to a scratch file and is checked
  against what the Hub announced (`bodies.announcement`: the commit asked for,
  the size, and the ETag: sha256 for LFS files, the git blob id otherwise)
  before it is landed, so a truncated or corrupted body is retried, never
  landed. The landing records each object's sha256 and hands back a landed
  file only while it still has those bytes; one that changed on disk is set
  aside there and downloaded again.
- Model info is fetched on every call: likes and downloads change without a new
  commit. Each distinct body lands as an object of its own (see `store.raw`).
- The token goes only to the configured endpoint's origin (redirects elsewhere
  are fetched without it), and never into a message: every message passes `redact`.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import time
from collections.abc import Callable, Container, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import quote, urljoin

# Read by huggingface_hub when it is first imported.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import httpx2
from huggingface_hub import get_session, hf_hub_url, hf_raise_for_status
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import ModelInfo

# Public, but re-exported by a lazy loader that mypy cannot follow.
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

from llmsync import __version__
from llmsync.hub.bodies import (
    Announcement,
    BodyCheck,
    announcement,
    json_list,
    json_object,
    parse_datetime,
)
from llmsync.hub.endpoint import origin, resolve_endpoint
from llmsync.hub.errors import (
    CommitRef,
    FileNotFound,
    Gated,
    HubError,
    HubUnavailable,
    LandedFile,
    LandedInfo,
    RepoNotFound,
    RevisionNotFound,
    TooLarge,
    not_recorded,
)
from llmsync.hub.ids import (
    InvalidIdError,
    is_commit_sha,
    require_repo_id,
    require_repo_path,
    require_revision,
)
from llmsync.hub.landing import Landing, StoredObject
from llmsync.hub.listing import INFO_QUERY
from llmsync.hub.pacing import Pacer
from llmsync.hub.retry import (
    DEFAULT_POLICY,
    IncompleteBody,
    RetryPolicy,
    call_with_retry,
    exception_chain,
    is_retryable,
)
from llmsync.hub.secrets import redact, register_secret

log = logging.getLogger(__name__)
T = TypeVar("T")

REPO_TYPES = ("model", "dataset")
CARD_FILE = "README.md"
MAX_REDIRECTS = 10
TIMEOUT_SECONDS = 30.0
CHUNK_BYTES = 1 << 20


# -- helpers ----------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    """A one-line account of a failure: the HTTP status and the server's word
    when there was a response, else the innermost error."""
    for item in exception_chain(exc):
        if isinstance(item, HfHubHTTPError) and item.response is not None:
            code = item.response.headers.get("X-Error-Code")
            server = item.server_message or item.response.reason_phrase
            detail = " ".join(str(server).split())
            return (
                f"HTTP {item.response.status_code}"
                + (f" {code}" if code else "")
                + (f": {detail}" if detail else "")
            )
    innermost = list(exception_chain(exc))[-1]
    first_line = (str(innermost).strip().splitlines() or [""])[0]
    return f"{type(innermost).__name__}: {first_line}" if first_line else type(innermost).__name__


def _translate(exc: Exception, *, what: str, attempts: int) -> HubError:
    """The typed error for a failed call; order matters (a gated repo error is
    a RepositoryNotFoundError subclass in huggingface_hub)."""
    message = redact(f"{what}: {_describe(exc)}")
    for item in exception_chain(exc):
        if (gap := not_recorded(item, message)) is not None:
            return gap
        if isinstance(item, GatedRepoError):
            return Gated(message)
        if isinstance(item, RevisionNotFoundError):
            return RevisionNotFound(message)
        if isinstance(item, RemoteEntryNotFoundError):
            return FileNotFound(message)
        if isinstance(item, RepositoryNotFoundError | DisabledRepoError):
            return RepoNotFound(message)
        if isinstance(item, HfHubHTTPError) and item.response is not None:
            if item.response.status_code in (401, 403):
                return Gated(message)
            break
    if is_retryable(exc):
        return HubUnavailable(redact(f"{message} (gave up after {attempts} attempts)"))
    return HubError(message)


# -- the client --------------------------------------------------------------------


class HubClient:
    """The Hub over huggingface_hub, landing what it reads in a `Landing`.

    `sleep` and `on_retry` are the retry loop's, injectable so tests can record
    delays instead of waiting.
    """

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        token: str | None = None,
        raw_store: Landing,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], Any] = time.sleep,
        on_retry: Callable[[BaseException, int, float], Any] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.endpoint = resolve_endpoint(endpoint)
        self._token: str | None = token or os.environ.get("HF_TOKEN") or None
        register_secret(self._token)
        self.raw_store = raw_store
        self.policy = policy
        self._sleep = sleep
        self._on_retry = on_retry
        # Shared by every thread of a fetch: keeps the requests under the rate limits.
        self.pacer = pacer

    def __repr__(self) -> str:
        return f"HubClient(endpoint={self.endpoint!r}, token={'***' if self._token else None})"

    # plumbing

    def _call(self, fn: Callable[[], T], *, what: str) -> T:
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            return fn()

        def note_retry(exc: BaseException, attempt_no: int, delay: float) -> None:
            log.warning(
                "%s",
                redact(
                    f"{what}: attempt {attempt_no} failed ({_describe(exc)}); "
                    f"retrying in {delay:.1f}s"
                ),
            )
            if self._on_retry is not None:
                self._on_retry(exc, attempt_no, delay)

        try:
            return call_with_retry(
                attempt, policy=self.policy, sleep=self._sleep, on_retry=note_retry
            )
        except HubError:
            raise
        except Exception as exc:
            raise _translate(exc, what=what, attempts=attempts) from exc

    def _token_for(self, url: str) -> str | bool:
        """The token, only for the configured endpoint's origin; `False` tells
        huggingface_hub to send none (not even a locally saved login)."""
        if self._token and origin(url) == origin(self.endpoint):
            return self._token
        return False

    def _headers(self, url: str, *, identity: bool) -> dict[str, str]:
        """huggingface_hub's headers for `url` (the token only for the endpoint's
        origin). `identity`: ask for the body unencoded, so Content-Length is its
        length (as huggingface_hub asks for files)."""
        headers: dict[str, str] = build_hf_headers(
            token=self._token_for(url), library_name="llmsync", library_version=__version__
        )
        if identity:
            headers["Accept-Encoding"] = "identity"
        return headers

    def _get(self, url: str) -> httpx2.Response:
        """GET through huggingface_hub's session, following redirects by hand so
        that the token never leaves the endpoint's origin."""
        for _ in range(MAX_REDIRECTS):
            response = self._send(url, self._headers(url, identity=False))
            if not response.has_redirect_location:
                hf_raise_for_status(response)
                return response
            url = urljoin(str(response.url), response.headers["Location"])
        raise HubError(redact(f"too many redirects from {url}"))

    def _send(self, url: str, headers: dict[str, str], *, stream: bool = False) -> httpx2.Response:
        """One GET, under the pacer when it goes to the Hub's own host (storage
        elsewhere is not rate limited by the Hub), its slot given back with the
        answer's headers. `stream`: the body is left to the caller to read."""
        paced = self.pacer is not None and origin(url) == origin(self.endpoint)
        bucket = self.pacer.acquire(url) if self.pacer and paced else ""
        response = None
        try:
            session = get_session()
            request = session.build_request("GET", url, headers=headers, timeout=TIMEOUT_SECONDS)
            response = session.send(request, stream=stream, follow_redirects=False)
            return response
        finally:
            if self.pacer and paced:
                status = response.status_code if response is not None else None
                headers_seen = response.headers if response is not None else None
                self.pacer.release(bucket, headers_seen, status=status)

    @contextmanager
    def _file_answer(
        self, url: str, *, on_announced: Callable[[Mapping[str, str], bool], Announcement]
    ) -> Iterator[tuple[Announcement, httpx2.Response]]:
        """The answer that carries a file's body, unread, with the announcement
        made for it. Redirects are followed by hand (the token stays on the
        endpoint's origin); the announcement is on the last answer from the Hub
        itself (the one redirecting elsewhere, else the body's own), and
        `on_announced` checks it before any body is asked for."""
        announced: Announcement | None = None
        for _ in range(MAX_REDIRECTS):
            response = self._send(url, self._headers(url, identity=True), stream=True)
            try:
                if not response.has_redirect_location:
                    if response.is_error:
                        response.read()  # the Hub's error message is in the body
                    hf_raise_for_status(response)
                    if announced is None:
                        announced = on_announced(response.headers, False)
                    yield announced, response
                    return
                target = urljoin(str(response.url), response.headers["Location"])
                at_hub = origin(url) == origin(self.endpoint)
                if announced is None and at_hub and origin(target) != origin(self.endpoint):
                    announced = on_announced(response.headers, True)
            finally:
                response.close()
            url = target
        raise HubError(redact(f"too many redirects from {url}"))

    # listings

    def list_page(self, url: str, *, what: str) -> tuple[bytes, str | None]:
        """A listing page's exact bytes (a JSON list of objects) and the next page's URL."""
        response = self._call(functools.partial(self._get, url), what=what)
        json_list(response.content, what=what)
        return response.content, response.links.get("next", {}).get("url")

    def card_at(self, repo_id: str, *, sha: str, max_bytes: int) -> LandedFile | None:
        """The model's README.md at commit `sha` (None: no card): `file_at`."""
        try:
            return self.file_at(repo_id, CARD_FILE, repo_type="model", sha=sha, max_bytes=max_bytes)
        except FileNotFound:
            return None

    # commits

    def list_commits(
        self, repo_id: str, *, repo_type: str, until: Container[str] = (), limit: int | None = None
    ) -> list[CommitRef]:
        """The default branch's commits, newest first: all, the newest `limit`, or up to
        the first in `until` (a commit id hashes its parents: the older ones are known)."""
        require_repo_id(repo_id)
        _require_repo_type(repo_type)
        url: str | None = f"{self.endpoint}/api/{repo_type}s/{repo_id}/commits/main"
        commits: list[CommitRef] = []
        while url is not None:
            response = self._call(
                functools.partial(self._get, url), what=f"commits of {repo_type} {repo_id}"
            )
            for item in json_list(response.content, what=f"commits of {repo_id}"):
                sha = require_revision(str(item["id"]))
                date, title = parse_datetime(str(item["date"])), str(item.get("title", ""))
                commits.append(CommitRef(sha=sha, date=date, title=title))
                if sha in until or len(commits) == limit:
                    return commits
            url = response.links.get("next", {}).get("url")
        return commits

    # model info

    def model_info(self, repo_id: str, *, revision: str | None = None) -> LandedInfo:
        """The model's info with every property we read (`INFO_QUERY`), landed by commit."""
        require_repo_id(repo_id)
        url = f"{self.endpoint}/api/models/{repo_id}"
        if revision is not None:
            url += f"/revision/{quote(require_revision(revision), safe='')}"
        url += f"?{INFO_QUERY}"
        response = self._call(lambda: self._get(url), what=f"model info of {repo_id}")
        raw = response.content
        data = json_object(raw, what=f"model info of {repo_id}")
        sha = data.get("sha")
        landing = sha if isinstance(sha, str) and is_commit_sha(sha) else (revision or "main")
        stored = self.raw_store.put_api_info(repo_id, raw, revision=landing)
        return _landed_info(repo_id, raw, stored, fallback=landing)

    # files

    def file_at(
        self, repo_id: str, filename: str, *, repo_type: str, sha: str, max_bytes: int
    ) -> LandedFile:
        """Land the file's exact bytes at commit `sha` with one GET of its
        resolver URL (and, for an LFS or Xet file, one of the storage it
        redirects to), or none when landed already. Checked against what the Hub
        announced: the commit, the size and the ETag; over `max_bytes` it is
        TooLarge, refused before its body is read. The one way a file is fetched."""
        require_repo_id(repo_id)
        require_repo_path(filename)
        _require_repo_type(repo_type)
        if not is_commit_sha(require_revision(sha)):  # a branch moves: nothing to land under
            raise InvalidIdError(f"a file is fetched at a commit sha, not {sha[:40]!r}")
        what = f"{filename} of {repo_type} {repo_id}@{sha[:12]}"
        landed = self._landed(repo_id, filename, repo_type=repo_type, revision=sha)
        if landed is not None:
            return _check_cap(landed, max_bytes=max_bytes, what=what)
        url = hf_hub_url(
            repo_id, filename, repo_type=repo_type, revision=sha, endpoint=self.endpoint
        )

        def announced(headers: Mapping[str, str], linked: bool) -> Announcement:
            return announcement(headers, sha=sha, linked=linked, max_bytes=max_bytes, what=what)

        def fetch() -> LandedFile:
            scratch = self.raw_store.scratch_dir()
            try:
                local = scratch / "body"
                with self._file_answer(url, on_announced=announced) as (said, response):
                    check = BodyCheck(said, response.headers, max_bytes=max_bytes, what=what)
                    with local.open("wb") as out:
                        for chunk in response.iter_bytes(CHUNK_BYTES):
                            check.feed(chunk)
                            out.write(chunk)
                digest = check.finish(local)
                stored = self.raw_store.put_file(
                    repo_id, filename, local, repo_type=repo_type, revision=sha, etag=said.etag
                )
                if stored.sha256 != digest:  # the landing hashed what it placed
                    raise IncompleteBody("the file changed while it was landed")
                return LandedFile(stored.path, stored.sha256, stored.size, sha)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)

        return self._call(fetch, what=what)

    def _landed(
        self, repo_id: str, filename: str, *, repo_type: str, revision: str
    ) -> LandedFile | None:
        stored = self.raw_store.get(repo_id, filename, repo_type=repo_type, revision=revision)
        if stored is None:
            return None
        return LandedFile(stored.path, stored.sha256, stored.size, revision)


def _require_repo_type(repo_type: str) -> None:
    if repo_type not in REPO_TYPES:
        raise InvalidIdError(f"not a repo type: {repo_type[:40]!r}")


def _check_cap(landed: LandedFile, *, max_bytes: int | None, what: str) -> LandedFile:
    if max_bytes is not None and landed.size > max_bytes:
        raise TooLarge(redact(f"{what}: {landed.size:,} bytes is over the cap of {max_bytes:,}"))
    return landed


def _landed_info(repo_id: str, raw: bytes, stored: StoredObject, *, fallback: str) -> LandedInfo:
    data = json_object(raw, what=f"model info of {repo_id}")
    # ModelInfo parses evalResults strictly (a string `source`: AttributeError);
    # llmsync reads them from the landed bytes (`tables.eval_items`) instead.
    fields = {key: value for key, value in data.items() if key != "evalResults"}
    try:
        info = ModelInfo(**fields)  # type: ignore[no-untyped-call]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise HubError(redact(f"model info of {repo_id}: unexpected shape ({exc})")) from exc
    sha = info.sha if isinstance(info.sha, str) and is_commit_sha(info.sha) else fallback
    return LandedInfo(
        repo_id=repo_id,
        revision=sha,
        raw=raw,
        path=stored.path,
        info=info,
        sha256=stored.sha256,
    )
