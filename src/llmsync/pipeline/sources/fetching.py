"""The sources fetched at once where they can: each starts once the sources
it reads (`Source.reads`) have landed, so the ones that read nothing of each
other wait on the Hub together. Every request still goes through the run's
one pacer (the rate limits are per caller).

Each source runs in a thread of its own, in a copy of the caller's context
(contextvars): a Prefect task it starts belongs to the caller's flow run, and
what it logs reaches the caller's run log, as if it ran in the caller's thread.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from llmsync.pipeline.sources.base import Fetched, Source, SourceRun


class _NotStarted(Exception):
    """A source left unfetched because another failed first."""


def fetch_sources(run: SourceRun, sources: Sequence[Source[Any]]) -> None:
    """Fetch every source into `run.landed` (listed in `sources`' order). On a
    failure the sources not started yet are not started; those under way
    finish (their requests are in flight), and the failure of the first source
    in `sources`' order that failed is raised."""
    reads = {source.name: source.reads(run.config) for source in sources}
    for position, source in enumerate(sources):
        before = {earlier.name for earlier in sources[:position]}
        if not set(reads[source.name]) <= before:
            raise ValueError(
                f"source {source.name} reads {sorted(set(reads[source.name]) - before)}, "
                "which are not listed before it"
            )
    failed = threading.Event()

    def fetch(source: Source[Any], waits: list[Future[Fetched[Any]]]) -> Fetched[Any]:
        for wait in waits:
            wait.result()  # what it reads has landed (or failed: then so does this)
        if failed.is_set():
            raise _NotStarted(source.name)
        try:
            fetched = source.fetch(run)
        except BaseException:
            failed.set()
            raise
        run.landed.add(source, fetched)
        return fetched

    # One thread a source: one waiting for another never holds a thread it needs.
    with ThreadPoolExecutor(max_workers=max(1, len(sources))) as pool:
        futures: dict[str, Future[Fetched[Any]]] = {}
        try:
            for source in sources:
                waits = [futures[name] for name in reads[source.name]]
                context = contextvars.copy_context()
                futures[source.name] = pool.submit(context.run, fetch, source, waits)
            for future in futures.values():
                future.exception()  # wait here: an interrupt reaches this thread
        except BaseException:
            failed.set()  # stopped while waiting (Ctrl-C): start nothing more
            raise
    for source in sources:
        error = futures[source.name].exception()
        if error is not None and not isinstance(error, _NotStarted):
            raise error
    run.landed.arrange([source.name for source in sources])
