"""Which Hub a run talks to: a URL, the environment's, or the bundled replay hub.

This is the one production module that imports `llmsync.replay` (the replay
hub is a development tool): `--hub replay` and `llmsync replay-hub` both come
through here, lazily, so a sync against the real Hub never loads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPLAY = "replay"


@contextmanager
def hub_endpoint(hub: str | None, *, as_of: dt.date | None = None) -> Iterator[str | None]:
    """Yield the endpoint for a run; `None` leaves the choice to the client
    (`HF_ENDPOINT`, else huggingface.co).

    `replay` starts the bundled replay hub on a free port for the run's
    duration, serving the recordings as they stood on `as_of`.
    """
    if hub == REPLAY:
        from llmsync.replay.server import ReplayHub

        with ReplayHub(as_of=as_of) as server:
            yield server.url
        return
    if as_of is not None:
        raise ValueError("--as-of needs --hub replay: the live Hub only serves its present state")
    yield hub.rstrip("/") if hub else None


def serve_replay_hub(
    *,
    host: str,
    port: int,
    as_of: dt.date | None,
    faults_path: Path | None,
    population: bool = False,
    rate_limits: str = "none",
    time_scale: float = 1.0,
    latency_ms: float = 0.0,
    page_size: int = 1000,
    serve_partial_captures: bool = False,
    other_repos_per_author: int | None = None,
    author_repos: list[str] | None = None,
    daily_churn: int | None = None,
) -> None:
    """Serve the replay hub until SIGTERM or SIGINT (`llmsync replay-hub`); the
    options are `ReplayHub`'s, the listing sizes its `listing_sizes` (None:
    the replay's default)."""
    from llmsync.replay.faults import FaultPlan
    from llmsync.replay.server import listing_sizes, run_forever

    faults = FaultPlan.load(faults_path) if faults_path else None
    run_forever(
        host=host,
        port=port,
        as_of=as_of,
        faults=faults,
        population=population,
        rate_limits=rate_limits,
        time_scale=time_scale,
        latency_ms=latency_ms,
        page_size=page_size,
        serve_partial_captures=serve_partial_captures,
        listing_sizes=listing_sizes(
            other_repos_per_author=other_repos_per_author,
            author_repos=author_repos,
            daily_churn=daily_churn,
        ),
    )
