"""Which Hub a sync talks to: a URL, the environment's, or the bundled replay hub."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

REPLAY = "replay"


@contextmanager
def hub_endpoint(hub: str | None, *, as_of: dt.date | None = None) -> Iterator[str | None]:
    """Yield the endpoint for a run; `None` leaves the choice to the client
    (`HF_ENDPOINT`, else huggingface.co).

    `replay` starts the bundled replay hub on a free port for the run's
    duration, serving the recordings as they stood on `as_of`.
    """
    if hub == REPLAY:
        from llmsync.replay_hub import ReplayHub

        with ReplayHub(as_of=as_of) as server:
            yield server.url
        return
    if as_of is not None:
        raise ValueError("--as-of needs --hub replay: the live Hub only serves its present state")
    yield hub.rstrip("/") if hub else None
