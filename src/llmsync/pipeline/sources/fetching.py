"""The sources fetched at once: every source starts with the run, and one
that reads another's result (`Source.reads`) waits for it where it reads it
(`Landed.data`), after doing what it can without it. Every request still goes
through the run's one pacer (the rate limits are per caller).

Each source runs in a thread of its own, in a copy of the caller's context
(contextvars): a Prefect task it starts belongs to the caller's flow run, and
what it logs reaches the caller's run log, as if it ran in the caller's thread.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from llmsync.pipeline.sources.base import Fetched, NotLanded, Source, SourceRun


def fetch_sources(run: SourceRun, sources: Sequence[Source[Any]]) -> None:
    """Fetch every source into `run.landed` (listed in `sources`' order). On a
    failure, a source waiting for one that will not land stops there; those
    under way finish (their requests are in flight), and the failure of the
    first source in `sources`' order that failed is raised."""
    for position, source in enumerate(sources):
        before = {earlier.name for earlier in sources[:position]}
        unlisted = set(source.reads(run.config)) - before
        if unlisted:
            raise ValueError(
                f"source {source.name} reads {sorted(unlisted)}, which are not listed before it"
            )

    def fetch(source: Source[Any]) -> Fetched[Any]:
        try:
            fetched = source.fetch(run)
        except BaseException:
            run.landed.abandon()
            raise
        run.landed.add(source, fetched)
        return fetched

    # One thread a source: one waiting for another never holds a thread it needs.
    with ThreadPoolExecutor(max_workers=max(1, len(sources))) as pool:
        futures: dict[str, Future[Fetched[Any]]] = {}
        try:
            for source in sources:
                context = contextvars.copy_context()
                futures[source.name] = pool.submit(context.run, fetch, source)
            for future in futures.values():
                future.exception()  # wait here: an interrupt reaches this thread
        except BaseException:
            run.landed.abandon()  # stopped while waiting (Ctrl-C): no source waits on
            raise
    for source in sources:
        error = futures[source.name].exception()
        if error is not None and not isinstance(error, NotLanded):
            raise error
    run.landed.arrange([source.name for source in sources])
