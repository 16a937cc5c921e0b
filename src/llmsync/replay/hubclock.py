"""The replay hub's own clock: Hub time, which may run faster than the wall clock.

Rate-limit windows and the `lastModified` of population mutations are in Hub
time. With `time_scale` N, one wall second is N Hub seconds, so the Hub's
5-minute window passes in 300/N wall seconds and a benchmark sees a night's
worth of windows in minutes.

Hub time starts at `epoch` when the hub starts. By default that is midnight
after the newest leaderboard export the hub serves (or after `--as-of`), so
that a mutation made at start sorts after every recorded date, and two runs
start from the same Hub instant.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time


class HubClock:
    """Hub time = epoch + (wall seconds since start) x scale."""

    def __init__(self, *, epoch: dt.datetime, scale: float = 1.0) -> None:
        if not scale > 0 or math.isinf(scale):
            raise ValueError(f"time scale must be a positive number, got {scale!r}")
        if epoch.tzinfo is None:
            raise ValueError("the Hub clock's epoch must be timezone-aware")
        self.scale = float(scale)
        self.epoch = epoch.astimezone(dt.UTC)
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._last = 0.0
        self._skipped = 0.0  # Hub seconds jumped over by `advance`

    def elapsed(self) -> float:
        """Hub seconds since start; never goes backwards."""
        with self._lock:
            now = (time.monotonic() - self._start) * self.scale + self._skipped
            self._last = max(self._last, now)
            return self._last

    def advance(self, hub_seconds: float) -> None:
        """Jump Hub time forward (a night between two syncs, in a benchmark):
        windows, mutation dates and the Hub-wide churn all move with it."""
        if not hub_seconds >= 0 or math.isinf(hub_seconds):
            raise ValueError(f"Hub time only moves forward, got {hub_seconds!r}")
        with self._lock:
            self._skipped += hub_seconds

    def now(self) -> dt.datetime:
        return self.epoch + dt.timedelta(seconds=self.elapsed())

    def wall_seconds(self, hub_seconds: float) -> float:
        """How long `hub_seconds` of Hub time take on the wall clock."""
        return hub_seconds / self.scale

    def announce(self, hub_seconds: float) -> int:
        """A duration as a header announces it: whole wall seconds, rounded up,
        so that a client that waits that long has waited long enough."""
        return max(0, math.ceil(self.wall_seconds(hub_seconds) - 1e-9))
