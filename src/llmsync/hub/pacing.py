"""Staying under the Hub's rate limits, client side.

The Hub counts requests per caller in fixed 5-minute windows, per bucket
(`hub.quotas`). Every answer says where the caller stands::

    RateLimit: "api";r=<remaining>;t=<seconds until the window resets>
    RateLimit-Policy: "fixed window";"api";q=<quota>;w=<window seconds>

A `Pacer` is shared by every thread of a fetch. Before a request it takes a
slot in the request's bucket; when the window's slots are spent it waits for
the reset (as the headers last said, else one whole window) instead of
provoking a 429. Both headers are read (`hub.ratelimit_headers`): the policy's
`q` and `w` become the bucket's quota and window from the first answer on, so
a new window starts with the quota the server announced. The configured tier
(`hub.quotas.TIERS`) is only the guess before the first answer; tier `none`
guesses no limit at all. A 429 that happens anyway is still retried by
`retry.call_with_retry`.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from llmsync.hub.endpoint import DEFAULT_ENDPOINT
from llmsync.hub.quotas import BUCKETS, TIERS, WINDOW_SECONDS
from llmsync.hub.quotas import bucket_of as _bucket_of_path
from llmsync.hub.ratelimit_headers import RateLimitNews, read_ratelimit

# Tier `none`: no quota until the server's headers announce one (a mirror or a
# local replay hub without limits).
_UNLIMITED = 10**9
RATE_TIERS = ("none", *TIERS)
# The host whose documented tiers apply when nobody says otherwise.
HUB_HOST = urlsplit(DEFAULT_ENDPOINT).hostname

# The tallies of `Pacer.counting` open in this context (a source's thread).
_TALLIES: contextvars.ContextVar[tuple[list[int], ...]] = contextvars.ContextVar(
    "llmsync_pacer_tallies", default=()
)


def default_tier(*, token: bool, endpoint: str) -> str:
    """The tier assumed before the server speaks: on huggingface.co a token
    holder is at least a free user and without one anonymous; any other
    endpoint (a mirror, a local replay hub) is not paced until its headers
    announce a quota."""
    host = (urlsplit(endpoint).hostname or "").lower()
    if host != HUB_HOST:
        return "none"
    return "free" if token else "anonymous"


def tier_quota(tier: str, bucket: str) -> int:
    return _UNLIMITED if tier == "none" else TIERS[tier].of(bucket)


def bucket_of(url: str) -> str:
    """Which rate-limit bucket the Hub counts a request to `url` in."""
    return _bucket_of_path(urlsplit(url).path)


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


@dataclass(frozen=True)
class Timeline:
    """What a pacer saw, per bucket: send times and waits for a window."""

    sent: dict[str, list[float]]
    waits: dict[str, list[tuple[float, float]]]
    last_answer: float | None  # when the newest answer came in


class Pacer:
    """Per-bucket slots under the headers' quotas (the tier's before the first answer).

    `margin` slots of each window are left unused, for requests made outside
    the pacer (another process on the same token, huggingface_hub's own calls).
    """

    def __init__(
        self,
        tier: str = "none",
        *,
        margin: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if tier not in RATE_TIERS:
            raise ValueError(f"unknown rate tier {tier!r}; expected one of {RATE_TIERS}")
        self.tier = tier
        self.margin = margin
        self._clock = clock
        self._cond = threading.Condition()
        self._buckets = {
            name: _Bucket(
                quota=tier_quota(tier, name),
                window=float(WINDOW_SECONDS),
                remaining=tier_quota(tier, name),
            )
            for name in BUCKETS
        }
        # Time during which at least one request waited for the rate limit
        # (threads waiting together count once).
        self.waited_seconds = 0.0
        self._waiting = 0
        self._waiting_since = 0.0
        # When each request took its slot, and each thread's waits (start, end)
        # for a window, per bucket (monotonic seconds): where a fetch's time went.
        self._sent: dict[str, list[float]] = {name: [] for name in BUCKETS}
        self._waits: dict[str, list[tuple[float, float]]] = {name: [] for name in BUCKETS}
        self._last_answer: float | None = None

    def acquire(self, url: str) -> str:
        """Wait for a slot in `url`'s bucket and take it; returns the bucket."""
        name = bucket_of(url)
        with self._cond:
            bucket = self._buckets[name]
            wait_started: float | None = None
            while True:
                now = self._clock()
                if bucket.reset_at is not None and now >= bucket.reset_at:
                    # A new window: the whole quota again, as the server last
                    # announced it (the tier's guess if it never did).
                    bucket.remaining, bucket.reset_at, bucket.opened = bucket.quota, None, now
                if bucket.remaining - bucket.in_flight > self._margin(bucket):
                    break
                if bucket.reset_at is None:
                    if bucket.in_flight:
                        # Answers in flight will say when the window resets.
                        self._cond.wait(timeout=0.05)
                        continue
                    bucket.reset_at = now + bucket.window
                delay = max(0.0, bucket.reset_at - now)
                wait_started = now if wait_started is None else wait_started
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
            for tally in _TALLIES.get():
                tally[0] += 1
            sent = self._clock()
            self._sent[name].append(sent)
            if wait_started is not None:
                self._waits[name].append((wait_started, sent))
        return name

    def _margin(self, bucket: _Bucket) -> int:
        """The slots left unused, clamped below the quota: with an announced
        quota of 2 or less a margin of 2 would leave none to take, ever."""
        return max(0, min(self.margin, bucket.quota - 1))

    def release(self, name: str, headers: Mapping[str, str] | None, *, status: int | None) -> None:
        """Account for the answer to a request made with `acquire`'s slot."""
        with self._cond:
            bucket = self._buckets[name]
            bucket.in_flight = max(0, bucket.in_flight - 1)
            bucket.remaining -= 1
            self._last_answer = self._clock()
            if status == 429:
                # Counted; the wait is the retry policy's (Retry-After), and the
                # headers, when sent, say where the window stands.
                bucket.throttled += 1
            self._observe(name, headers)
            self._cond.notify_all()

    def _observe(self, name: str, headers: Mapping[str, str] | None) -> None:
        news = read_ratelimit(headers, bucket=name) if headers is not None else None
        if news is None or news.bucket not in self._buckets:
            return
        bucket = self._buckets[news.bucket]
        if news.quota is not None:
            bucket.quota = news.quota
        if news.window_seconds is not None:
            bucket.window = float(news.window_seconds)
        _update_window(bucket, news, now=self._clock())

    def waited(self) -> float:
        """Seconds spent waiting for the rate limit so far."""
        with self._cond:
            ongoing = self._clock() - self._waiting_since if self._waiting else 0.0
            return self.waited_seconds + ongoing

    @contextmanager
    def counting(self) -> Iterator[Callable[[], int]]:
        """Count the requests paced from this context (and from threads run in
        a copy of it): what one source cost while others fetch at the same time."""
        tally = [0]
        token = _TALLIES.set((*_TALLIES.get(), tally))
        try:
            yield lambda: tally[0]
        finally:
            _TALLIES.reset(token)

    def requests(self) -> dict[str, int]:
        with self._cond:
            return {name: bucket.requests for name, bucket in self._buckets.items()}

    def timeline(self) -> Timeline:
        """Per bucket, when each request took its slot and when threads waited
        for a window (monotonic seconds of this pacer's clock)."""
        with self._cond:
            return Timeline(
                sent={name: list(times) for name, times in self._sent.items()},
                waits={name: list(spans) for name, spans in self._waits.items()},
                last_answer=self._last_answer,
            )

    def throttled(self) -> int:
        with self._cond:
            return sum(bucket.throttled for bucket in self._buckets.values())


# `t` is whole seconds, and no document says how the server rounds it (up,
# down or to the nearest): the true reset is within a second either side of
# `now + t`. A window is taken to reset a second after that, and news within a
# second of a window we opened is the previous window's.
SAFETY_SECONDS = 1.0


def _update_window(bucket: _Bucket, news: RateLimitNews, *, now: float) -> None:
    """Where the current window stands, from one answer's `r` and `t`."""
    if news.reset_seconds is not None:
        said = now + news.reset_seconds
        if bucket.opened is not None and said <= bucket.opened + SAFETY_SECONDS:
            return  # an answer from the window before the one we opened: stale news
        reset_at = said + SAFETY_SECONDS
        if bucket.reset_at is None or said > bucket.reset_at:
            # First news of this window, or the server opened a new one.
            bucket.reset_at = reset_at
            if news.remaining is not None:
                bucket.remaining = news.remaining
            return
        bucket.reset_at = min(bucket.reset_at, reset_at)
    if news.remaining is not None:
        # Answers arrive out of order: the lowest count in a window is the truth.
        bucket.remaining = min(bucket.remaining, news.remaining)
