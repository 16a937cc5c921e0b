"""Request counters for `GET /_replay/stats`: what a benchmark or a test asks
of the replay hub after a sync (how many calls of each kind, how many 429s)."""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

from llmsync.replay.routes import Route

# The Hub's rate-limit buckets, plus the CDN (another host, never limited).
STAT_BUCKETS = ("api", "resolvers", "pages", "cdn")


def kind_of(route: Route, *, method: str) -> str:
    """A short name for what a request asked: `list`, `info`, `tree`,
    `commits`, `paths-info`, `resolve`, `cdn` or `other`."""
    if route.kind in ("list", "resolve", "cdn"):
        return route.kind
    if route.kind == "api":
        action = route.tail[0] if route.tail else "info"
        if action in ("info", "revision"):
            return "info"
        if action in ("tree", "commits", "paths-info"):
            return action
    return "other"


class Stats:
    """Thread-safe counters; `snapshot()` is the JSON the admin endpoint sends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset_locked()

    def _reset_locked(self) -> None:
        self._since = time.monotonic()
        self._requests: collections.Counter[str] = collections.Counter()
        self._limited: collections.Counter[str] = collections.Counter()
        self._kinds: collections.Counter[str] = collections.Counter()
        self._statuses: collections.Counter[str] = collections.Counter()
        self._admin = 0

    def count(self, *, bucket: str, kind: str, status: int) -> None:
        with self._lock:
            self._requests[bucket] += 1
            self._kinds[kind] += 1
            self._statuses[str(status)] += 1
            if status == 429:
                self._limited[bucket] += 1

    def count_admin(self) -> None:
        with self._lock:
            self._admin += 1

    def reset(self) -> None:
        with self._lock:
            self._reset_locked()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "wall_seconds": round(time.monotonic() - self._since, 3),
                "requests": {bucket: self._requests[bucket] for bucket in STAT_BUCKETS},
                "requests_total": sum(self._requests.values()),
                "rate_limited": {bucket: self._limited[bucket] for bucket in STAT_BUCKETS},
                "kinds": dict(sorted(self._kinds.items())),
                "statuses": dict(sorted(self._statuses.items())),
                "admin_requests": self._admin,
            }
