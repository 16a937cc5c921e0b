"""A night's requests cut: a leaderboard's commits listed until what the
previous snapshot read (the client stops paging there, the sync splices the
older history it read before, and a rewritten history, the replay's
`rewritten_history` fault, is rebuilt); no card asked of a commit the Hub
said has none."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest
import yaml

from llmsync.hub.client import HubClient
from llmsync.pipeline import SyncConfig, run_sync
from llmsync.pipeline.sources.leaderboards import known_histories
from llmsync.pipeline.sources.models import cardless_commits
from llmsync.replay.faults import FaultPlan
from llmsync.replay.server import ReplayHub
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import SnapshotStore
from tests.conftest import V2, V2_DATES

# A short history: v1's 17 exports and v2's first 5 (its commit list, one page).
DAY = dt.date.fromisoformat(V2_DATES[4])


@pytest.fixture(scope="module")
def hub(replay_hub_factory: Callable[..., ReplayHub]) -> ReplayHub:
    return replay_hub_factory()


def _pages(hub: ReplayHub) -> list[str]:
    return [r.path for r in hub.requests if "/commits/" in r.path]


def test_the_listing_stops_at_a_known_commit_or_a_limit(hub: ReplayHub, tmp_path: Path) -> None:
    client = HubClient(endpoint=hub.url, raw_store=RawStore(tmp_path))
    every = client.list_commits(V2, repo_type="dataset")
    assert len(every) == len(V2_DATES) == 190  # four pages of 50
    hub.clear_requests()
    # A commit on the second page: the listing ends with it, after two pages.
    until = client.list_commits(V2, repo_type="dataset", until={every[60].sha})
    assert until == every[:61] and len(_pages(hub)) == 2
    hub.clear_requests()
    # One never met (a rewritten history): every page, as without one.
    assert client.list_commits(V2, repo_type="dataset", until={"0" * 40}) == every
    assert len(_pages(hub)) == 4
    hub.clear_requests()
    assert client.list_commits(V2, repo_type="dataset", limit=3) == every[:3]
    assert len(_pages(hub)) == 1


def test_known_histories_only_from_a_complete_listing() -> None:
    revision = {"revision": "a" * 40, "date": "2024-07-13"}
    sources = {"leaderboards": {"v2": {"repo_id": V2, "revisions": [revision]}}}
    (known,) = known_histories({"sources": sources, "complete_histories": ["v2"]})["v2"]
    assert (known.sha, known.date) == ("a" * 40, dt.datetime(2024, 7, 13, tzinfo=dt.UTC))
    # An older manifest (no word on completeness), a history cut by
    # `max_revisions`, or an unreadable entry: listed to the end.
    assert known_histories({"sources": sources}) == {}
    assert known_histories({"sources": sources, "complete_histories": []}) == {}
    assert known_histories({"sources": sources, "complete_histories": "open_llm_v2x"}) == {}
    assert known_histories({"sources": {"leaderboards": None}, "complete_histories": []}) == {}
    assert known_histories(None) == {}
    for bad in ({"revision": "main", "date": "2024-07-13"}, {"revision": "a" * 40}, None):
        odd = {"leaderboards": {"v2": {"repo_id": V2, "revisions": [bad]}}}
        assert known_histories({"sources": odd, "complete_histories": ["v2"]}) == {}


def test_a_rewritten_history_is_rebuilt(
    replay_hub_factory: Callable[..., ReplayHub], tmp_path: Path
) -> None:
    plain = replay_hub_factory(as_of=DAY)
    data_dir = tmp_path / "data"
    first = run_sync(SyncConfig(data_dir=data_dir, endpoint=plain.url))
    # Upstream force-pushed v2: its third commit dropped, the two after it
    # under new (generated) ids; the first two kept.
    plan = FaultPlan(rewritten_history={V2: dt.date.fromisoformat(V2_DATES[2])})
    pushed = replay_hub_factory(as_of=DAY, faults=plan)
    served = [c.sha for c in pushed.view.repos[f"dataset/{V2}"].commits]
    before = SnapshotStore(data_dir).latest()
    assert before is not None
    read = [
        r["revision"]
        for r in before.manifest["sources"]["leaderboards"]["open_llm_v2"]["revisions"]
    ]
    assert served[:2] == read[::-1][:2] and set(served[2:]).isdisjoint(read)
    second = run_sync(SyncConfig(data_dir=data_dir, endpoint=pushed.url))
    # The listing met the second commit it had read (one page); the build saw
    # that the history no longer begins with what it read, and rebuilt.
    pages = collections.Counter(path.split("/commits/")[0] for path in _pages(pushed))
    assert pages[f"/api/datasets/{V2}"] == 1
    assert (first.status, second.status) == ("published", "published")
    assert (first.incremental, second.incremental) == (False, False)
    assert second.parsed_revisions == 17 + 4
    after = SnapshotStore(data_dir).latest()
    assert after is not None
    v2 = [
        r["revision"] for r in after.manifest["sources"]["leaderboards"]["open_llm_v2"]["revisions"]
    ]
    assert v2 == served[::-1]
    # The same tables as a first sync of the rewritten Hub.
    fresh_dir = tmp_path / "fresh"
    run_sync(SyncConfig(data_dir=fresh_dir, endpoint=pushed.url))
    fresh = SnapshotStore(fresh_dir).latest()
    assert fresh is not None
    for name in ("scores", "revisions"):
        assert pq.read_table(after.table_path(name)).equals(
            pq.read_table(fresh.table_path(name))
        ), name


def test_cardless_commits_only_from_an_ok_read_at_a_commit_sha() -> None:
    sha = "b" * 40
    models = {
        "a/no-card": {"status": "ok", "sha": sha, "card_sha256": None},
        "a/card": {"status": "ok", "sha": sha, "card_sha256": "c" * 64},
        "a/gap": {"status": "not_recorded", "sha": sha, "card_sha256": None},
        "a/failed": {"status": "card_unavailable", "sha": sha, "card_sha256": None},
        "a/branch": {"status": "ok", "sha": "main", "card_sha256": None},
        "a/odd-sha": {"status": "ok", "sha": 12345, "card_sha256": None},
        "a/huge-sha": {"status": "ok", "sha": "f" * 10_000, "card_sha256": None},
        "a/null": None,
    }
    manifest = {"sources": {"models": models}}
    previous = SimpleNamespace(manifest=manifest)
    assert cardless_commits(previous) == {"a/no-card": sha}  # type: ignore[arg-type]
    assert cardless_commits(None) == {}
    assert cardless_commits(SimpleNamespace(manifest={})) == {}  # type: ignore[arg-type]
    odd = SimpleNamespace(manifest={"sources": {"models": None}})
    assert cardless_commits(odd) == {}  # type: ignore[arg-type]


def test_a_fault_plan_reads_rewritten_history() -> None:
    plan = FaultPlan.from_data(yaml.safe_load(f"rewritten_history: {{{V2}: 2024-07-16}}"))
    assert plan.rewritten_history == {V2: dt.date(2024, 7, 16)}
    plan = FaultPlan.from_data({"rewritten_history": {V2: "2024-07-16"}})
    assert plan.rewritten_history == {V2: dt.date(2024, 7, 16)}
    for bad in ([V2], {V2: None}, {V2: 20240716}, {V2: "July"}, {1: "2024-07-16"}):
        with pytest.raises(ValueError):
            FaultPlan.from_data({"rewritten_history": bad})
