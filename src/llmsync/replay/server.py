"""An HTTP server that speaks enough of the Hub's API to replay the recordings.

huggingface_hub pointed at it (`HF_ENDPOINT` or `endpoint=`) behaves as against
huggingface.co for repo info, tree and commit listings, file downloads (HEAD and
GET of `/resolve/`, LFS files redirected to a separate "CDN" listener as the
Hub redirects to its CDN) and errors (`X-Error-Code` / `X-Error-Message`).

Every recorded JSON body is computed once at start; blobs are streamed with
sendfile, leaderboard exports are built once from the row store and sent from
memory. HTTP/1.1 keep-alive, one thread per connection (`handler.py`).

At scale (see POPULATION.md): `--population` serves every model repo of the
leaderboards, `--rate-limits` the Hub's quotas, `--time-scale` a faster Hub
clock, `--latency-ms` a slower network; `/_replay/` holds the admin endpoints.

    python -m llmsync.replay.server [--host H] [--port N] [--as-of YYYY-MM-DD] [--faults FILE]
        [--population] [--rate-limits none|anonymous|free|pro] [--time-scale N]
        [--latency-ms N] [--page-size N] [--serve-partial-captures]
        [--other-repos-per-author N] [--author-repos AUTHOR=N ...] [--daily-churn N]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import math
import signal
import sys
import threading
import time
from email.message import Message
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote

from llmsync.cli_args import share
from llmsync.replay.admin import ADMIN_PREFIX, Controls, admin_reply
from llmsync.replay.evals import EvalsView, datasets_listing, leaderboard_reply
from llmsync.replay.faults import FaultPlan, FaultRule, rewritten
from llmsync.replay.generated import GeneratedRepo
from llmsync.replay.handler import HubServer, RequestRecord
from llmsync.replay.hubclock import HubClock, epoch_after
from llmsync.replay.hubwide import HubWide, ListingSizes
from llmsync.replay.population import Population
from llmsync.replay.population_evals import DEFAULT_SHARE as DEFAULT_EVAL_SHARE
from llmsync.replay.population_http import MAX_PAGE_SIZE, listing, repo_api, repo_resolve
from llmsync.replay.ratelimit import MODES, RateLimiter, bucket_of
from llmsync.replay.recordings import Commit, FileEntry, RecordingStore, Repo
from llmsync.replay.replies import (
    JSON_TYPE,
    Reply,
    blob_reply,
    bytes_reply,
    content_type,
    dump_json,
    error_reply,
    gated_reply,
    not_recorded_reply,
    repo_not_found,
    set_header,
)
from llmsync.replay.routes import CDN_PREFIX, Route, parse_route
from llmsync.replay.stats import Stats, kind_of
from llmsync.replay.uploads import Uploads
from llmsync.replay.view import HubView

__all__ = ["ReplayHub", "RequestRecord", "Route", "main", "parse_route", "run_forever"]

COMMITS_PAGE_SIZE = 50


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
        population: bool = False,
        rate_limits: str = "none",
        time_scale: float = 1.0,
        latency_ms: float = 0.0,
        page_size: int = MAX_PAGE_SIZE,
        hub_start: dt.datetime | None = None,
        serve_partial_captures: bool = False,
        listing_sizes: ListingSizes | None = None,
        eval_results_share: float = DEFAULT_EVAL_SHARE,
        pr_moves_last_modified: bool = True,
    ) -> None:
        """`population`: serve every repo of the leaderboards (`population.py`),
        and list with them the authors' other repos and the Hub-wide churn at
        `listing_sizes` (`hubwide.py`; default `ListingSizes()`), a share
        `eval_results_share` of its generated repos with generated eval results;
        `rate_limits`: none | anonymous | free | pro (`ratelimit.py`);
        `time_scale`: Hub seconds per wall second (`hubclock.py`); `latency_ms`:
        added to every request; `page_size`: a listing's largest page;
        `hub_start`: where Hub time starts (default: after the newest export);
        `serve_partial_captures`: serve the recorded partial captures (bad
        upstream revisions) as ordinary commits."""
        self.host = host
        self.port = port
        self.as_of = as_of
        self.faults = faults
        # Partial captures are bad upstream revisions: served only when asked for.
        partial = serve_partial_captures or (faults is not None and faults.partial_captures)
        store = RecordingStore.load(recordings, serve_partial_captures=partial)
        _check_as_of(store, as_of)
        self.view = HubView(store, as_of=as_of)
        self.evals = EvalsView(self.view, root=store.root, as_of=as_of)
        if faults is not None:
            self.evals.odd_repos = faults.odd_eval_items
            for repo_id, since in faults.rewritten_history.items():
                repo = self.view.repo("dataset", repo_id)
                if repo is not None:
                    self.view.add(rewritten(repo, since))
        if latency_ms < 0 or page_size < 1:
            raise ValueError("latency_ms must be >= 0 and page_size >= 1")
        epoch = hub_start or epoch_after(list(self.view.repos.values()), as_of=as_of)
        self.clock = HubClock(epoch=epoch, scale=time_scale)
        self.limiter = RateLimiter(rate_limits, clock=self.clock) if rate_limits != "none" else None
        self.rate_limits = rate_limits
        self.latency = latency_ms / 1000
        self.page_size = page_size
        self.stats = Stats()
        self.population = (
            Population(
                self.view,
                clock=self.clock,
                eval_results=self.evals.results,
                eval_benchmarks=self.evals.official_tasks(),
                eval_share=eval_results_share,
                pr_moves_last_modified=pr_moves_last_modified,
            )
            if population
            else None
        )
        if self.population is not None:  # their generated results are on the leaderboards
            self.evals.generated = self.population.generated_eval_results
        self.hub_wide = (
            HubWide(self.population, listing_sizes or ListingSizes(), clock=self.clock)
            if self.population is not None
            else None
        )
        self.controls = Controls(
            stats=self.stats,
            clock=self.clock,
            limiter=self.limiter,
            population=self.population,
            hub_wide=self.hub_wide,
            rate_limits=rate_limits,
            latency_ms=latency_ms,
        )
        self.url = ""
        self.cdn_url = ""
        self._servers: list[HubServer] = []
        self._threads: list[threading.Thread] = []
        self._records: collections.deque[RequestRecord] = collections.deque(maxlen=100_000)
        self._records_lock = threading.Lock()
        self.uploads = Uploads(self.view)

    # lifecycle

    def start(self) -> ReplayHub:
        if self._servers:
            return self
        if self.population is not None:
            self.population.start_building()  # once; requests that need it wait
        main = HubServer((self.host, self.port), self, "hub")
        # The CDN is another origin (another port), as the Hub's CDN is another
        # host: a client must not send the Hub token there.
        cdn = HubServer((self.host, 0), self, "cdn")
        self._servers = [main, cdn]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{main.server_address[1]}"
        self.cdn_url = f"http://{host}:{cdn.server_address[1]}"
        self.uploads.serve_at(self.url, self.cdn_url)
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
        self.uploads.close()

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

    def respond(
        self,
        listener: str,
        method: str,
        raw_path: str,
        *,
        query: str,
        body: bytes,
        headers: Message,
        client_ip: str,
    ) -> tuple[Reply, FaultRule | None]:
        """The reply to one request (and the fault rule that shapes how it is
        sent): admin paths, then rate limits, latency, faults and the Hub."""
        if listener == "hub" and raw_path.startswith(ADMIN_PREFIX):
            self.stats.count_admin()
            return admin_reply(self.controls, method, raw_path, query=query, body=body), None
        authorization = headers.get("Authorization")
        authorized = authorization is not None
        self.record(RequestRecord(listener, method, raw_path, headers.get("Host", ""), authorized))
        uploaded = self.uploads.respond(
            listener, method, raw_path, body=body, authorized=authorized
        )
        if uploaded is not None:
            return uploaded, None
        route = parse_route(raw_path)
        bucket = bucket_of(raw_path) if listener == "hub" else "cdn"
        verdict = None
        if self.limiter is not None and listener == "hub":
            verdict = self.limiter.check(bucket, authorization=authorization, client_ip=client_ip)
        if self.latency:
            time.sleep(self.latency)  # in this connection's thread: requests overlap
        rule = None
        if verdict is not None and not verdict.allowed:
            reply = error_reply(429, None, f'Too Many Requests: over the "{bucket}" quota')
        else:
            rule = self.faults.take(method, raw_path) if self.faults is not None else None
            if rule is not None and rule.action == "delay":
                time.sleep(rule.seconds)
                rule = None
            if rule is not None and rule.action in ("status", "redirect", "gated"):
                reply = self.fault_reply(rule, route, query=query, authorization=authorization)
            elif listener == "cdn":
                reply = self.cdn(route, headers.get("Range"))
            else:
                reply = self.handle(
                    method,
                    route,
                    query=query,
                    body=body,
                    authorized=authorized,
                    range_header=headers.get("Range"),
                )
        if verdict is not None and not any(n == "RateLimit" for n, _ in reply.headers):
            reply.headers.extend(verdict.headers)
        if rule is not None and rule.action == "header" and rule.header:
            reply.headers = set_header(reply.headers, rule.header, rule.value)
        self.stats.count(bucket=bucket, kind=kind_of(route, method=method), status=reply.status)
        return reply, rule

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

    def _lookup(
        self, route: Route, *, query: str, authorized: bool
    ) -> Repo | GeneratedRepo | Reply:
        repo_id = route.repo_id
        if self.population is not None and route.repo_type == "model":
            repo_id = self.population.spelling(route.repo_id)  # ids are case-insensitive
            found = self.population.find(repo_id)
            if found is not None and found.kind == "deleted":
                return repo_not_found(authenticated=authorized)
            if found is not None and found.new_id is not None:
                location = route.renamed(quote(found.new_id)) + (f"?{query}" if query else "")
                return Reply(307, [("Location", location), ("Content-Type", "text/plain")])
            if found is not None and found.repo is not None:
                return found.repo
        repo = self.view.repo(route.repo_type, repo_id)
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
        if route.kind == "list" and route.repo_type == "dataset":
            return datasets_listing(self.evals, query=query)
        if route.kind == "list" and self.population is not None and method in ("GET", "HEAD"):
            return listing(
                self.population,
                query=query,
                base_url=self.url,
                default_page_size=self.page_size,
                hub_wide=self.hub_wide,
            )
        if route.kind not in ("api", "resolve"):
            return error_reply(404, None, "Not Found")
        found = self._lookup(route, query=query, authorized=authorized)
        if isinstance(found, Reply):
            return found
        if isinstance(found, GeneratedRepo):
            if route.kind == "resolve":
                return repo_resolve(
                    found,
                    route,
                    authorized=authorized,
                    range_header=range_header,
                    endpoint=self.url,
                )
            return repo_api(found, method, route, query=query, body=body)
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
            info = self.view.info(repo, commit, blobs=blobs)
            properties = params.get("expand", []) + params.get("expand[]", [])
            if properties:
                info = self.evals.project(repo, info, properties)
            return Reply(200, [("Content-Type", JSON_TYPE)], info)
        if action == "leaderboard" and method in ("GET", "HEAD"):
            return leaderboard_reply(self.evals, repo)
        if action == "tree" and method in ("GET", "HEAD"):
            path = "/".join(tail[2:]).strip("/")
            recursive = params.get("recursive", ["false"])[0].lower() == "true"
            expand = params.get("expand", ["false"])[0].lower() == "true"
            entries = self.view.tree(repo, commit, path, recursive=recursive, expand=expand)
            if entries is None:
                return error_reply(404, "EntryNotFound", f'{path} does not exist on "{revision}"')
            return Reply(200, [("Content-Type", JSON_TYPE)], dump_json(entries))
        if action == "commits" and method in ("GET", "HEAD"):
            return self._commits_page(repo, commit, route, params)
        if action == "paths-info" and method == "POST":
            form = parse_qs(body.decode("utf-8", "replace"))
            expand = form.get("expand", ["false"])[0].lower() == "true"
            entries = self.view.paths_info(repo, commit, form.get("paths", []), expand=expand)
            return Reply(200, [("Content-Type", JSON_TYPE)], dump_json(entries))
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
        return Reply(200, headers, dump_json(chunk))

    def _resolve(self, repo: Repo, route: Route, *, range_header: str | None) -> Reply:
        if len(route.tail) < 3:
            return error_reply(404, None, "Not Found")
        revision, path = route.tail[1], "/".join(route.tail[2:])
        found = self._commit(repo, revision)
        if isinstance(found, Reply):
            return found
        commit = found
        # A request by sha is answered with that sha, as the Hub does.
        commit_id = revision if revision in (commit.sha, commit.api_sha) else commit.sha
        entry = commit.files.get(path)
        if entry is None and path in commit.not_recorded:
            return not_recorded_reply(
                f"{path} of {repo.repo_id} ({commit.not_recorded[path]})",
                **{"X-Repo-Commit": commit_id},
            )
        if entry is None:
            return error_reply(
                404, "EntryNotFound", "Entry not found", **{"X-Repo-Commit": commit_id}
            )
        if entry.is_lfs:
            # As the Hub answers for an LFS or Xet file: a 302 to storage on
            # another host, the file's sha256 and size in `X-Linked-*` (and no
            # `ETag` of its own), and a short text body.
            location = f"{self.cdn_url}{CDN_PREFIX}{entry.sha256}?repo={quote(repo.repo_id)}"
            return Reply(
                302,
                [
                    ("Location", location),
                    ("X-Repo-Commit", commit_id),
                    ("X-Linked-Etag", f'"{entry.sha256}"'),
                    ("X-Linked-Size", str(entry.size)),
                    ("Content-Type", "text/plain; charset=utf-8"),
                ],
                f"Found. Redirecting to {location}".encode(),
            )
        headers = [
            ("Content-Type", content_type(path)),
            ("ETag", f'"{entry.oid}"'),
            ("X-Repo-Commit", commit_id),
        ]
        return self._file_reply(entry, headers, range_header)

    def cdn(self, route: Route, range_header: str | None) -> Reply:
        sha256 = route.tail[0] if route.tail else ""
        entry = self.view.blobs.get(sha256)
        if entry is None:
            return Reply(404, [("Content-Type", "text/plain")], b"NoSuchKey")
        headers = [("Content-Type", "application/octet-stream"), ("ETag", f'"{cdn_etag(sha256)}"')]
        return self._file_reply(entry, headers, range_header)

    def _file_reply(
        self, entry: FileEntry, headers: list[tuple[str, str]], range_header: str | None
    ) -> Reply:
        if entry.blob is None:  # built in memory from the row store (a leaderboard export)
            return bytes_reply(self.view.store.file_bytes(entry), headers, range_header)
        return blob_reply(entry.blob, entry.size, headers, range_header)


def cdn_etag(sha256: str) -> str:
    """The storage host's own ETag for a blob. The Hub's storage answers with
    an ETag of its own, 64 hex digits but not the file's sha256 (observed by
    clients that compared them); its value here is generated, assumed only to
    be stable and different: a client must check the body against the Hub's
    `X-Linked-Etag`, never this."""
    return hashlib.sha256(b"replay-cdn-etag:" + sha256.encode()).hexdigest()


def _check_as_of(store: RecordingStore, as_of: dt.date | None) -> None:
    """A date before the first recorded leaderboard export has nothing to
    serve: say so, rather than answer every request with 401 (no such repo)."""
    dates = [
        c.date.date() for r in store.repos.values() if r.repo_type == "dataset" for c in r.commits
    ]
    if as_of is not None and dates and as_of < min(dates):
        raise ValueError(
            f"no recordings before {min(dates)} (the first leaderboard export): "
            f"--as-of {as_of} is earlier"
        )


def run_forever(
    *,
    host: str,
    port: int,
    as_of: dt.date | None,
    faults: FaultPlan | None,
    recordings: Path | None = None,
    population: bool = False,
    rate_limits: str = "none",
    time_scale: float = 1.0,
    latency_ms: float = 0.0,
    page_size: int = MAX_PAGE_SIZE,
    serve_partial_captures: bool = False,
    listing_sizes: ListingSizes | None = None,
    eval_results_share: float = DEFAULT_EVAL_SHARE,
) -> None:
    """Serve until SIGTERM or SIGINT; the base URL is the first line of stdout
    (with `population`, a line on stderr says when it is ready)."""
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
            population=population,
            rate_limits=rate_limits,
            time_scale=time_scale,
            latency_ms=latency_ms,
            page_size=page_size,
            serve_partial_captures=serve_partial_captures,
            listing_sizes=listing_sizes,
            eval_results_share=eval_results_share,
        ) as hub:
            print(hub.url, flush=True)
            if hub.population is not None:
                summary = hub.population.wait(timeout=None).summary()
                print(
                    f"population: {summary['repos']} model repos ({summary['generated']} "
                    f"generated), built in {summary['build_seconds']} s",
                    file=sys.stderr,
                    flush=True,
                )
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def add_scale_options(parser: argparse.ArgumentParser) -> None:
    """The population, rate-limit and timing options (also `llmsync replay-hub`'s)."""
    parser.add_argument(
        "--population",
        action="store_true",
        help="serve every model repo of the leaderboards (generated where not recorded)",
    )
    parser.add_argument(
        "--rate-limits",
        choices=MODES,
        default="none",
        help="enforce the Hub's 5-minute quotas: anonymous requests get the anonymous "
        "tier, token holders this one (default: none)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="Hub seconds per wall second (rate-limit windows, mutation dates)",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument(
        "--page-size", type=int, default=MAX_PAGE_SIZE, help="largest page of a listing"
    )
    parser.add_argument(
        "--serve-partial-captures",
        action="store_true",
        help="serve the recorded partial captures (bad upstream revisions) as commits",
    )
    add_listing_options(parser)


def add_listing_options(parser: argparse.ArgumentParser) -> None:
    """How big the Hub around the population is (also `llmsync replay-hub`'s)."""
    defaults = ListingSizes()
    parser.add_argument(
        "--other-repos-per-author",
        type=int,
        default=defaults.other_repos_per_author,
        help="with --population: generated repos each author lists besides its leaderboard "
        "repos (default: %(default)s)",
    )
    parser.add_argument(
        "--author-repos",
        action="append",
        metavar="AUTHOR=N",
        help="with --population: AUTHOR's listing holds N repos in all (repeat; replaces the "
        "default table: " + ", ".join(f"{a}={n}" for a, n in defaults.author_repos.items()) + ")",
    )
    parser.add_argument(
        "--daily-churn",
        type=int,
        default=defaults.daily_churn,
        help="with --population: generated repos modified per Hub day, listed by "
        "sort=lastModified (default: %(default)s)",
    )
    parser.add_argument(
        "--eval-results-share",
        type=share,
        default=DEFAULT_EVAL_SHARE,
        help="with --population: the share of generated repos given generated eval results "
        "(a chosen density, POPULATION.md; default: %(default)s)",
    )


def listing_sizes(
    *, other_repos_per_author: int | None, author_repos: list[str] | None, daily_churn: int | None
) -> ListingSizes:
    """The `ListingSizes` the options of `add_listing_options` ask for (None: the default)."""
    defaults = ListingSizes()
    table = dict(defaults.author_repos)
    if author_repos:
        table = {}
        for pair in author_repos:
            author, _, size = pair.partition("=")
            if not author or not size.isdigit():
                raise ValueError(f"--author-repos takes AUTHOR=N, got {pair!r}")
            table[author] = int(size)
    return ListingSizes(
        other_repos_per_author=defaults.other_repos_per_author
        if other_repos_per_author is None
        else other_repos_per_author,
        author_repos=table,
        daily_churn=defaults.daily_churn if daily_churn is None else daily_churn,
    )


def serve_options(args: argparse.Namespace) -> None:
    """`run_forever` with the options of `main` (and of `llmsync replay-hub`,
    which has all but `--recordings`)."""
    faults = FaultPlan.load(args.faults) if args.faults else None
    run_forever(
        host=args.host,
        port=args.port,
        as_of=args.as_of,
        faults=faults,
        recordings=getattr(args, "recordings", None),
        population=args.population,
        rate_limits=args.rate_limits,
        time_scale=args.time_scale,
        latency_ms=args.latency_ms,
        page_size=args.page_size,
        serve_partial_captures=args.serve_partial_captures,
        listing_sizes=listing_sizes(
            other_repos_per_author=args.other_repos_per_author,
            author_repos=args.author_repos,
            daily_churn=args.daily_churn,
        ),
        eval_results_share=args.eval_results_share,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmsync.replay.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, help="serve the Hub as of this date")
    parser.add_argument("--faults", type=Path, help="a fault plan (JSON or YAML)")
    parser.add_argument("--recordings", type=Path, help="a recordings folder (default: bundled)")
    add_scale_options(parser)
    serve_options(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
