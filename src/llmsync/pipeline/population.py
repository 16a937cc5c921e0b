"""Fetching the leaderboards' whole population (~11,000 model repos) at the
Hub's rate limits.

The request plan:

- **Full fetch** (the first run, and a reconcile every `reconcile_days`):
  repos are grouped by author. An author with several repos is read from its
  listing (`/api/models?author=A&expand[]=...`, 1,000 repos a page): one
  request for up to 1,000 repos. An author with one repo costs one request
  either way; its model info is asked, which also tells a rename (307 to the
  new id) or a delete (404) directly. A repo missing from its author's
  listing gets a model-info check for the same reason.
- **Incremental fetch** (the nights between): the listing of every model
  sorted by `lastModified`, newest first, read until it passes the previous
  sync's watermark (the newest `lastModified` the Hub showed then) minus a
  margin. Repos in it get their new listing item; every other repo keeps what
  the previous snapshot was built from (its landed objects, no request).
  Repos new to the population get a full fetch of their own.
- **Cards**: one resolver GET of `/<id>/resolve/<sha>/README.md` per sha not
  landed before; a landed card is never asked again.

Every listing page lands as it came (`store.raw`, named by its sha256) and a
model's row is built from its item's JSON, which has the shape of the model's
`/api/models/{id}` body, so `llmsync verify` rebuilds it offline. Requests go
through one `Pacer` (hub/pacing.py) shared by a few threads.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from llmsync.hub.client import HubClient
from llmsync.hub.errors import HubError
from llmsync.hub.ids import InvalidIdError, is_commit_sha, require_repo_id
from llmsync.hub.landing import StoredObject
from llmsync.hub.listing import item_bytes, item_modified, listing_url, page_items
from llmsync.hub.pacing import Pacer
from llmsync.pipeline.fetchplan import FetchPlan, ProgressFn, Tracker
from llmsync.pipeline.landed import fetches_from_manifest
from llmsync.pipeline.model_fetch import ModelFetch, fetch_info, with_card
from llmsync.pipeline.stages import SyncConfig, make_client
from llmsync.store.raw import RawStore

POPULATIONS = ("leaderboards", "curated")
# Statuses a later incremental fetch asks about again rather than carrying over.
_RETRY_STATUSES = frozenset({"unavailable", "card_unavailable", "invalid_repo_id"})


def leaderboard_repo_ids(scores: pa.Table) -> list[str]:
    """The distinct repo ids the leaderboards name, in first-seen order, one
    per repo: ids are case-insensitive on the Hub, so names that differ only
    in case are one repo (the first spelling kept). The one place the
    population reads the scores table: its `repo_id` column only."""
    seen: dict[str, str] = {}
    for repo_id in scores.column("repo_id").to_pylist():
        if isinstance(repo_id, str) and repo_id:
            seen.setdefault(repo_id.lower(), repo_id)
    return list(seen.values())


@dataclass(frozen=True)
class ListedModel:
    """A repo's listing item and the landed page it was read from."""

    item: dict[str, Any]
    page: StoredObject


def _author(repo_id: str) -> str:
    """The key repos are grouped by author with (namespaces are case-insensitive)."""
    return repo_id.partition("/")[0].lower()


def _walk(
    client: HubClient, raw: RawStore, url: str, *, what: str, plan: FetchPlan
) -> Iterable[tuple[StoredObject, list[dict[str, Any]]]]:
    """Each page of a listing, landed, with its items."""
    next_url: str | None = url
    while next_url is not None:
        data, next_url = client.list_page(next_url, what=what)
        plan.count("listing_pages")
        plan.count("listing_bytes", len(data))
        yield raw.put_listing(data), page_items(data)


def _list_author(
    client: HubClient, raw: RawStore, author: str, *, plan: FetchPlan
) -> dict[str, ListedModel]:
    found: dict[str, ListedModel] = {}
    url = listing_url(client.endpoint, author=author)
    for page, items in _walk(client, raw, url, what=f"models of {author}", plan=plan):
        for item in items:
            found.setdefault(str(item["id"]).lower(), ListedModel(item, page))
    return found


def _with_card(
    client: HubClient,
    base: ModelFetch,
    *,
    hub_id: str,
    sha: Any,
    card_max_bytes: int,
    plan: FetchPlan,
) -> ModelFetch:
    """`base` completed with the card at `sha`, a request counted when it is asked."""
    commit = isinstance(sha, str) and is_commit_sha(sha)
    if (
        commit
        and client.raw_store.get(hub_id, "README.md", repo_type="model", revision=sha) is None
    ):
        plan.count("card_requests")
    return with_card(client, base, hub_id=hub_id, sha=sha, max_bytes=card_max_bytes)


