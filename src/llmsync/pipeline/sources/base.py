"""What every upstream source of the sync looks like to the run.

A source (`Source`) has a name (its key in the manifest's `sources`, and so in
the sources fingerprint) and one method, `fetch(run) -> Fetched`: it lands what
it reads and says what it read (`description`), which landed objects a rebuild
reads (`raw_objects`), and what went wrong (`failures`, `partial`). The run
fetches the sources listed in `llmsync.pipeline.sources.SOURCES` with no
branch for any, all at the same time; whatever reads a source's result
(another source, the build) names it, `run.landed.data(BENCHMARKS)`, and waits
there until it has landed, so a source does what it can before (a source
names what it reads in `reads`, listed before it: no source waits on a later one).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast

from llmsync.hub.landing import StoredObject
from llmsync.hub.pacing import Pacer
from llmsync.pipeline.fetchplan import ProgressFn
from llmsync.pipeline.report import SyncReport
from llmsync.pipeline.scores import ParseAhead, ScoresBuild
from llmsync.pipeline.stages import SyncConfig
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import Snapshot, SnapshotStore
from llmsync.tables.curated import Curated

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class StageRunner(Protocol):
    """Runs one named stage. The plain runner calls it; the Prefect runner
    runs it as a task (with retries where the failure may be transient)."""

    def __call__(self, name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...


def run_plain(name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return fn(*args, **kwargs)


@dataclass(frozen=True)
class Fetched(Generic[T_co]):
    """What one source brought in this run."""

    # The source's own result, for the build (revisions, model fetches, ...).
    data: T_co
    # Its entry in the manifest's `sources`: every upstream revision it read.
    description: dict[str, Any]
    # Its landed objects, for the manifest's `raw_objects` (`verify` reads them).
    raw_objects: list[dict[str, Any]]
    failures: tuple[str, ...] = ()
    # Gaps in the replay hub's recordings: kept apart from the failures.
    recording_gaps: tuple[str, ...] = ()
    # The Hub failed us (not the data): the snapshot is published, labelled partial.
    partial: bool = False
    # What the fetch cost and brought in, for the report's `fetch`.
    counts: dict[str, Any] = field(default_factory=dict)
    # Entries the source adds to the manifest under its own keys.
    manifest: dict[str, Any] = field(default_factory=dict)
    # Where the source's fetch stands, for the next run to start from: kept in
    # the run record (also when nothing is published) and the manifest.
    state: dict[str, Any] | None = None


class Source(Protocol[T_co]):
    """One upstream source: one module, listed in `SOURCES`.

    `reads(config)` names the sources whose results its fetch reads (listed
    before it): every source starts with the run and waits for those where it
    reads them (`Landed.data`)."""

    @property
    def name(self) -> str: ...

    def reads(self, config: SyncConfig) -> tuple[str, ...]:
        """The sources whose results it reads (`run.landed.data`), listed before it."""
        ...

    def fetch(self, run: SourceRun) -> Fetched[T_co]: ...


class NotLanded(Exception):
    """A source read another that will not land this run (it failed, or the
    run was stopped)."""


class Landed:
    """What the sources fetched this run, in the registry's order (whichever
    finished first). A source reading another's result waits for it here."""

    def __init__(self) -> None:
        self._by_name: dict[str, Fetched[Any]] = {}
        self._changed = threading.Condition()
        self._abandoned = False

    def add(self, source: Source[T], fetched: Fetched[T]) -> None:
        with self._changed:
            self._by_name[source.name] = fetched
            self._changed.notify_all()

    def abandon(self) -> None:
        """No more sources will land: whoever waits for one is told so."""
        with self._changed:
            self._abandoned = True
            self._changed.notify_all()

    def data(self, source: Source[T]) -> T:
        """The result of `source` (one the caller names in its `reads`), once
        it has landed; `NotLanded` if it never will."""
        with self._changed:
            self._changed.wait_for(lambda: source.name in self._by_name or self._abandoned)
            if source.name not in self._by_name:
                raise NotLanded(source.name)
            return cast(T, self._by_name[source.name].data)

    def arrange(self, names: Sequence[str]) -> None:
        """List the results in `names`' order (the registry's)."""
        with self._changed:
            self._by_name = {name: self._by_name[name] for name in names}

    def items(self) -> list[tuple[str, Fetched[Any]]]:
        with self._changed:
            return list(self._by_name.items())


@dataclass
class SourceRun:
    """One run as its sources and stages see it: the config, the one pacer
    every request goes through, the data directory and its newest snapshot,
    and how a stage is run (a Prefect task, or a call) and timed."""

    config: SyncConfig
    pacer: Pacer
    curated: Curated
    store: SnapshotStore
    previous: Snapshot | None
    report: SyncReport
    run_stage: StageRunner
    progress: Callable[[str], None]
    on_fetch_progress: ProgressFn | None
    started_at: dt.datetime
    landed: Landed = field(default_factory=Landed)
    # The scores, once built (a leaderboards population is read off them).
    scores: ScoresBuild | None = None
    # The exports parsed while they land, until the scores are built.
    parse_ahead: ParseAhead | None = None

    def close(self) -> None:
        """Stop what the run left working (parses no build took)."""
        if self.parse_ahead is not None:
            self.parse_ahead.close()
            self.parse_ahead = None

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Time a stage into the report's `seconds`, saying that it started."""
        self.progress(f"{stage} ...")
        started = time.perf_counter()
        try:
            yield
        finally:
            self.report.seconds[stage] = round(time.perf_counter() - started, 2)

    def stage(self, name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run one stage, timed under its own name."""
        with self.timed(name):
            return self.run_stage(name, fn, *args, **kwargs)


def raw_entry(
    raw: RawStore, kind: str, repo_id: str | None, revision: str | None, stored: StoredObject
) -> dict[str, Any]:
    """One landed object in the manifest's `raw_objects`: what kind, whose, at
    which revision, its path under `data/raw/` and sha256. A rebuild reads
    exactly these, and checks each against its sha256."""
    return {
        "kind": kind,
        "repo_id": repo_id,
        "revision": revision,
        "path": raw.relative(stored.path),
        "sha256": stored.sha256,
        "bytes": stored.size,
    }


def in_raw_order(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries in the order the manifest lists them: by kind, then path."""
    return sorted(
        entries, key=lambda entry: (entry["kind"], entry["path"], entry.get("item") or "")
    )
