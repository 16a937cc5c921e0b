"""The build-scores stage: parse the leaderboard revisions the previous snapshot
has not seen, and extend its intervals with them.

A sync reads every revision only once: the previous snapshot's `revisions`
table says which it has read, and its `scores` holds their intervals. When
the previous snapshot cannot be extended (there is none, it was written in an
older shape, or upstream history no longer begins with what it read), the
intervals are built anew from every listed revision in the raw landing.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa

from llmsync.pipeline.report import SyncFailed
from llmsync.pipeline.revision import LeaderboardRevision
from llmsync.store.snapshots import Snapshot, schema_versions
from llmsync.tables.intervals import Export, empty_scores, extend
from llmsync.tables.leaderboards import ParsedExport, parse_leaderboard
from llmsync.tables.revisions import (
    RevisionRecord,
    classify_in_history,
    revision_records,
    revisions_table,
)
from llmsync.tables.schemas import REVISIONS, SCORES

# Threads that parse exports at once, and how many parsed exports may wait.
# Two: more buy little on a small machine and cost memory (each thread keeps
# its own allocator arenas).
_PARSE_WORKERS = min(2, os.cpu_count() or 1)
_AHEAD = 2 * _PARSE_WORKERS


class ParseAhead:
    """Exports parsed as they land, while the fetch still waits on the Hub.

    A parse is a function of the landed bytes alone, so the build takes a
    parse made ahead of it (by leaderboard and the file's sha256) exactly as
    it would have made it; what it finds none for, it parses itself. In the
    history bench at 50 ms a request, most of a cold backfill's parse is done
    while its fetch waits (its build after the fetch fell from 1.38 to 0.42 s).
    Parses wait here until the build takes them: that backfill's peak memory
    rose from about 350 to 400 MiB.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=_PARSE_WORKERS)
        self._parses: dict[tuple[str, str], Future[ParsedExport | ValueError]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def landed(self, item: LeaderboardRevision) -> None:
        """Start parsing `item`, just landed (a fetch thread calls it)."""
        with self._lock:
            if self._closed or item.stored is None:
                return
            key = (item.leaderboard, item.stored.sha256)
            if key not in self._parses:
                self._parses[key] = self._pool.submit(_parse, item)

    def take(self, item: LeaderboardRevision) -> Future[ParsedExport | ValueError] | None:
        """The parse made ahead for `item`, if any (each is taken once)."""
        with self._lock:
            if item.stored is None:
                return None
            return self._parses.pop((item.leaderboard, item.stored.sha256), None)

    def close(self) -> None:
        """Drop what is not taken; parses not started are not started."""
        with self._lock:
            self._closed = True
            parses, self._parses = self._parses, {}
        for future in parses.values():
            future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class PriorScores:
    """What the previous snapshot read, in today's shape."""

    scores: pa.Table
    revisions: pa.Table


@dataclass(frozen=True)
class ScoresBuild:
    scores: pa.Table
    revisions: pa.Table
    # How many leaderboard revisions this build parsed.
    parsed: int
    # Whether it extended the previous snapshot's intervals (else it rebuilt them).
    incremental: bool
    # The revisions first seen by this build that were not applied, and why.
    not_applied: tuple[str, ...] = field(default_factory=tuple)


def read_prior(previous: Snapshot | None) -> PriorScores | None:
    """The previous snapshot's intervals and revisions; None when there is no
    previous snapshot or it holds them in another shape (an older llmsync's)."""
    if previous is None:
        return None
    versions = schema_versions(previous.manifest)
    if versions.get("scores") != SCORES.version or versions.get("revisions") != REVISIONS.version:
        return None
    return PriorScores(previous.read_table("scores"), previous.read_table("revisions"))


def build_scores(
    revisions: Sequence[LeaderboardRevision],
    *,
    prior: PriorScores | None,
    suspect_row_loss: float,
    ahead: ParseAhead | None = None,
) -> ScoresBuild:
    """Intervals and revisions table for the listed `revisions` (newest first per
    leaderboard, as listed upstream), parsing only what `prior` lacks (taking
    the parses `ahead` made while they landed)."""
    listed: dict[str, list[LeaderboardRevision]] = {}
    for item in revisions:
        listed.setdefault(item.leaderboard, []).append(item)
    for items in listed.values():
        items.reverse()  # oldest first: the order they are applied in

    records: list[RevisionRecord] = []
    start = empty_scores()
    incremental = prior is not None and _extends(revision_records(prior.revisions), listed)
    if prior is not None and incremental:
        records = revision_records(prior.revisions)
        start = prior.scores
    known = {record.revision for record in records}
    to_parse = [item for items in listed.values() for item in items if item.revision not in known]
    newest = {items[-1].revision for items in listed.values()}

    first_seen: list[RevisionRecord] = []
    exports = _exports(
        _parsed(to_parse, ahead), records, first_seen, newest=newest, max_loss=suspect_row_loss
    )
    with _memory_returned():
        scores = extend(start, exports)
    position = {item.revision: i for items in listed.values() for i, item in enumerate(items)}
    ordered = sorted(records, key=lambda r: (r.leaderboard, position[r.revision]))
    return ScoresBuild(
        scores=scores,
        revisions=revisions_table(ordered),
        parsed=len(to_parse),
        incremental=incremental,
        not_applied=tuple(r.describe() for r in first_seen if r.status != "ok"),
    )


def _extends(
    previous: Sequence[RevisionRecord], listed: dict[str, list[LeaderboardRevision]]
) -> bool:
    """Whether each leaderboard's listed history begins with what was read before."""
    before: dict[str, list[str]] = {}
    for record in previous:
        before.setdefault(record.leaderboard, []).append(record.revision)
    # A leaderboard new to the listing (one that began later) starts from its
    # first revision; one that is no longer listed needs a rebuild.
    if not set(before) <= set(listed):
        return False
    return all(
        [item.revision for item in listed[name][: len(seen)]] == seen
        for name, seen in before.items()
    )


def _exports(
    parses: Iterator[tuple[LeaderboardRevision, ParsedExport | ValueError]],
    records: list[RevisionRecord],
    first_seen: list[RevisionRecord],
    *,
    newest: set[str],
    max_loss: float,
) -> Iterator[Export]:
    """Record each parsed revision in turn, and yield the ones to apply."""
    for item, parsed in parses:
        rows = None
        if isinstance(parsed, ValueError):
            exc = parsed
            reason = f"leaderboard {item.leaderboard} at {item.revision[:10]} is malformed: {exc}"
            # The newest table is what the snapshot presents as current: no
            # stand-in for it is acceptable. An older one is history, kept aside.
            if item.revision in newest:
                raise SyncFailed(reason) from exc
            record = RevisionRecord(
                item.leaderboard, item.revision, item.date, None, "malformed", str(exc)
            )
        else:
            status, why = classify_in_history(
                parsed.upstream_rows,
                date=item.date,
                records=records,
                leaderboard=item.leaderboard,
                max_loss=max_loss,
            )
            record = RevisionRecord(
                item.leaderboard, item.revision, item.date, parsed.upstream_rows, status, why
            )
            rows = parsed.values
        records.append(record)
        first_seen.append(record)
        if record.status == "ok" and rows is not None:
            yield Export(item.leaderboard, item.revision, item.date, rows)


@contextlib.contextmanager
def _memory_returned() -> Iterator[None]:
    """Arrow allocates from the C library's allocator meanwhile. Its default
    (mimalloc) keeps what each parse thread and batch freed for reuse, so a
    cold backfill's resident memory grew to about 470 MB, where the system
    allocator hands it back (about 360 MB); a buffer is always freed by the
    pool it came from, so switching back after is safe."""
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _parsed(
    to_parse: Sequence[LeaderboardRevision], ahead: ParseAhead | None
) -> Iterator[tuple[LeaderboardRevision, ParsedExport | ValueError]]:
    """Each revision with its parse (or why it cannot be parsed), in order.

    Parsing is mostly Arrow's work, which runs outside the GIL, so a few
    threads parse at once; only `_AHEAD` parses wait at a time (memory)."""
    with ThreadPoolExecutor(max_workers=_PARSE_WORKERS) as pool:
        pending: deque[tuple[LeaderboardRevision, Future[ParsedExport | ValueError]]] = deque()
        for item in to_parse:
            made = ahead.take(item) if ahead is not None else None
            pending.append((item, made if made is not None else pool.submit(_parse, item)))
            if len(pending) > _AHEAD:
                first, future = pending.popleft()
                yield first, future.result()
        while pending:
            first, future = pending.popleft()
            yield first, future.result()


def _parse(item: LeaderboardRevision) -> ParsedExport | ValueError:
    try:
        return parse_leaderboard(item.path.read_bytes(), leaderboard=item.leaderboard)
    except ValueError as exc:
        return exc
