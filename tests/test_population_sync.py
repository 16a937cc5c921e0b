"""Syncing the leaderboards' whole population against the replay hub in
population mode: author listings (paginated), one card GET per new sha, the
client-side pacer under the Hub's rate limits, incremental fetches between
reconciles, renames and deletes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pyarrow.parquet as pq
import pytest

from llmsync.hub.client import HubClient
from llmsync.hub.pacing import Pacer
from llmsync.hub.retry import RetryPolicy
from llmsync.pipeline import SyncConfig, compare_with_snapshot, rebuild_from_raw, run_sync
from llmsync.pipeline.population import fetch_population
from llmsync.pipeline.sources.models import repos_with_open_results
from llmsync.replay.population_evalops import EVAL_OPS
from llmsync.replay.server import ReplayHub
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import Snapshot, SnapshotStore

AUTHOR = "jaspionjader"  # 196 repos on the leaderboards, the most of any author
AUTHOR_REPOS = 196
# Its listing with the replay's default sizes: its 196 and 10 other repos.
AUTHOR_LISTED = 206
SINGLE_AUTHORS = 638  # authors with exactly one repo in the population (tatsu-lab too)
# models rows: every namespaced repo of the three leaderboards (16 names that
# differ from another only in case are one repo each, as on the Hub), the
# curated ones, and the two the official benchmarks' leaderboards rank.
POPULATION_MODELS = 11_192
# Generated eval results (labelled) at the replay's default share of 3% of the
# generated repos; a night changes 1% of them, one op of each kind.
EVAL_RESULTS = 773
# The nights' observation days: an interval opened and closed on one day never
# held a night, so the night that changes results is observed the day after.
FIRST_NIGHT = dt.date(2026, 7, 20)
NEXT_NIGHT = FIRST_NIGHT + dt.timedelta(days=1)
# The `changes` kinds each eval op makes of the results it touched.
EVAL_KINDS = {
    "add_result": ["eval_result_added"],
    "open_pr": ["eval_result_added"],
    "merge_pr": ["eval_result_pr_merged"],
    "close_pr": ["eval_result_pr_closed"],
    "flip_verified": ["eval_result_verified"],
    "change_value": ["eval_result_value_changed"],
    "delete_file": ["eval_result_removed"],
    "reject_file": ["eval_result_removed"],  # and the rejected file's own row
}
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
    # Another caller on the same IP spends the window's quota behind our pacer's
    # back, until the Hub refuses it. The window (300 Hub s at time scale 60:
    # 5 s here) is long enough that it cannot roll over between that refusal
    # and our request however loaded the machine is; a fixed count of requests
    # in a 1 s window could.
    hub = replay_hub_factory(population=True, rate_limits="anonymous", time_scale=60)
    _ids(hub)
    with httpx2.Client() as other:
        answers = 0
        while other.get(f"{hub.url}/api/models/01-ai/Yi-1.5-34B").status_code != 429:
            answers += 1
            assert answers <= 500, "the anonymous api quota is 500 a window"
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
    # Opening or closing a PR leaves lastModified alone: llmsync must not rely
    # on the replay's assumption that it moves (no recording shows either).
    hub = replay_hub_factory(population=True, pr_moves_last_modified=False)
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
        observed_on=FIRST_NIGHT,
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
    cold_requests = dict(report.requests)
    assert report.status == "published"
    assert report.row_counts["models"] == POPULATION_MODELS
    assert report.fetch["kind"] == "full"
    assert report.throttled == 0 and stats["rate_limited"]["api"] == 0
    # The pacer counts what the hub counts: an LFS export's body comes from
    # the CDN (another host, no quota, not paced), after the resolver's 302.
    assert stats["requests"]["cdn"] > 200
    assert report.requests == {
        "api": stats["requests"]["api"],
        "resolvers": stats["requests"]["resolvers"],
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

    # Five new commits, and 1% of the generated eval results changed by one eval
    # op of each kind (six of them commits, the pull requests' two not): the
    # changed listing's first page, and a card GET per new sha.
    changed = hub.population.mutate([{"op": "new_sha", "count": 5}], seed=11)["changes"]
    assert hub.population.summary()["eval_results"]["results"] == EVAL_RESULTS
    ops = [{"op": name, "count": 1} for name in EVAL_OPS]
    evals = hub.population.mutate(ops, seed=14)["changes"]
    assert sum(len(c["results"]) for c in evals) == round(EVAL_RESULTS / 100) == len(EVAL_OPS)
    commits = changed + [c for c in evals if c["op"] not in ("open_pr", "close_pr")]
    # With the replay's PR assumption off, a PR opened on a repo with no open
    # PR before moves nothing a night can see: it shows at the next reconcile.
    with_prs = set(
        repos_with_open_results(SnapshotStore(cold.data_dir).latest(), pull_requests_only=True)
    )
    unseen = [c for c in evals if c["op"] == "open_pr" and c["id"] not in with_prs]
    hub.stats.reset()
    hub.clear_requests()
    report = run_sync(dataclasses.replace(cold, observed_on=NEXT_NIGHT))
    stats = hub.stats.snapshot()
    resolved = sorted(r.path for r in hub.requests if "/resolve/" in r.path)
    assert report.fetch["kind"] == "incremental"
    # The repos with an open PR at the previous sync are read again (their
    # PRs' results may move without lastModified): 82 repos, in 8 author
    # listings and 68 model-info requests, 0.56% of the cold sync's requests.
    rereads = report.fetch["open_pr_rereads"]
    extra = stats["kinds"]["info"] + stats["kinds"]["list"] - (2 + 1)
    assert (rereads, extra) == (82, 68 + 8)
    assert extra < sum(cold_requests.values()) / 100
    # Every other repo is carried over: the watermark is Hub time now, and no
    # other repo changed in the hour's margin before it (the PR ops move none).
    assert report.fetch["reused"] == POPULATION_MODELS - len(commits) - rereads
    # One card GET per new sha, and none for the re-listed repos (ids are
    # case-insensitive: a repo keeps one spelling and one sha on every run).
    new_cards = {f"/{c['id']}/resolve/{c['sha']}/README.md" for c in commits}
    # And gemma-4-12B-it's, read again for its open PRs: the recordings lack its
    # card (not_recorded), so it is asked for again (a recording gap's cost).
    (gap,) = set(resolved) - new_cards
    assert gap.startswith("/google/gemma-4-12B-it/resolve/")
    assert new_cards <= set(resolved) and len(resolved) == 5 + 6 + 1
    # Commit lists: one page each of v1, v2 and OpenEvals, which meets the
    # newest commit the cold sync read (a first sync pages through v2's 190
    # commits, four pages of 50).
    # The changed listing: the hour's margin of churn (1,250 changes) and the
    # minutes since, 1,000 a page: 2 pages (until the quiet night's watermark
    # is 35 Hub minutes old). The official benchmarks' listing is one more.
    assert stats["kinds"]["commits"] == 1 + 1 + 1
    assert report.fetch["listing_pages"] == 2 + 8
    snapshot = SnapshotStore(cold.data_dir).latest()
    assert snapshot is not None
    models = snapshot.read_table("models").to_pylist()
    by_id = {row["repo_id"]: row for row in models}
    for change in changed + evals:
        assert by_id[change["id"]]["sha"] == change["sha"]
    _eval_changes_published(snapshot, [c for c in evals if c not in unseen])
    # Rows built from listing items (some carried over) rebuild offline, identical.
    store = SnapshotStore(cold.data_dir)
    rebuilt = rebuild_from_raw(store, snapshot)
    assert compare_with_snapshot(snapshot, rebuilt) == dict.fromkeys(rebuilt, True)

    # A rename and a delete show at the next reconcile.
    mutation = hub.population.mutate(
        [{"op": "rename", "count": 1}, {"op": "delete", "count": 1}], seed=3
    )
    renamed, deleted = mutation["changes"]
    after = NEXT_NIGHT + dt.timedelta(days=1)
    report = run_sync(dataclasses.replace(cold, reconcile_days=0, observed_on=after))
    assert report.fetch["kind"] == "full"
    snapshot = SnapshotStore(cold.data_dir).latest()
    assert snapshot is not None
    rows = {r["repo_id"]: r for r in pq.read_table(snapshot.path / "models.parquet").to_pylist()}
    assert rows[renamed["old_id"]]["hub_repo_id"] == renamed["id"]
    assert rows[renamed["old_id"]]["status"] == "ok"
    assert rows[deleted["id"]]["status"] == "not_found"
    # The reconcile reads every repo: the PR opened unseen is published now.
    added = {
        (r["repo_id"], r["benchmark"], r["change_kind"])
        for r in snapshot.read_table("changes").to_pylist()
    }
    for change in unseen:
        for dataset_id, _ in change["results"]:
            assert (change["id"], dataset_id, "eval_result_added") in added


def _eval_changes_published(snapshot: Snapshot, changed: list[dict[str, Any]]) -> None:
    """The night's `changes` list exactly the eval results the ops changed, and
    `eval_results` closed and opened intervals for those repos alone."""
    on = NEXT_NIGHT
    expected = {
        (c["id"], dataset_id, task_id, kind)
        for c in changed
        for dataset_id, task_id in c["results"]
        for kind in EVAL_KINDS[c["op"]]
    }
    rejected = {c["id"] for c in changed if c["op"] == "reject_file"}
    expected |= {(repo_id, None, None, "eval_result_rejected") for repo_id in rejected}
    published = {
        (r["repo_id"], r["benchmark"], _task(r), r["change_kind"])
        for r in snapshot.read_table("changes").to_pylist()
        if r["change_kind"].startswith("eval_result")
    }
    assert published == expected
    rows = snapshot.read_table("eval_results").to_pylist()
    closed = {(r["repo_id"], r["dataset_id"], r["task_id"]) for r in rows if r["valid_to"] == on}
    opened = {(r["repo_id"], r["dataset_id"], r["task_id"]) for r in rows if r["valid_from"] == on}
    assert {r[0] for r in closed | opened} == {c["id"] for c in changed}
    gone = {
        (c["id"], *pair)
        for c in changed
        for pair in c["results"]
        if c["op"] in ("close_pr", "delete_file")
    }
    assert gone <= closed and not gone & opened


def _task(change: dict[str, object]) -> str | None:
    """The task id a changes row of an eval result names (in its old or new value)."""
    text = str(change["new_value"] or change["old_value"])
    task = text.split(";")[0].removeprefix("task_id=")
    return None if task == "None" else task
