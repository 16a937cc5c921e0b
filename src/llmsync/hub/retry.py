"""The one retry policy for talking to the Hub.

Which failures are worth another try is decided in one place, `is_retryable`;
how long to wait in another, `retry_delay`: the server's own word first
(`Retry-After`, or the reset `t` of the `RateLimit` header the Hub sends on a
429), honoured as given up to `RetryPolicy.max_server_delay` (10 minutes by
default: two of the Hub's 5-minute windows); else exponential backoff with
jitter, capped at `RetryPolicy.max_delay` (30 s by default). A server that asks
for longer than the ceiling is retried after the ceiling, and answers 429 again
if its window has not reset; after `max_attempts` the error propagates.
"""

from __future__ import annotations

import email.utils
import http.client
import random
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2

from llmsync.hub.quotas import bucket_of
from llmsync.hub.ratelimit_headers import read_ratelimit

T = TypeVar("T")

# 408 and 425 are the server asking to be asked again; 429 is the rate limiter;
# 5xx gateway/availability errors pass. 501 (not implemented) and 505 never will.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class TransientError(Exception):
    """A failure of our own detection that another attempt may cure."""


class IncompleteBody(TransientError):
    """The body received does not match the size or hash the server announced
    (a truncated or corrupted transfer): never landed, always retried."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    `jitter` is the fraction by which a computed backoff is randomly spread
    (0.25: anywhere from 75% to 125%), so parallel clients do not retry in step.
    `max_delay` caps our own backoff. Delays the server asks for are honoured
    as given, never shortened, up to `max_server_delay`.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.25
    max_server_delay: float = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        delays = (self.base_delay, self.max_delay, self.max_server_delay)
        if min(delays) < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("delays must be >= 0 and jitter within [0, 1]")


DEFAULT_POLICY = RetryPolicy()
_random = random.Random()


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and its causes: huggingface_hub wraps a failed HEAD call in a
    LocalEntryNotFoundError raised `from` the real HTTP or network error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _headers(exc: BaseException) -> Mapping[str, str] | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return headers if isinstance(headers, Mapping) else None  # httpx2.Headers is a Mapping


def _is_transport_failure(exc: BaseException) -> bool:
    # Timeouts, refused/reset connections (httpx2.ReadError wraps ECONNRESET) and
    # a peer that closed before the announced Content-Length (RemoteProtocolError).
    # Not ProxyError, UnsupportedProtocol or LocalProtocolError: our own setup.
    return isinstance(
        exc,
        httpx2.TimeoutException
        | httpx2.NetworkError
        | httpx2.RemoteProtocolError
        | ConnectionError
        | TimeoutError
        | http.client.IncompleteRead
        | TransientError,
    )


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt may succeed where this one failed.

    An HTTP status decides when there is one (so 401/403/404 never retry, even
    when wrapped); otherwise transport failures and incomplete bodies retry,
    except a host name that does not resolve: with no network, or a mistyped
    endpoint, the next attempts fail the same way, so the run fails at once
    and says so instead of waiting through the backoff.
    """
    if any(isinstance(item, socket.gaierror) for item in exception_chain(exc)):
        return False
    for item in exception_chain(exc):
        status = _status(item)
        if status is not None:
            return status in RETRYABLE_STATUSES
        if _is_transport_failure(item):
            return True
    return False


def _parse_retry_after(value: str, *, now: float) -> float | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def server_delay(exc: BaseException, *, now: float | None = None) -> float | None:
    """The wait the server asked for, in seconds, if it asked."""
    now = time.time() if now is None else now
    for item in exception_chain(exc):
        headers = _headers(item)
        if headers is None:
            continue
        retry_after = headers.get("Retry-After")
        if retry_after is not None:
            parsed = _parse_retry_after(retry_after, now=now)
            if parsed is not None:
                return parsed
        news = read_ratelimit(headers, bucket=_bucket(item))
        if news is not None and news.reset_seconds is not None:
            return float(news.reset_seconds)
    return None


def _bucket(exc: BaseException) -> str:
    """The bucket of the request that failed (which `RateLimit` member to read)."""
    try:
        url = exc.response.url  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # no response, or one without its request
        return "api"
    return bucket_of(urlsplit(str(url)).path)


def retry_delay(exc: BaseException, attempt: int, *, policy: RetryPolicy = DEFAULT_POLICY) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    asked = server_delay(exc)
    if asked is not None:
        return min(asked, policy.max_server_delay)
    backoff = min(policy.base_delay * 2.0 ** (attempt - 1), policy.max_delay)
    spread = 1.0 + _random.uniform(-policy.jitter, policy.jitter)
    return min(backoff * spread, policy.max_delay)


OnRetry = Callable[[BaseException, int, float], Any]


def call_with_retry(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], Any] = time.sleep,
    on_retry: OnRetry | None = None,
) -> T:
    """Call `fn` until it succeeds, fails with a non-retryable error, or the
    policy's attempts are spent; then the last exception propagates as is.

    `on_retry(exc, attempt, delay)` is told of each retry before the wait.
    """
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            if attempt >= policy.max_attempts or not is_retryable(exc):
                raise
            delay = retry_delay(exc, attempt, policy=policy)
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            sleep(delay)
            attempt += 1
