"""The sources fetched at once: a source reading another's result waits for it
where it reads it, and a failure wakes whoever waits (no Hub needed here)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from llmsync.pipeline.sources.base import Fetched, Landed, NotLanded, SourceRun
from llmsync.pipeline.sources.fetching import fetch_sources
from llmsync.pipeline.stages import SyncConfig


@dataclass
class _Source:
    name: str
    read: tuple[str, ...] = ()
    fail: bool = False
    # What it did, in order, as the other sources see it.
    log: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def reads(self, config: SyncConfig) -> tuple[str, ...]:
        return self.read

    def fetch(self, run: SourceRun) -> Fetched[str]:
        self.log.append(f"{self.name} started")
        for name in self.read:
            other = next(s for s in _SOURCES if s.name == name)
            self.log.append(f"{self.name} read {run.landed.data(other)}")
        assert self.release.wait(timeout=10)
        if self.fail:
            raise RuntimeError(f"{self.name} failed")
        self.log.append(f"{self.name} landed")
        return Fetched(f"{self.name}'s data", description={}, raw_objects=[])


_SOURCES: list[_Source] = []


def _run(sources: list[_Source]) -> SourceRun:
    _SOURCES[:] = sources
    config = SyncConfig(data_dir=Path("unused"))
    return cast(SourceRun, SimpleNamespace(config=config, landed=Landed()))


def test_a_source_starts_at_once_and_waits_where_it_reads() -> None:
    log: list[str] = []
    first, second = _Source("first", log=log), _Source("second", read=("first",), log=log)
    second.release.set()
    run = _run([first, second])
    done = threading.Thread(target=fetch_sources, args=(run, [first, second]))
    done.start()
    # The reader started before what it reads landed, and waits for it.
    for _ in range(500):
        if len(log) == 2:
            break
        threading.Event().wait(0.01)
    assert sorted(log) == ["first started", "second started"]
    first.release.set()
    done.join(timeout=10)
    assert log[-2:] == ["second read first's data", "second landed"]
    assert [name for name, _ in run.landed.items()] == ["first", "second"]


def test_a_failure_wakes_the_sources_waiting_for_it() -> None:
    first = _Source("first", fail=True)
    second = _Source("second", read=("first",))
    second.release.set()
    run = _run([first, second])
    first.release.set()
    with pytest.raises(RuntimeError, match="first failed"):
        fetch_sources(run, [first, second])
    with pytest.raises(NotLanded):
        run.landed.data(cast(Any, first))


def test_a_source_reads_only_sources_listed_before_it() -> None:
    first, second = _Source("first", read=("second",)), _Source("second")
    with pytest.raises(ValueError, match="first reads \\['second'\\]"):
        fetch_sources(_run([first, second]), [first, second])
