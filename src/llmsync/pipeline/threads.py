"""Work spread over a few threads, each item run in a copy of the caller's context.

A thread pool's workers start with an empty `contextvars` context, so whatever the
caller's context carries (an orchestrator's run id, which routes log lines to the
run's logs) would be lost for the work done in them: each item runs in a copy.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_threads(work: Callable[[T], R], items: Iterable[T], *, workers: int) -> list[R]:
    """`[work(item) for item in items]`, `workers` at once, results in order."""
    items = list(items)
    # One copy per item, taken here in the caller's thread: a context can be
    # entered by one thread at a time.
    contexts = [contextvars.copy_context() for _ in items]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda ctx, item: ctx.run(work, item), contexts, items))
