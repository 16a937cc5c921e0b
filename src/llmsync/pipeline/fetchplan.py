"""What a population fetch did and where it stands, counted from its threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from llmsync.hub.client import HubClient


@dataclass(frozen=True)
class FetchProgress:
    """Where a long fetch stands, for a progress line or artifact."""

    phase: str
    done: int
    total: int
    requests: int
    waited_seconds: float
    elapsed_seconds: float


ProgressFn = Callable[[FetchProgress], None]


@dataclass
class FetchPlan:
    """What the fetch did, for the report and the next run's manifest."""

    kind: str  # "full" or "incremental"
    watermark: str | None = None  # newest lastModified the Hub showed this run
    listing_pages: int = 0
    listing_bytes: int = 0  # the pages' bodies as they landed
    model_info_checks: int = 0
    card_requests: int = 0
    reused: int = 0
    # Repos read again only because the previous sync saw an open PR on them
    # (whether a PR's opening or closing moves lastModified is not known).
    open_pr_rereads: int = 0
    # The fetch's pool threads count listing pages and card requests at once.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, counter: str, n: int = 1) -> None:
        """Add `n` to `counter` (one of the int fields above), under the lock."""
        with self._lock:
            setattr(self, counter, getattr(self, counter) + n)


class Tracker:
    """Thread-safe progress counting, reporting at most a few times a second."""

    def __init__(self, client: HubClient, on_progress: ProgressFn | None) -> None:
        self._client = client
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._started = time.perf_counter()
        self._last = 0.0
        self.phase, self.done, self.total = "", 0, 0

    def start(self, phase: str, total: int) -> None:
        with self._lock:
            self.phase, self.done, self.total = phase, 0, total
        self._emit(force=True)

    def step(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
        self._emit(force=False)

    def finish(self) -> None:
        self._emit(force=True)

    def _emit(self, *, force: bool) -> None:
        if self._on_progress is None:
            return
        now = time.perf_counter()
        with self._lock:
            if not force and now - self._last < 0.5 and self.done < self.total:
                return
            self._last = now
            pacer = self._client.pacer
            report = FetchProgress(
                phase=self.phase,
                done=self.done,
                total=self.total,
                requests=sum(pacer.requests().values()) if pacer else 0,
                waited_seconds=round(pacer.waited(), 2) if pacer else 0.0,
                elapsed_seconds=round(now - self._started, 2),
            )
        self._on_progress(report)
