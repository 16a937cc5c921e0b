"""An HTTP server that speaks enough of the Hub's API to replay the recordings.

huggingface_hub pointed at it (`HF_ENDPOINT` or `endpoint=`) behaves as against
huggingface.co for repo info, tree and commit listings, file downloads (HEAD and
GET of `/resolve/`, LFS files redirected to a separate "CDN" listener as the
Hub redirects to its CDN) and errors (`X-Error-Code` / `X-Error-Message`).

Every JSON body is computed once at start; blobs are streamed with sendfile,
built files (leaderboard exports) are built once and sent from memory.
HTTP/1.1 keep-alive, one thread per connection.

    python -m llmsync.replay.server [--host H] [--port N] [--as-of YYYY-MM-DD] [--faults FILE]
                                    [--serve-partial-captures]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import hashlib
import json
import math
import mimetypes
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from llmsync.replay.faults import FaultPlan, FaultRule
from llmsync.replay.recordings import Commit, FileEntry, RecordingStore, Repo

JSON_TYPE = "application/json; charset=utf-8"
_API_SUBPATHS = frozenset({"revision", "tree", "commits", "paths-info", "resolve", "refs"})
COMMITS_PAGE_SIZE = 50
CDN_PREFIX = "/cdn-lfs/"
RECORDER = "llmsync-recorder"
SMALL_BLOB = 256 * 1024


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _json(data: Any) -> bytes:
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


def error_reply(status: int, code: str | None, message: str, **extra: str) -> Reply:
    headers = [("Content-Type", JSON_TYPE), ("X-Error-Message", message)]
    if code:
        headers.append(("X-Error-Code", code))
    headers.extend(extra.items())
    return Reply(status, headers, _json({"error": message}))


def repo_not_found(*, authenticated: bool) -> Reply:
    # The Hub answers an anonymous request for a missing (or private) repo with
    # 401, an authenticated one with 404; both carry `RepoNotFound`.
    return error_reply(404 if authenticated else 401, "RepoNotFound", "Repository not found")


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


# -- routes -------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A parsed request path: `prefix + repo_id + suffix` is the raw path."""

    kind: str  # "api" | "resolve" | "cdn" | "other"
    repo_type: str = "model"
    repo_id: str = ""
    prefix: str = ""
    suffix: str = ""
    tail: tuple[str, ...] = ()  # decoded segments after the repo id

    def renamed(self, new_id: str) -> str:
        return self.prefix + new_id + self.suffix


def parse_route(raw_path: str) -> Route:
    segments = raw_path.split("/")[1:]
    if raw_path.startswith(CDN_PREFIX):
        return Route("cdn", tail=tuple(unquote(s) for s in segments[1:]))
    if len(segments) >= 3 and segments[0] == "api" and segments[1] in ("models", "datasets"):
        repo_type = segments[1][:-1]
        rest = segments[2:]
        id_len = 1 if len(rest) == 1 or rest[1] in _API_SUBPATHS else 2
        return _route("api", repo_type, f"/api/{segments[1]}/", rest, id_len)
    repo_type, offset = ("dataset", 1) if segments[:1] == ["datasets"] else ("model", 0)
    rest = segments[offset:]
    prefix = "/datasets/" if offset else "/"
    if len(rest) >= 2 and rest[1] == "resolve":
        return _route("resolve", repo_type, prefix, rest, 1)
    if len(rest) >= 3 and rest[2] == "resolve":
        return _route("resolve", repo_type, prefix, rest, 2)
    return Route("other")


def _route(kind: str, repo_type: str, prefix: str, rest: list[str], id_len: int) -> Route:
    id_parts = rest[:id_len]
    tail_raw = rest[id_len:]
    suffix = "/" + "/".join(tail_raw) if tail_raw else ""
    return Route(
        kind=kind,
        repo_type=repo_type,
        repo_id="/".join(unquote(p) for p in id_parts),
        prefix=prefix,
        suffix=suffix,
        tail=tuple(unquote(s) for s in tail_raw),
    )