def fetch_population(
    client: HubClient,
    repo_ids: Sequence[str],
    *,
    previous: dict[str, Any] | None,
    previous_fetches: Callable[[], dict[str, ModelFetch]] | None = None,
    reconcile_days: float = 7.0,
    margin_hours: float = 1.0,
    card_max_bytes: int,
    concurrency: int = 8,
    on_progress: ProgressFn | None = None,
    now: dt.datetime | None = None,
    reread: Collection[str] = (),
) -> tuple[list[ModelFetch], FetchPlan]:
    """Land info and card of every repo in `repo_ids`; one ModelFetch each
    (in `repo_ids`' order), and what was done.

    `previous`: the previous snapshot's `population` manifest entry (None: no
    previous population sync, so a full fetch). `previous_fetches()` gives the
    previous snapshot's ModelFetch per repo, read from the raw landing.
    `reread`: repos an incremental fetch reads again though unlisted (an open
    PR at the previous sync: its results may move without lastModified).
    """
    now = now or dt.datetime.now(dt.UTC)
    raw = client.raw_store
    assert isinstance(raw, RawStore)
    tracker = Tracker(client, on_progress)
    kind = "full"
    since: dt.datetime | None = None
    if previous is not None and previous_fetches is not None:
        reconciled = _parse_time(previous.get("reconciled_at"))
        watermark = _parse_time(previous.get("watermark"))
        due = reconciled is None or now - reconciled >= dt.timedelta(days=reconcile_days)
        if not due and watermark is not None:
            kind, since = "incremental", watermark - dt.timedelta(hours=margin_hours)
    plan = FetchPlan(kind=kind)
    results: dict[str, ModelFetch] = {}
    valid: list[str] = []
    for repo_id in repo_ids:
        try:
            require_repo_id(repo_id)
        except InvalidIdError as exc:
            results[repo_id] = ModelFetch(repo_id, None, None, "invalid_repo_id", str(exc))
            continue
        valid.append(repo_id)

    listed: dict[str, ListedModel] = {}
    to_fetch: list[str] = valid
    if kind == "incremental":
        assert since is not None and previous_fetches is not None
        tracker.start("changed models", 0)
        recent = _list_recent(client, raw, since=since, plan=plan)
        earlier = previous_fetches()
        again = set(reread)
        to_fetch = []
        for repo_id in valid:
            old = earlier.get(repo_id)
            item = recent.get(repo_id.lower())
            if item is not None:
                listed[repo_id.lower()] = item
            elif old is not None and old.status not in _RETRY_STATUSES and repo_id not in again:
                results[repo_id] = old
                plan.count("reused")
            else:
                plan.count("open_pr_rereads", int(repo_id in again and old is not None))
                to_fetch.append(repo_id)
    else:
        plan.watermark = _newest_modified(client, raw, plan=plan)

    by_author: dict[str, list[str]] = {}
    for repo_id in to_fetch:
        by_author.setdefault(_author(repo_id), []).append(repo_id)
    authors = sorted(a for a, repos in by_author.items() if len(repos) > 1)
    singles = [repos[0] for a, repos in by_author.items() if len(repos) == 1]
    from_listing = [r for r in valid if r not in results and r.lower() in listed]
    tracker.start("models", len(from_listing) + len(to_fetch))

    card_locks: dict[tuple[str, str], threading.Lock] = {}
    guard = threading.Lock()

    def card_one(repo_id: str, base: ModelFetch, hub_id: str, sha: Any) -> ModelFetch:
        # Two leaderboard names of one repo (they differ in case) share its card:
        # the second waits for the first and finds it landed.
        with guard:
            lock = card_locks.setdefault((hub_id.lower(), str(sha)), threading.Lock())
        try:
            with lock:
                return _with_card(
                    client, base, hub_id=hub_id, sha=sha, card_max_bytes=card_max_bytes, plan=plan
                )
        finally:
            tracker.step()

    def info_one(repo_id: str) -> tuple[ModelFetch, str, Any]:
        return fetch_info(client, repo_id)

    def list_one(author: str) -> dict[str, ListedModel]:
        try:
            return _list_author(client, raw, author, plan=plan)
        except HubError:
            return {}  # each repo then gets its own model-info check

    # Two pools, so that cards (resolvers) go on while listings and model info
    # (api) wait for their bucket's window, and the other way round.
    api_workers = max(1, concurrency // 2)
    with (
        ThreadPoolExecutor(max_workers=api_workers) as api_pool,
        ThreadPoolExecutor(max_workers=max(1, concurrency)) as card_pool,
    ):
        cards: dict[str, Future[ModelFetch]] = {}

        def from_item(repo_id: str, entry: ListedModel) -> None:
            hub_id = str(entry.item["id"])
            base = ModelFetch(
                repo_id,
                item_bytes(entry.item),
                None,
                None,
                None,
                info_object=entry.page,
                info_item=hub_id,
            )
            cards[repo_id] = card_pool.submit(
                card_one, repo_id, base, hub_id, entry.item.get("sha")
            )

        for repo_id in from_listing:
            from_item(repo_id, listed[repo_id.lower()])
        # The author as the repos spell it, not lower-cased; a repo the listing
        # misses (whatever the Hub's filter does with case) gets its model info.
        # The pool takes requests in order: the listings that name the most
        # repos first, so that cards (the other bucket) can spend their first
        # window at once; the one-repo model-info requests last.
        listings = {
            api_pool.submit(list_one, by_author[author][0].partition("/")[0]): author
            for author in sorted(authors, key=lambda a: -len(by_author[a]))
        }
        infos = {repo_id: api_pool.submit(info_one, repo_id) for repo_id in singles}
        for future in as_completed(listings):
            found = future.result()
            for repo_id in by_author[listings[future]]:
                entry = found.get(repo_id.lower())
                if entry is not None:
                    from_item(repo_id, entry)
                else:  # renamed, deleted, or the listing failed: ask the repo itself
                    infos[repo_id] = api_pool.submit(info_one, repo_id)
        plan.model_info_checks = len(infos)
        for repo_id, info_future in infos.items():
            base, hub_id, sha = info_future.result()
            if base.info_object is None:  # no info: the status says why
                results[repo_id] = base
                tracker.step()
            else:
                cards[repo_id] = card_pool.submit(card_one, repo_id, base, hub_id, sha)
        for repo_id, card_future in cards.items():
            results[repo_id] = card_future.result()
    tracker.finish()
    if plan.watermark is None and previous is not None:
        plan.watermark = previous.get("watermark")
    missing = [r for r in repo_ids if r not in results]
    if missing:  # every repo is one of the above; a gap is a bug, not a model's state
        raise RuntimeError(f"population fetch lost {len(missing)} repos, e.g. {missing[0]}")
    return [results[repo_id] for repo_id in repo_ids], plan


def _newest_modified(client: HubClient, raw: RawStore, *, plan: FetchPlan) -> str | None:
    """The newest `lastModified` on the Hub now (one small request): where the
    next incremental fetch starts reading. The Hub's own clock, not ours."""
    url = listing_url(client.endpoint, sort="lastModified", limit=1)
    try:
        data, _ = client.list_page(url, what="the newest model")
    except HubError:
        return None
    plan.count("listing_pages")
    plan.count("listing_bytes", len(data))
    items = page_items(data)
    newest = item_modified(items[0]) if items else None
    return newest.isoformat() if newest else None


def _list_recent(
    client: HubClient, raw: RawStore, *, since: dt.datetime, plan: FetchPlan
) -> dict[str, ListedModel]:
    """Every model changed since `since`, by lower-cased id, from the listing
    sorted by `lastModified` (newest first); also sets the plan's watermark."""
    found: dict[str, ListedModel] = {}
    url = listing_url(client.endpoint, sort="lastModified")
    for page, items in _walk(client, raw, url, what="recently changed models", plan=plan):
        done = False
        for item in items:
            modified = item_modified(item)
            if plan.watermark is None and modified is not None:
                plan.watermark = modified.isoformat()
            if modified is not None and modified < since:
                done = True
                break
            found.setdefault(str(item["id"]).lower(), ListedModel(item, page))
        if done:
            break
    return found


def _parse_time(value: Any) -> dt.datetime | None:
    return item_modified({"lastModified": value})  # the same ISO reading


def population_repos(scores: pa.Table, *, tracked: Sequence[str], population: str) -> list[str]:
    """The repos a sync fetches: the tracked ones (curated and `--repo`), then,
    for the `leaderboards` population, every repo the leaderboards name but
    those that are a tracked repo spelled in another case."""
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS}, not {population!r}")
    repos = list(dict.fromkeys(tracked))
    if population == "leaderboards":
        known = {repo_id.lower() for repo_id in repos}
        repos += [r for r in leaderboard_repo_ids(scores) if r.lower() not in known]
    return repos


