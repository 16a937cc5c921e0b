"""The rest of the Hub, as far as the population's listings see it.

On the Hub an author's listing names every repo the author has, not only the
ones on a leaderboard, and the listing sorted by `lastModified` covers the
whole Hub, where tens of thousands of repos change every day. So that the
replay's listings cost what the Hub's cost, population mode adds two kinds of
generated repos, seen in listings only (their own endpoints answer as for an
unknown repo):

- **other repos** of each author: `<author>/replay-other-<n>`, `n` from 1;
  `ListingSizes.other_repos_per_author` for every author of the population,
  and, for the authors of `author_repos`, as many as make the author's listing
  that size. Their `lastModified` lies between two years and one day before
  Hub time starts, so no incremental listing counts them as changed.
- **churn**: `daily_churn` repos modified per Hub day, evenly spaced in Hub
  time. Change `k` (k = 0 at Hub start; before it, the day before) modifies
  repo `k mod daily_churn` of a pool of `daily_churn` repos
  (`replay-churn-<k mod daily_churn // 100>/model-<k mod daily_churn>`) with a
  new sha: at any instant the pool is the last Hub day of changes, newest first.

Every item is a function of its name and of the change number (seeded by them,
never by the wall clock), and carries `llmsync_replay_generated`, as a
generated population repo's does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from llmsync.replay.generated import MARKER_KEY, generated_sha, object_id
from llmsync.replay.hubclock import HubClock
from llmsync.replay.population import Entry, Population
from llmsync.replay.replies import iso

# Round sizes of the order the Hub shows for the big authors ("hundreds to
# thousands" each): chosen for the replay, not counted on the Hub.
BIG_AUTHORS: Mapping[str, int] = MappingProxyType(
    {
        "TheBloke": 3000,
        "bartowski": 2000,
        "mlx-community": 2000,
        "unsloth": 1000,
        "google": 1000,
        "facebook": 1000,
        "microsoft": 500,
    }
)
CHURN_NAMESPACE = "replay-churn-"
OTHER_PREFIX = "replay-other-"
DAY_SECONDS = 86_400.0
_OTHER_SPAN_SECONDS = 730 * DAY_SECONDS  # other repos: modified in the 2 years before start

Sorted = list[tuple[Any, str, Entry]]
SortKey = Callable[[Entry], Any]


@dataclass(frozen=True)
class ListingSizes:
    """How big the Hub around the population is (`--other-repos-per-author`,
    `--author-repos`, `--daily-churn`)."""

    other_repos_per_author: int = 10
    # Author -> the size of its whole listing (population repos included).
    author_repos: Mapping[str, int] = field(default_factory=lambda: dict(BIG_AUTHORS))
    daily_churn: int = 30_000

    def __post_init__(self) -> None:
        sizes = [self.other_repos_per_author, self.daily_churn, *self.author_repos.values()]
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in sizes):
            raise ValueError("listing sizes are integers >= 0")


NO_EXTRAS = ListingSizes(other_repos_per_author=0, author_repos={}, daily_churn=0)


def _fraction(text: str) -> float:
    """A number in [0, 1) drawn from `text` (the same on every run)."""
    digest = hashlib.sha256(f"llmsync replay hub-wide\n{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _item(repo_id: str, *, sha: str, modified: dt.datetime, note: str) -> dict[str, Any]:
    return {
        "_id": object_id(repo_id),
        "id": repo_id,
        "modelId": repo_id,
        "author": repo_id.partition("/")[0],
        "sha": sha,
        "lastModified": iso(modified),
        "private": False,
        "disabled": False,
        "gated": False,
        "tags": [],
        MARKER_KEY: f"{note}; listed by the replay hub, not a Hub response: only this "
        "listing item exists",
    }


def other_entry(author: str, n: int, *, epoch: dt.datetime) -> Entry:
    repo_id = f"{author}/{OTHER_PREFIX}{n:04d}"
    # At least a day before start: outside any incremental listing's margin.
    back = DAY_SECONDS + _fraction(repo_id) * _OTHER_SPAN_SECONDS
    item = _item(
        repo_id,
        sha=generated_sha(repo_id, "other repo"),
        modified=(epoch - dt.timedelta(seconds=back)).replace(microsecond=0),
        note=f"generated repo {n} of {author} besides its leaderboard repos",
    )
    return Entry(repo_id, item["_id"], item, generated=True)


def churn_entry(k: int, *, pool: int, epoch: dt.datetime, interval: float) -> Entry:
    slot = k % pool
    repo_id = f"{CHURN_NAMESPACE}{slot // 100:04d}/model-{slot:06d}"
    item = _item(
        repo_id,
        sha=generated_sha(repo_id, f"churn change {k}"),
        modified=epoch + dt.timedelta(seconds=k * interval),
        note=f"generated Hub-wide change {k} ({pool} a Hub day)",
    )
    return Entry(repo_id, item["_id"], item, generated=True)


class HubWide:
    """The other repos and the churn, built on first use from the population."""

    def __init__(self, population: Population, sizes: ListingSizes, *, clock: HubClock) -> None:
        self.population = population
        self.sizes = sizes
        self.clock = clock
        self._lock = threading.Lock()
        self._others: dict[str, list[Entry]] | None = None  # lower-cased author -> repos
        self._sorted: dict[tuple[str, str], Sorted] = {}  # (sort, author or "") -> entries
        self._window: tuple[int, list[Entry]] = (0, [])  # newest change k, its pool
        self._churn_sorted: dict[str, tuple[int, Sorted]] = {}

    @property
    def interval(self) -> float:
        """Hub seconds between two changes."""
        return DAY_SECONDS / self.sizes.daily_churn

    def others(self) -> dict[str, list[Entry]]:
        """Every author's other repos, by lower-cased author."""
        with self._lock:
            if self._others is None:
                self._others = self._build_others()
            return self._others

    def _build_others(self) -> dict[str, list[Entry]]:
        spelled: dict[str, str] = {}
        counts: dict[str, int] = {}
        for entry in self.population.entries():
            author = entry.repo_id.partition("/")[0]
            spelled.setdefault(author.lower(), author)
            counts[author.lower()] = counts.get(author.lower(), 0) + 1
        sizes = {a.lower(): (a, n) for a, n in self.sizes.author_repos.items()}
        others: dict[str, list[Entry]] = {}
        epoch = self.clock.epoch
        for key in sorted(spelled.keys() | sizes.keys()):
            table_spelling, total = sizes.get(key, (key, None))
            author = spelled.get(key, table_spelling)  # as the population spells it
            extra = self.sizes.other_repos_per_author
            if total is not None:
                extra = max(0, total - counts.get(key, 0))
            others[key] = [other_entry(author, n, epoch=epoch) for n in range(1, extra + 1)]
        return others

    def other_count(self, author: str) -> int:
        return len(self.others().get(author.lower(), ()))

    def sorted_others(self, sort: str, key: SortKey, *, author: str) -> Sorted:
        """One author's other repos ("" for all), ascending by (sort value, `_id`)."""
        others = self.others()
        with self._lock:
            cached = self._sorted.get((sort, author))
            if cached is None:
                pool: Iterable[Entry] = (
                    others.get(author, ())
                    if author
                    else (e for entries in others.values() for e in entries)
                )
                cached = sorted(((key(e), e.object_id, e) for e in pool), key=lambda t: t[:2])
                self._sorted[(sort, author)] = cached
            return cached

    def churn(self, sort: str, key: SortKey) -> Sorted:
        """The last Hub day of changes as of now, ascending by (sort value, `_id`)."""
        pool = self.sizes.daily_churn
        if pool == 0:
            return []
        newest = math.floor(self.clock.elapsed() / self.interval)
        with self._lock:
            cached = self._churn_sorted.get(sort)
            if cached is not None and cached[0] == newest:
                return cached[1]
            entries = self._advance(newest)
            if sort == "lastModified" and self.interval >= 1:
                # One change a second at most: the changes' own order is the dates'.
                ordered = [(key(e), e.object_id, e) for e in entries]
            else:
                ordered = sorted(((key(e), e.object_id, e) for e in entries), key=lambda t: t[:2])
            self._churn_sorted[sort] = (newest, ordered)
            return ordered

    def _advance(self, newest: int) -> list[Entry]:
        """The pool's entries for changes newest - pool + 1 .. newest, oldest
        first, reusing the entries of the previous window."""
        pool = self.sizes.daily_churn
        last, entries = self._window
        first = newest - pool + 1
        if entries and newest - last < pool:
            kept = entries[newest - last :]
            start = last + 1
        else:
            kept, start = [], first
        epoch, interval = self.clock.epoch, self.interval
        fresh = [
            churn_entry(k, pool=pool, epoch=epoch, interval=interval)
            for k in range(start, newest + 1)
        ]
        self._window = (newest, kept + fresh)
        return self._window[1]

    def summary(self) -> dict[str, Any]:
        others = self.others()
        return {
            "other_repos_per_author": self.sizes.other_repos_per_author,
            "author_repos": dict(self.sizes.author_repos),
            "other_repos": sum(len(v) for v in others.values()),
            "daily_churn": self.sizes.daily_churn,
        }
