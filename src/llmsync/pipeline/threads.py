"""Requests that wait on the Hub alone, made a few at a time."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_threads(fn: Callable[[T], R], items: Sequence[T], *, workers: int) -> list[R]:
    """`fn` of each item, `workers` at a time, the results in the items' order.

    Each call runs in a copy of the caller's context (contextvars): what it
    logs (a retry, say) reaches the caller's run log, which Prefect finds
    through the context, as it would had the call run in the caller's thread.
    """
    contexts = [contextvars.copy_context() for _ in items]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda context, item: context.run(fn, item), contexts, items))