def fetch_models_at_scale(
    config: SyncConfig,
    repo_ids: Sequence[str],
    *,
    previous_manifest: dict[str, Any] | None,
    previous_state: dict[str, Any] | None = None,
    pacer: Pacer | None = None,
    on_progress: ProgressFn | None = None,
    reread: Collection[str] = (),
) -> tuple[list[ModelFetch], FetchPlan]:
    """The `fetch models` stage of a leaderboards sync (see the module's doc).
    `previous_state`: the newest fetch state (watermark, reconciled_at), which
    a run that published nothing keeps too; else the previous manifest's."""
    client = make_client(config, pacer=pacer)
    raw = client.raw_store
    assert isinstance(raw, RawStore)
    state = previous_state
    if state is None and previous_manifest:
        state = previous_manifest.get("population")
    manifest = previous_manifest

    def earlier() -> dict[str, ModelFetch]:
        return fetches_from_manifest(raw, manifest) if manifest else {}

    return fetch_population(
        client,
        repo_ids,
        previous=state if isinstance(state, dict) else None,
        previous_fetches=earlier,
        reconcile_days=config.reconcile_days,
        margin_hours=config.since_margin_hours,
        card_max_bytes=config.card_max_bytes,
        concurrency=config.concurrency,
        on_progress=on_progress,
        reread=reread,
    )
