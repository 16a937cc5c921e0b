"""Syncing the leaderboards' whole population against the replay hub in
population mode: author listings (paginated), one card GET per new sha, the
client-side pacer under the Hub's rate limits, incremental fetches between
reconciles, renames and deletes."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx2
import pyarrow.parquet as pq
import pytest

from llmsync.hub.client import HubClient
from llmsync.hub.pacing import Pacer
from llmsync.hub.retry import RetryPolicy
from llmsync.pipeline import SyncConfig, compare_with_snapshot, rebuild_from_raw, run_sync
from llmsync.pipeline.population import fetch_population
from llmsync.replay.server import ReplayHub
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import SnapshotStore

AUTHOR = "jaspionjader"  # 196 repos on the leaderboards, the most of any author
AUTHOR_REPOS = 196
# Its listing with the replay's default sizes: its 196 and 10 other repos.
AUTHOR_LISTED = 206
SINGLE_AUTHORS = 638  # authors with exactly one repo in the population (tatsu-lab too)
# models rows: every namespaced repo of the three leaderboards (16 names that
# differ from another only in case are one repo each, as on the Hub), the
# curated ones, and the two the official benchmarks' leaderboards rank.
POPULATION_MODELS = 11_192
FAST = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=5.0, max_server_delay=5.0)


def _client(hub: ReplayHub, tmp_path: Path, *, pacer: Pacer | None) -> HubClient:
    return HubClient(
        endpoint=hub.url, token=None, raw_store=RawStore(tmp_path / "raw"), pacer=pacer
    )


def _ids(hub: ReplayHub) -> list[str]:
    assert hub.population is not None
    return sorted(entry.repo_id for entry in hub.population.wait().entries())


def test_an_author_listing_arrives_whole_over_several_pages(
    replay_hub_factory: Callable[..., ReplayHub], tmp_path: Path
) -> None:
    hub = replay_hub_factory(population=True, page_size=50)
    repos = [r for r in _ids(hub) if r.split("/")[0].lower() == AUTHOR]
    assert len(repos) == AUTHOR_REPOS
    authors = Counter(r.split("/")[0].lower() for r in _ids(hub))
    singles = [r for r in _ids(hub) if authors[r.split("/")[0].lower()] == 1][:2]
    hub.stats.reset()
    hub.clear_requests()
    fetches, plan = fetch_population(
        _client(hub, tmp_path, pacer=Pacer("none")),
        singles + repos,
        previous=None,
        card_max_bytes=1_000_000,
        concurrency=2,  # one thread for the `api` requests: they go in the plan's order
    )
    # 206 listed at 50 a page: 5 pages, plus the one-item page of the newest
    # change; a card for each of its 196 leaderboard repos, none for the others.
    assert plan.listing_pages == 5 + 1
    assert hub.stats.snapshot()["kinds"] == {"list": 6, "info": 2, "resolve": AUTHOR_REPOS + 2}
    # The listing that names the most repos goes before the one-repo authors'
    # model info, so that their cards (another bucket) can start at once.
    api = [r.path.partition("?")[0] for r in hub.requests if r.path.startswith("/api/")]
    assert api == ["/api/models"] * 6 + [f"/api/models/{r}" for r in singles]
    assert [f.repo_id for f in fetches] == singles + repos
    assert sorted(f.info_item or "" for f in fetches[2:]) == repos  # each once, from a listing
    assert all(f.status is None and f.card is not None for f in fetches[2:])


@pytest.mark.parametrize("tier", ["anonymous", "none"])
def test_the_pacer_stays_under_the_quota_with_no_429(
    replay_hub_factory: Callable[..., ReplayHub], tmp_path: Path, tier: str
) -> None:
    # Anonymous limits, a 5-minute window lasting 15 s: 637 one-repo authors cost
    # one model-info request each, more than the 500 a window allows. Tier
    # `none` guesses no limit: the quota is learned from the first answer's
    # RateLimit-Policy header, and the next window starts from it.
    hub = replay_hub_factory(population=True, rate_limits="anonymous", time_scale=20)
    authors = Counter(r.split("/")[0].lower() for r in _ids(hub))
    singles = [r for r in _ids(hub) if authors[r.split("/")[0].lower()] == 1]
    assert len(singles) == SINGLE_AUTHORS
    hub.stats.reset()
    pacer = Pacer(tier)
    fetches, plan = fetch_population(
        _client(hub, tmp_path, pacer=pacer), singles, previous=None, card_max_bytes=1_000_000
    )
    stats = hub.stats.snapshot()
    assert stats["requests"]["api"] == SINGLE_AUTHORS + 1 > 500
    assert stats["rate_limited"] == {"api": 0, "resolvers": 0, "pages": 0, "cdn": 0}
    assert pacer.throttled() == 0
    assert pacer.requests()["api"] == SINGLE_AUTHORS + 1
    assert pacer.waited() > 0
    assert plan.model_info_checks == SINGLE_AUTHORS
    # tatsu-lab/alpaca-7b-wdiff's card was never recorded: a gap, not a failure.
    assert Counter(f.status for f in fetches) == {None: SINGLE_AUTHORS - 1, "not_recorded": 1}


def test_a_429_is_still_honoured(
    replay_hub_factory: Callable[..., ReplayHub], tmp_path: Path
) -> None:
    # Another caller on the same IP spends the window's quota behind our pacer's back.
    hub = replay_hub_factory(population=True, rate_limits="anonymous", time_scale=300)
    _ids(hub)
    with httpx2.Client() as other:
        for _ in range(500):
            other.get(f"{hub.url}/api/models/01-ai/Yi-1.5-34B")
    hub.stats.reset()
    pacer = Pacer("anonymous")
    client = HubClient(
        endpoint=hub.url, token=None, raw_store=RawStore(tmp_path / "raw"), pacer=pacer
    )
    info = client.model_info("01-ai/Yi-1.5-34B")
    assert info.info.id == "01-ai/Yi-1.5-34B"
    assert pacer.throttled() == 1
    assert hub.stats.snapshot()["rate_limited"]["api"] == 1


# -- the whole population (slow: ~11,000 repos) ------------------------------------------


@pytest.fixture(scope="module")
def population_hub(replay_hub_factory: Callable[..., ReplayHub]) -> ReplayHub:
    hub = replay_hub_factory(population=True)
    _ids(hub)
    return hub


@pytest.fixture(scope="module")
def cold(population_hub: ReplayHub, tmp_path_factory: pytest.TempPathFactory) -> SyncConfig:
    config = SyncConfig(
        data_dir=tmp_path_factory.mktemp("population") / "data",
        endpoint=population_hub.url,
        population="leaderboards",
        rate_tier="none",
        retry_policy=FAST,
    )
    return config


@pytest.mark.slow
def test_population_sync_then_incremental_then_reconcile(
    population_hub: ReplayHub, cold: SyncConfig
) -> None:
    hub = population_hub
    assert hub.population is not None
    hub.stats.reset()
    report = run_sync(cold)
    stats = hub.stats.snapshot()
    assert report.status == "published"
    assert report.row_counts["models"] == POPULATION_MODELS
    assert report.fetch["kind"] == "full"
    assert report.throttled == 0 and stats["rate_limited"]["api"] == 0
    # huggingface_hub's body GET of an LFS export follows its redirect to the
    # CDN: the pacer counts the resolve it asked, the hub the CDN's answer.
    assert report.requests == {
        "api": stats["requests"]["api"],
        "resolvers": stats["requests"]["resolvers"] + stats["requests"]["cdn"],
        "pages": 0,
    }
    markdown = report.to_markdown()
    assert f"| api | {report.requests['api']:,} |" in markdown
    assert "- 429 (rate limited): 0" in markdown
    models = SnapshotStore(cold.data_dir).latest()
    assert models is not None
    ids = models.read_table("models").column("repo_id").to_pylist()
    assert len({i.lower() for i in ids}) == len(ids) == POPULATION_MODELS
    cold_state = SnapshotStore(cold.data_dir).runs()[-1]["population"]

    # A reconcile that finds nothing new publishes nothing, and still keeps its
    # fetch state: the next night reads back from it, not from the cold sync's.
    report = run_sync(dataclasses.replace(cold, reconcile_days=0))
    assert (report.status, report.fetch["kind"]) == ("unchanged", "full")
    quiet = SnapshotStore(cold.data_dir).runs()[-1]
    assert quiet["status"] == "unchanged"
    assert quiet["population"]["reconciled_at"] > cold_state["reconciled_at"]
    # Its watermark is the Hub's newest change now: the Hub-wide churn (30,000
    # a Hub day, one per 2.88 s) moved on during the cold sync.
    assert quiet["population"]["watermark"] > cold_state["watermark"]

    # Five new commits: the changed listing's first page, and a card GET per new sha.
    changed = hub.population.mutate([{"op": "new_sha", "count": 5}], seed=11)["changes"]
    hub.stats.reset()
    hub.clear_requests()
    report = run_sync(cold)
    stats = hub.stats.snapshot()
    resolved = sorted(r.path for r in hub.requests if "/resolve/" in r.path)
    assert report.fetch["kind"] == "incremental"
    # Every other repo is carried over: the watermark is Hub time now, and no
    # other repo changed in the hour's margin before it.
    assert report.fetch["reused"] == POPULATION_MODELS - 5
    # One card GET per new sha, and none for the re-listed repos (ids are
    # case-insensitive: a repo keeps one spelling and one sha on every run).
    new_cards = {f"/{c['id']}/resolve/{c['sha']}/README.md" for c in changed}
    assert set(resolved) == new_cards and len(resolved) == 5
    # Commit lists: v1's 17 commits fit one page, v2's 190 take four pages of 50.
    # The changed listing: the hour's margin of churn (1,250 changes) and the
    # minutes since, 1,000 a page: 2 pages (until the quiet night's watermark
    # is 35 Hub minutes old).
    # OpenEvals' commit list is one page; the official benchmarks' listing one more.
    assert stats["kinds"]["list"] == 2 + 1 and stats["kinds"]["commits"] == 1 + 4 + 1
    assert report.fetch["listing_pages"] == 2
    assert "info" not in stats["kinds"]
    snapshot = SnapshotStore(cold.data_dir).latest()
    assert snapshot is not None
    models = snapshot.read_table("models").to_pylist()
    by_id = {row["repo_id"]: row for row in models}
    for change in changed:
        assert by_id[change["id"]]["sha"] == change["sha"]
    # Rows built from listing items (some carried over) rebuild offline, identical.
    store = SnapshotStore(cold.data_dir)
    rebuilt = rebuild_from_raw(store, snapshot)
    assert compare_with_snapshot(snapshot, rebuilt) == dict.fromkeys(rebuilt, True)

    # A rename and a delete show at the next reconcile.
    mutation = hub.population.mutate(
        [{"op": "rename", "count": 1}, {"op": "delete", "count": 1}], seed=3
    )
    renamed, deleted = mutation["changes"]
    report = run_sync(dataclasses.replace(cold, reconcile_days=0))
    assert report.fetch["kind"] == "full"
    snapshot = SnapshotStore(cold.data_dir).latest()
    assert snapshot is not None
    rows = {r["repo_id"]: r for r in pq.read_table(snapshot.path / "models.parquet").to_pylist()}
    assert rows[renamed["old_id"]]["hub_repo_id"] == renamed["id"]
    assert rows[renamed["old_id"]]["status"] == "ok"
    assert rows[deleted["id"]]["status"] == "not_found"