# -- the recorded Hub as of one date ---------------------------------------------


def _tree_entry(repo: Repo, commit: Commit, entry: FileEntry, *, expand: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "file", "oid": entry.oid, "size": entry.size}
    if entry.is_lfs:
        pointer_size = len(
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{entry.sha256}\n"
            f"size {entry.size}\n"
        )
        item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": pointer_size}
    item["path"] = entry.path
    if expand:
        last = repo.last_change(commit, entry.path)
        item["lastCommit"] = {"id": last.sha, "title": last.title, "date": _iso(last.date)}
    return item


def _dir_entry(path: str, children: Iterable[str]) -> dict[str, Any]:
    oid = hashlib.sha1("\n".join(sorted(children)).encode(), usedforsecurity=False).hexdigest()
    return {"type": "directory", "oid": oid, "size": 0, "path": path}


class HubView:
    """Every repo as of one date, with its JSON bodies computed once."""

    def __init__(self, store: RecordingStore, *, as_of: dt.date | None) -> None:
        self.store = store
        self.repos: dict[str, Repo] = {}
        for key, repo in store.repos.items():
            dated = store.repo(repo.repo_type, repo.repo_id, as_of=as_of)
            if dated is not None:
                self.repos[key] = dated
        self.blobs: dict[str, FileEntry] = {}
        self._info: dict[tuple[str, str, bool], bytes] = {}
        self._commits: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._dirs: dict[tuple[str, str], dict[str, set[str]]] = {}
        for key, repo in self.repos.items():
            for commit in repo.commits:
                for entry in commit.files.values():
                    self.blobs[entry.sha256] = entry
                for blobs in (False, True):
                    self._info[(key, commit.sha, blobs)] = self._info_body(repo, commit, blobs)
                self._commits[(key, commit.sha)] = self._commit_list(repo, commit)
                self._dirs[(key, commit.sha)] = self._directories(commit)

    def repo(self, repo_type: str, repo_id: str) -> Repo | None:
        return self.repos.get(f"{repo_type}/{repo_id}")

    def info(self, repo: Repo, commit: Commit, *, blobs: bool) -> bytes:
        return self._info[(repo.key, commit.sha, blobs)]

    def commits(self, repo: Repo, commit: Commit) -> list[dict[str, Any]]:
        return self._commits[(repo.key, commit.sha)]

    def _info_body(self, repo: Repo, commit: Commit, blobs: bool) -> bytes:
        if commit.api_info is not None and repo.repo_type == "model":
            # The Hub's own body, byte for byte: what a client parses is real.
            return self.store.blob_bytes(commit.api_info)
        siblings: list[dict[str, Any]] = []
        for path in sorted(commit.files):
            entry = commit.files[path]
            sibling: dict[str, Any] = {"rfilename": path}
            if blobs:
                sibling["blobId"] = entry.oid
                sibling["size"] = entry.size
                if entry.is_lfs:
                    sibling["lfs"] = {"sha256": entry.sha256, "size": entry.size}
            siblings.append(sibling)
        author = repo.repo_id.split("/")[0] if "/" in repo.repo_id else None
        body: dict[str, Any] = {
            "_id": commit.sha[:24],
            "id": repo.repo_id,
            **({"modelId": repo.repo_id} if repo.repo_type == "model" else {}),
            "author": author,
            "sha": commit.sha,
            "lastModified": _iso(commit.date),
            "private": False,
            "gated": False,
            "disabled": False,
            "tags": [],
            "downloads": 0,
            "likes": 0,
            "siblings": siblings,
            "createdAt": _iso(repo.commits[0].date),
            "usedStorage": sum(entry.size for entry in commit.files.values()),
        }
        return _json(body)

    @staticmethod
    def _commit_list(repo: Repo, commit: Commit) -> list[dict[str, Any]]:
        history = repo.commits[: repo.commits.index(commit) + 1]
        return [
            {
                "id": item.sha,
                "title": item.title,
                "message": item.source,
                "date": _iso(item.date),
                "authors": [{"user": RECORDER}],
            }
            for item in reversed(history)
        ]

    @staticmethod
    def _directories(commit: Commit) -> dict[str, set[str]]:
        """Each folder (\"\" is the root) and the names of its direct children."""
        dirs: dict[str, set[str]] = {"": set()}
        for path in commit.files:
            parts = path.split("/")
            for depth in range(len(parts)):
                parent = "/".join(parts[:depth])
                dirs.setdefault(parent, set()).add("/".join(parts[: depth + 1]))
        return dirs

    def tree(
        self, repo: Repo, commit: Commit, path: str, *, recursive: bool, expand: bool
    ) -> list[dict[str, Any]] | None:
        """The tree at `path` (None: no such folder)."""
        dirs = self._dirs[(repo.key, commit.sha)]
        if path not in dirs:
            return None
        names = sorted(dirs[path])
        if recursive:
            names = sorted(
                p for p in {*dirs, *commit.files} if p and (not path or p.startswith(path + "/"))
            )
        folders = [_dir_entry(p, dirs[p]) for p in names if p in dirs]
        files = [
            _tree_entry(repo, commit, commit.files[p], expand=expand)
            for p in names
            if p in commit.files
        ]
        return folders + files

    def paths_info(
        self, repo: Repo, commit: Commit, paths: Iterable[str], *, expand: bool
    ) -> list[dict[str, Any]]:
        dirs = self._dirs[(repo.key, commit.sha)]
        found: list[dict[str, Any]] = []
        for path in paths:
            path = path.strip("/")
            if path in commit.files:
                found.append(_tree_entry(repo, commit, commit.files[path], expand=expand))
            elif path in dirs and path:
                found.append(_dir_entry(path, dirs[path]))
        return found


