"""The Hub around the population (replay/hubwide.py): every author's other
repos in its listing, the Hub-wide churn in the `lastModified` listing, both
generated and labelled; and what they cost the llmsync client: listing pages,
never a card or model-info request."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import HfApi

from llmsync.cli import build_parser
from llmsync.hub.client import HubClient
from llmsync.hub.listing import listing_url
from llmsync.hub.pacing import Pacer
from llmsync.pipeline.population import fetch_population
from llmsync.replay.hubwide import ListingSizes
from llmsync.replay.server import ReplayHub, listing_sizes
from llmsync.store.raw import RawStore

MARKER = "llmsync_replay_generated"
BLOKE = "TheBloke"
BLOKE_LEADERBOARD = 100  # TheBloke's repos on the leaderboards
BLOKE_LISTED = 3000  # the default table's size of its listing
# Other repos with the default sizes: 10 for each of the population's authors
# outside the table, plus what fills the table's 7 authors' listings.
OTHER_REPOS = 28_378


def _client(hub: ReplayHub, tmp_path: Path) -> HubClient:
    return HubClient(
        endpoint=hub.url, token=None, raw_store=RawStore(tmp_path / "raw"), pacer=Pacer("none")
    )


def _population_ids(hub: ReplayHub) -> list[str]:
    assert hub.population is not None
    return sorted(entry.repo_id for entry in hub.population.wait().entries())


@pytest.fixture(scope="module")
def wide(replay_hub_factory: Callable[..., ReplayHub]) -> ReplayHub:
    # The default sizes, but for a churn slow enough (one change per 172.8 Hub
    # s, at scale 1) that the module sees the same Hub-wide listing throughout.
    hub = replay_hub_factory(population=True, listing_sizes=ListingSizes(daily_churn=500))
    _population_ids(hub)
    return hub


def test_an_authors_listing_holds_its_other_repos(wide: ReplayHub) -> None:
    api = HfApi(endpoint=wide.url, token=False)
    mine = [r for r in _population_ids(wide) if r.split("/")[0] == BLOKE]
    assert len(mine) == BLOKE_LEADERBOARD
    before = wide.stats.snapshot()["kinds"].get("list", 0)
    listed = list(api.list_models(author=BLOKE, expand=["sha", "lastModified"]))
    assert wide.stats.snapshot()["kinds"]["list"] - before == 3  # 1,000 a page
    assert len(listed) == len({m.id for m in listed}) == BLOKE_LISTED
    others = [m for m in listed if m.id not in set(mine)]
    assert len(others) == BLOKE_LISTED - BLOKE_LEADERBOARD
    assert {m.id for m in others} == {f"{BLOKE}/replay-other-{n:04d}" for n in range(1, 2901)}
    epoch = wide.clock.epoch
    for model in others:
        assert model.last_modified is not None and model.sha and len(model.sha) == 40
        # Between two years and one day before Hub time starts.
        assert dt.timedelta(days=1) <= epoch - model.last_modified <= dt.timedelta(days=731)
    raw = httpx2.get(f"{wide.url}/api/models", params={"author": BLOKE, "limit": 1000}).json()
    labels = Counter(MARKER in item for item in raw)
    assert labels == {True: 1000}  # TheBloke's leaderboard repos are generated too
    other = next(item for item in raw if "/replay-other-" in item["id"])
    assert other[MARKER].startswith(f"generated repo {other['id'].rsplit('-', 1)[1].lstrip('0')}")
    assert "not a Hub response" in other[MARKER]
    # An author outside the table: its leaderboard repos and 10 others.
    singles = Counter(r.split("/")[0] for r in _population_ids(wide))
    assert len(list(api.list_models(author="jaspionjader"))) == 196 + 10
    single = min(a for a, n in singles.items() if n == 1)
    assert len(list(api.list_models(author=single))) == 1 + 10
    summary = httpx2.get(f"{wide.url}/_replay/population").json()["hub_wide"]
    assert (summary["other_repos"], summary["daily_churn"]) == (OTHER_REPOS, 500)
    # Other repos are listed only: their own endpoints answer as for no repo.
    assert httpx2.get(f"{wide.url}/api/models/{BLOKE}/replay-other-0001").status_code == 401


def test_the_client_asks_nothing_of_other_repos(wide: ReplayHub, tmp_path: Path) -> None:
    mine = [r for r in _population_ids(wide) if r.split("/")[0] == BLOKE]
    wide.stats.reset()
    fetches, plan = fetch_population(
        _client(wide, tmp_path), mine, previous=None, card_max_bytes=1_000_000
    )
    # TheBloke's listing takes 3 pages where its 100 leaderboard repos fit one;
    # the cards are the leaderboard repos' only, as without the other repos.
    assert wide.stats.snapshot()["kinds"] == {"list": 3 + 1, "resolve": BLOKE_LEADERBOARD}
    assert (plan.listing_pages, plan.card_requests, plan.model_info_checks) == (4, 100, 0)
    assert all(f.status is None and f.card is not None for f in fetches)
    # Listing bytes: the pages as the hub serves them (the same bytes each time).
    url: str | None = listing_url(wide.url, author=BLOKE)
    expected = 0
    while url is not None:
        response = httpx2.get(url)
        expected += len(response.content)
        url = response.links.get("next", {}).get("url")
    expected += len(httpx2.get(listing_url(wide.url, sort="lastModified", limit=1)).content)
    assert plan.listing_bytes == expected


def test_the_incremental_listing_pages_through_a_day_of_churn(
    replay_hub_factory: Callable[..., ReplayHub], tmp_path: Path
) -> None:
    sizes = ListingSizes(other_repos_per_author=0, author_repos={}, daily_churn=500)
    hub = replay_hub_factory(population=True, page_size=200, listing_sizes=sizes)
    epoch = hub.clock.epoch
    api = HfApi(endpoint=hub.url, token=False)
    newest = list(api.list_models(sort="last_modified", limit=501, expand=["lastModified"]))
    # The last Hub day of changes (changes -499 .. 0, one per 172.8 s), newest
    # first, then the population.
    assert [m.id.startswith("replay-churn-") for m in newest] == [True] * 500 + [False]
    assert (newest[0].id, newest[0].last_modified) == ("replay-churn-0000/model-000000", epoch)
    # 499 x 172.8 s before the epoch, in the whole second it falls in.
    assert newest[499].last_modified == epoch - dt.timedelta(seconds=86_228)

    repos = [r for r in _population_ids(hub) if r.split("/")[0] == "01-ai"]
    client = _client(hub, tmp_path)
    first, plan = fetch_population(client, repos, previous=None, card_max_bytes=1_000_000)
    assert plan.watermark == epoch.isoformat()
    # One Hub day later: 500 more changes, the whole pool modified again.
    moved = httpx2.post(f"{hub.url}/_replay/clock/advance", json={"hub_seconds": 86_400})
    # (Hub time also runs at scale 1: well under the 172.8 s of another change.)
    assert 86_400 <= moved.json()["hub_seconds_since_start"] < 86_400 + 172.8
    hub.stats.reset()
    state = {"watermark": plan.watermark, "reconciled_at": dt.datetime.now(dt.UTC).isoformat()}
    again, plan = fetch_population(
        client,
        repos,
        previous=state,
        previous_fetches=lambda: {f.repo_id: f for f in first},
        card_max_bytes=1_000_000,
    )
    # 500 changes since the watermark at 200 a page: the third page reaches
    # past it. No repo of the population changed, so nothing else is asked.
    assert plan.kind == "incremental"
    assert hub.stats.snapshot()["kinds"] == {"list": 3}
    assert (plan.listing_pages, plan.reused, plan.card_requests) == (3, len(repos), 0)
    assert plan.watermark == (epoch + dt.timedelta(days=1)).isoformat()
    assert [f.info_json for f in again] == [f.info_json for f in first]


def test_the_sizes_the_options_ask_for() -> None:
    assert (
        listing_sizes(other_repos_per_author=None, author_repos=None, daily_churn=None)
        == ListingSizes()
    )
    asked = listing_sizes(other_repos_per_author=0, author_repos=["a=5", "b=0"], daily_churn=7)
    assert asked == ListingSizes(
        other_repos_per_author=0, author_repos={"a": 5, "b": 0}, daily_churn=7
    )
    with pytest.raises(ValueError, match="AUTHOR=N"):
        listing_sizes(other_repos_per_author=None, author_repos=["TheBloke"], daily_churn=None)
    with pytest.raises(ValueError, match=">= 0"):
        ListingSizes(daily_churn=-1)
    with pytest.raises(SystemExit):  # the CLI says so before the hub starts
        build_parser().parse_args(["replay-hub", "--author-repos", "TheBloke=many"])
