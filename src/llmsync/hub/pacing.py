"""Staying under the Hub's rate limits, client side.

The Hub counts requests per caller in fixed 5-minute windows, per bucket:
`api` (every `/api/...`), `resolvers` (every `/resolve/`), `pages` (the rest).
Every answer says where the caller stands::

    RateLimit: "api";r=<remaining>;t=<seconds until the window resets>
    RateLimit-Policy: "fixed window";"api";q=<quota>;w=<window seconds>

A `Pacer` is shared by every thread of a fetch. Before a request it takes a
slot in the request's bucket; when the window's slots are spent it waits for
the reset (as the headers last said, else one whole window) instead of
provoking a 429. Where the Hub sends no headers, the configured tier's quotas
apply. A 429 that happens anyway is still retried by `retry.call_with_retry`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

BUCKETS = ("api", "resolvers", "pages")
WINDOW_SECONDS = 300.0


@dataclass(frozen=True)
class Tier:
    api: int
    resolvers: int
    pages: int

    def quota(self, bucket: str) -> int:
        value: int = getattr(self, bucket)
        return value


# The Hub's documented quotas per 5-minute window. `none`: no quota until the
# server's headers announce one (a mirror or a local replay hub without limits).
_UNLIMITED = 10**9
TIERS: dict[str, Tier] = {
    "none": Tier(api=_UNLIMITED, resolvers=_UNLIMITED, pages=_UNLIMITED),
    "anonymous": Tier(api=500, resolvers=3_000, pages=100),
    "free": Tier(api=1_000, resolvers=5_000, pages=200),
    "pro": Tier(api=2_500, resolvers=12_000, pages=400),
}
RATE_TIERS = tuple(TIERS)

_LIMIT = re.compile(r'^\s*"?([A-Za-z_-]+)"?\s*;(.*)$')
_PARAM = re.compile(r"([a-z])\s*=\s*(\d+)")


def default_tier(*, token: bool) -> str:
    """A token holder is at least a free user; without one, anonymous."""
    return "free" if token else "anonymous"


def bucket_of(url: str) -> str:
    """Which rate-limit bucket the Hub counts a request to `url` in."""
    path = urlsplit(url).path
    if "/resolve/" in path:
        return "resolvers"
    if path.startswith("/api/"):
        return "api"
    return "pages"


def _parse(header: str | None) -> tuple[str, dict[str, int]] | None:
    if not header:
        return None
    match = _LIMIT.match(header)
    if match is None:
        return None
    return match.group(1), {k: int(v) for k, v in _PARAM.findall(match.group(2))}


@dataclass
class _Bucket:
    quota: int
    window: float
    remaining: int
    # When the current window resets (monotonic seconds); None: not yet known.
    reset_at: float | None = None
    # When we rolled into the current window ourselves (monotonic seconds).
    opened: float | None = None
    in_flight: int = 0
    requests: int = 0
    throttled: int = 0


class Pacer:
    """Per-bucket slots under the tier's (or the headers') quotas.

    `margin` slots of each window are left unused, for requests made outside
    the pacer (another process on the same token, huggingface_hub's own calls).
    """

    def __init__(
        self,
        tier: str = "anonymous",
        *,
        margin: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if tier not in TIERS:
            raise ValueError(f"unknown rate tier {tier!r}; expected one of {RATE_TIERS}")
        self.tier = tier
        self.margin = margin
        self._clock = clock
        self._cond = threading.Condition()
        self._buckets = {
            name: _Bucket(
                quota=TIERS[tier].quota(name),
                window=WINDOW_SECONDS,
                remaining=TIERS[tier].quota(name),
            )
            for name in BUCKETS
        }
        # Time during which at least one request waited for the rate limit
        # (threads waiting together count once).
        self.waited_seconds = 0.0
        self._waiting = 0
        self._waiting_since = 0.0

    def acquire(self, url: str) -> str:
        """Wait for a slot in `url`'s bucket and take it; returns the bucket."""
        name = bucket_of(url)
        with self._cond:
            bucket = self._buckets[name]
            while True:
                now = self._clock()
                if bucket.reset_at is not None and now >= bucket.reset_at:
                    # A new window: the whole quota again (the headers correct it).
                    bucket.remaining, bucket.reset_at, bucket.opened = bucket.quota, None, now
                if bucket.remaining - bucket.in_flight > self.margin:
                    break
                if bucket.reset_at is None:
                    if bucket.in_flight:
                        # Answers in flight will say when the window resets.
                        self._cond.wait(timeout=0.05)
                        continue
                    bucket.reset_at = now + bucket.window
                delay = max(0.0, bucket.reset_at - now)
                if self._waiting == 0:
                    self._waiting_since = now
                self._waiting += 1
                # Waiting on the condition lets other threads' answers in (a
                # header can move the reset); the lock is released meanwhile.
                self._cond.wait(timeout=min(delay, 1.0))
                self._waiting -= 1
                if self._waiting == 0:
                    self.waited_seconds += self._clock() - self._waiting_since
            bucket.in_flight += 1
            bucket.requests += 1
        return name

    def release(self, name: str, headers: Mapping[str, str] | None, *, status: int | None) -> None:
        """Account for the answer to a request made with `acquire`'s slot."""
        with self._cond:
            bucket = self._buckets[name]
            bucket.in_flight = max(0, bucket.in_flight - 1)
            bucket.remaining -= 1
            if status == 429:
                # Counted; the wait is the retry policy's (Retry-After), and the
                # headers, when sent, say where the window stands.
                bucket.throttled += 1
            self._observe(bucket, headers)
            self._cond.notify_all()

    def _observe(self, bucket: _Bucket, headers: Mapping[str, str] | None) -> None:
        if headers is None:
            return
        now = self._clock()
        policy = _parse(headers.get("RateLimit-Policy"))
        if policy is not None and "q" in policy[1]:
            bucket.quota = policy[1]["q"]
            if "w" in policy[1]:
                bucket.window = float(policy[1]["w"])
        limit = _parse(headers.get("RateLimit"))
        if limit is None:
            return
        params = limit[1]
        if "t" in params:
            reset_at = now + params["t"]
            if bucket.opened is not None and reset_at <= bucket.opened + 1.0:
                # An answer from the window before the one we opened (`t` is
                # rounded up to whole seconds): stale news.
                return
            if bucket.reset_at is None or reset_at > bucket.reset_at + 1.0:
                # First news of this window, or the server opened a new one.
                bucket.reset_at = reset_at
                if "r" in params:
                    bucket.remaining = params["r"]
                return
            bucket.reset_at = min(bucket.reset_at, reset_at)
        if "r" in params:
            # Answers arrive out of order: the lowest count in a window is the truth.
            bucket.remaining = min(bucket.remaining, params["r"])

    def waited(self) -> float:
        """Seconds spent waiting for the rate limit so far."""
        with self._cond:
            ongoing = self._clock() - self._waiting_since if self._waiting else 0.0
            return self.waited_seconds + ongoing

    def requests(self) -> dict[str, int]:
        with self._cond:
            return {name: bucket.requests for name, bucket in self._buckets.items()}

    def throttled(self) -> int:
        with self._cond:
            return sum(bucket.throttled for bucket in self._buckets.values())