# -- the server -----------------------------------------------------------------


@dataclass(frozen=True)
class RequestRecord:
    listener: str  # "hub" | "cdn"
    method: str
    path: str
    host: str
    authorized: bool


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many clients at once: the default backlog of 5 drops connections under load.
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], hub: ReplayHub, listener: str) -> None:
        self.hub = hub
        self.listener = listener
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "llmsync-replay-hub"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle's
        # algorithm meets the client's delayed ACK and each response stalls ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return  # one line per request would be the bottleneck; see ReplayHub.requests

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        hub = self.server.hub
        body = self._read_body()
        raw_path, _, query = self.path.partition("?")
        authorized = self.headers.get("Authorization") is not None
        hub.record(
            RequestRecord(
                self.server.listener, method, raw_path, self.headers.get("Host", ""), authorized
            )
        )
        route = parse_route(raw_path)
        rule = hub.faults.take(method, raw_path) if hub.faults is not None else None
        if rule is not None and rule.action == "delay":
            time.sleep(rule.seconds)
            rule = None
        if rule is not None and rule.action in ("status", "redirect", "gated"):
            reply = hub.fault_reply(
                rule, route, query=query, authorization=self.headers.get("Authorization")
            )
        elif self.server.listener == "cdn":
            reply = hub.cdn(route, self.headers.get("Range"))
        else:
            reply = hub.handle(
                method,
                route,
                query=query,
                body=body,
                authorized=authorized,
                range_header=self.headers.get("Range"),
            )
        try:
            self._send(method, reply, rule)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, method: str, reply: Reply, rule: FaultRule | None) -> None:
        has_body = method != "HEAD" and reply.content_length > 0
        if rule is not None and rule.action == "reset" and not has_body:
            self._reset()
            return
        reason = HTTPStatus(reply.status).phrase
        lines = [f"HTTP/1.1 {reply.status} {reason}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        if not any(name.lower() == "content-length" for name, _ in reply.headers):
            lines.append(f"Content-Length: {reply.content_length}")
        lines.append(f"X-Request-Id: Root={uuid.uuid4()}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        send_length = reply.content_length if has_body else 0
        if rule is not None and rule.action in ("reset", "truncate"):
            send_length = int(send_length * rule.fraction)
        if reply.blob is None or send_length == 0:
            self.wfile.write(head + reply.body[:send_length])
        elif send_length <= SMALL_BLOB:
            # One write for a small file: fewer syscalls and segments than sendfile.
            with reply.blob.open("rb") as handle:
                handle.seek(reply.offset)
                self.wfile.write(head + handle.read(send_length))
        else:
            self.wfile.write(head)
            with reply.blob.open("rb") as handle:
                self.connection.sendfile(handle, reply.offset, send_length)
        if rule is not None and rule.action == "reset":
            self._reset()
        elif rule is not None and rule.action == "truncate":
            self.close_connection = True  # a clean close (FIN) before the announced length

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout turns close() into a TCP reset (RST).
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the connection was reset on purpose
            super().finish()


def _parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
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


def _content_type(path: str) -> str:
    if path.endswith((".md", ".txt", ".json", ".yaml", ".yml", ".csv")):
        guessed = mimetypes.guess_type(path)[0] or "text/plain"
        return f"{guessed}; charset=utf-8"
    return "application/octet-stream"


class ReplayHub:
    """The replay hub as a context manager:

    >>> with ReplayHub(as_of=dt.date(2024, 11, 10)) as hub:
    ...     HfApi(endpoint=hub.url).list_repo_commits(...)
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        as_of: dt.date | None = None,
        faults: FaultPlan | None = None,
        recordings: Path | None = None,
        serve_partial_captures: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.as_of = as_of
        self.faults = faults
        # Partial captures are bad upstream revisions: served only when asked for.
        partial = serve_partial_captures or (faults is not None and faults.partial_captures)
        store = RecordingStore.load(recordings, serve_partial_captures=partial)
        self.view = HubView(store, as_of=as_of)
        self.url = ""
        self.cdn_url = ""
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._records: collections.deque[RequestRecord] = collections.deque(maxlen=100_000)
        self._records_lock = threading.Lock()

    # lifecycle

    def start(self) -> ReplayHub:
        if self._servers:
            return self
        main = _Server((self.host, self.port), self, "hub")
        # The CDN is another origin (another port), as the Hub's CDN is another
        # host: a client must not send the Hub token there.
        cdn = _Server((self.host, 0), self, "cdn")
        self._servers = [main, cdn]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{main.server_address[1]}"
        self.cdn_url = f"http://{host}:{cdn.server_address[1]}"
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},  # quick to stop; idle cost is nil
                name=f"replay-hub-{server.listener}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> ReplayHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # request log

    def record(self, item: RequestRecord) -> None:
        with self._records_lock:
            self._records.append(item)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._records_lock:
            return list(self._records)

    def clear_requests(self) -> None:
        with self._records_lock:
            self._records.clear()

    # responses

    def fault_reply(
        self, rule: FaultRule, route: Route, *, query: str, authorization: str | None
    ) -> Reply:
        authorized = authorization is not None
        echo = f" (credentials sent: {authorization})" if rule.echo_auth and authorization else ""
        if rule.action == "redirect" and route.repo_id and rule.to:
            location = route.renamed(quote(rule.to)) + (f"?{query}" if query else "")
            return Reply(307, [("Location", location), ("Content-Type", "text/plain")])
        if rule.action == "gated":
            status = rule.status or (403 if authorized else 401)
            return gated_reply(
                route.repo_type, route.repo_id or "?", status=status, endpoint=self.url, echo=echo
            )
        status = rule.status or 500
        if status == 429:
            resource = "resolvers" if route.kind in ("resolve", "cdn") else "api"
            reset = rule.ratelimit_reset
            if reset is None:
                reset = math.ceil(rule.retry_after) if rule.retry_after is not None else 1
            headers = {
                "RateLimit": f'"{resource}";r=0;t={reset}',
                "RateLimit-Policy": f'"fixed window";"{resource}";q=500;w=300',
            }
            if rule.retry_after is not None:
                headers["Retry-After"] = str(math.ceil(rule.retry_after))
            return error_reply(429, None, f"Too Many Requests{echo}", **headers)
        return error_reply(status, None, HTTPStatus(status).phrase + echo)

    def _lookup(self, route: Route, *, query: str, authorized: bool) -> Repo | Reply:
        repo = self.view.repo(route.repo_type, route.repo_id)
        if repo is not None:
            return repo
        new_id = self.view.store.redirect(route.repo_type, route.repo_id)
        if new_id is not None:
            location = route.renamed(quote(new_id)) + (f"?{query}" if query else "")
            return Reply(307, [("Location", location), ("Content-Type", "text/plain")])
        return repo_not_found(authenticated=authorized)

    def handle(
        self,
        method: str,
        route: Route,
        *,
        query: str,
        body: bytes,
        authorized: bool,
        range_header: str | None,
    ) -> Reply:
        if route.kind not in ("api", "resolve"):
            return error_reply(404, None, "Not Found")
        found = self._lookup(route, query=query, authorized=authorized)
        if isinstance(found, Reply):
            return found
        if route.kind == "resolve":
            return self._resolve(found, route, range_header=range_header)
        return self._api(method, found, route, query=query, body=body)

    def _commit(self, repo: Repo, revision: str) -> Commit | Reply:
        commit = repo.resolve(revision)
        if commit is None:
            return error_reply(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return commit

    def _api(self, method: str, repo: Repo, route: Route, *, query: str, body: bytes) -> Reply:
        params = parse_qs(query)
        tail = route.tail
        action = tail[0] if tail else "info"
        revision = tail[1] if len(tail) >= 2 else "main"
        if action == "revision" and len(tail) < 2:
            return error_reply(404, None, "Not Found")
        found = self._commit(repo, revision)
        if isinstance(found, Reply):
            return found
        commit = found
        if action in ("info", "revision") and method in ("GET", "HEAD"):
            blobs = params.get("blobs", ["false"])[0].lower() == "true"
            return Reply(
                200, [("Content-Type", JSON_TYPE)], self.view.info(repo, commit, blobs=blobs)
            )
        if action == "tree" and method in ("GET", "HEAD"):
            path = "/".join(tail[2:]).strip("/")
            recursive = params.get("recursive", ["false"])[0].lower() == "true"
            expand = params.get("expand", ["false"])[0].lower() == "true"
            entries = self.view.tree(repo, commit, path, recursive=recursive, expand=expand)
            if entries is None:
                return error_reply(404, "EntryNotFound", f'{path} does not exist on "{revision}"')
            return Reply(200, [("Content-Type", JSON_TYPE)], _json(entries))
        if action == "commits" and method in ("GET", "HEAD"):
            return self._commits_page(repo, commit, route, params)
        if action == "paths-info" and method == "POST":
            form = parse_qs(body.decode("utf-8", "replace"))
            expand = form.get("expand", ["false"])[0].lower() == "true"
            entries = self.view.paths_info(repo, commit, form.get("paths", []), expand=expand)
            return Reply(200, [("Content-Type", JSON_TYPE)], _json(entries))
        return error_reply(404, None, "Not Found")

    def _commits_page(
        self, repo: Repo, commit: Commit, route: Route, params: dict[str, list[str]]
    ) -> Reply:
        items = self.view.commits(repo, commit)
        try:
            page = max(0, int(params.get("p", ["0"])[0]))
        except ValueError:
            page = 0
        start = page * COMMITS_PAGE_SIZE
        chunk = items[start : start + COMMITS_PAGE_SIZE]
        headers = [("Content-Type", JSON_TYPE)]
        if start + COMMITS_PAGE_SIZE < len(items):
            next_url = f"{self.url}{route.prefix}{route.repo_id}{route.suffix}?p={page + 1}"
            headers.append(("Link", f'<{next_url}>; rel="next"'))
        return Reply(200, headers, _json(chunk))

    def _resolve(self, repo: Repo, route: Route, *, range_header: str | None) -> Reply:
        if len(route.tail) < 3:
            return error_reply(404, None, "Not Found")
        revision, path = route.tail[1], "/".join(route.tail[2:])
        found = self._commit(repo, revision)
        if isinstance(found, Reply):
            return found
        commit = found
        # A request by sha is answered with that sha, as the Hub does.
        commit_id = revision if revision != "main" else commit.sha
        entry = commit.files.get(path)
        if entry is None:
            return error_reply(
                404, "EntryNotFound", "Entry not found", **{"X-Repo-Commit": commit_id}
            )
        if entry.is_lfs:
            location = f"{self.cdn_url}{CDN_PREFIX}{entry.sha256}?repo={quote(repo.repo_id)}"
            return Reply(
                302,
                [
                    ("Location", location),
                    ("X-Repo-Commit", commit_id),
                    ("X-Linked-Etag", f'"{entry.sha256}"'),
                    ("X-Linked-Size", str(entry.size)),
                    ("ETag", f'"{entry.sha256}"'),
                    ("Content-Type", "text/plain; charset=utf-8"),
                ],
            )
        headers = [
            ("Content-Type", _content_type(path)),
            ("ETag", f'"{entry.oid}"'),
            ("X-Repo-Commit", commit_id),
        ]
        return self._blob_reply(entry, headers, range_header)

    def cdn(self, route: Route, range_header: str | None) -> Reply:
        sha256 = route.tail[0] if route.tail else ""
        entry = self.view.blobs.get(sha256)
        if entry is None:
            return Reply(404, [("Content-Type", "text/plain")], b"NoSuchKey")
        headers = [("Content-Type", "application/octet-stream"), ("ETag", f'"{sha256}"')]
        return self._blob_reply(entry, headers, range_header)

    def _blob_reply(
        self, entry: FileEntry, headers: list[tuple[str, str]], range_header: str | None
    ) -> Reply:
        size = entry.size
        headers = [*headers, ("Accept-Ranges", "bytes")]
        wanted = _parse_range(range_header, size)
        if wanted == "bad":
            return Reply(416, [*headers, ("Content-Range", f"bytes */{size}")])
        start, length = wanted if isinstance(wanted, tuple) else (0, size)
        status = 206 if isinstance(wanted, tuple) else 200
        if status == 206:
            headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{size}"))
        if entry.blob is None:  # built in memory (a leaderboard export)
            data = self.view.store.file_bytes(entry)
            return Reply(status, headers, body=data[start : start + length])
        return Reply(status, headers, blob=entry.blob, offset=start, length=length)


def run_forever(
    *,
    host: str,
    port: int,
    as_of: dt.date | None,
    faults: FaultPlan | None,
    recordings: Path | None = None,
    serve_partial_captures: bool = False,
) -> None:
    """Serve until SIGTERM or SIGINT; the base URL is the first line of stdout."""
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with ReplayHub(
            host=host,
            port=port,
            as_of=as_of,
            faults=faults,
            recordings=recordings,
            serve_partial_captures=serve_partial_captures,
        ) as hub:
            print(hub.url, flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmsync.replay.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, help="serve the Hub as of this date")
    parser.add_argument("--faults", type=Path, help="a fault plan (JSON or YAML)")
    parser.add_argument("--recordings", type=Path, help="a recordings folder (default: bundled)")
    parser.add_argument(
        "--serve-partial-captures",
        action="store_true",
        help="serve the recorded partial captures (bad upstream revisions) as commits",
    )
    args = parser.parse_args(argv)
    faults = FaultPlan.load(args.faults) if args.faults else None
    run_forever(
        host=args.host,
        port=args.port,
        as_of=args.as_of,
        faults=faults,
        recordings=args.recordings,
        serve_partial_captures=args.serve_partial_captures,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
