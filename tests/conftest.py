"""Shared fixtures: the replay hub over the bundled recordings, a Prefect API,
one clean sync to compare faulted runs with, and the CLI in a child process."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from xdist.scheduler import LoadScopeScheduling

# Read by huggingface_hub at import: set before any test module imports it.
os.environ["DO_NOT_TRACK"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ.pop("HF_TOKEN", None)

from llmsync.hub.retry import RetryPolicy
from llmsync.pipeline import SyncConfig, SyncReport, run_sync
from llmsync.replay.faults import FaultPlan
from llmsync.replay.recordings import default_recordings_dir
from llmsync.replay.server import ReplayHub

BUNDLED = default_recordings_dir()

V2 = "open-llm-leaderboard/contents"
V1 = "open-llm-leaderboard-old/contents"
LEADERBOARD_FILE = "data/train-00000-of-00001.parquet"


def _served_dates(repo_id: str) -> tuple[str, ...]:
    """The dates of the bundled recordings' commits of `repo_id`, oldest first
    (their number and range are checked against the real history in
    test_recordings.py)."""
    manifest = json.loads((BUNDLED / "manifest.json").read_text(encoding="utf-8"))
    repo = next(r for r in manifest["repos"] if r["repo_id"] == repo_id)
    return tuple(commit["date"][:10] for commit in repo["commits"])


# The commits of the recordings the `recordings_dir` fixture serves.
V2_DATES = _served_dates(V2)
V1_DATES = _served_dates(V1)

# The production retry logic with (almost) no waiting: end-to-end fault tests
# go through dozens of retries, and `Retry-After` is capped like the backoff.
FAST_RETRIES = RetryPolicy(
    max_attempts=6, base_delay=0.001, max_delay=0.01, jitter=0.0, max_server_delay=0.01
)


@pytest.fixture(scope="session")
def recordings_dir() -> Path:
    """The bundled recordings the replay hub serves (package data)."""
    return Path(BUNDLED)


@pytest.fixture(scope="session")
def replay_hub_factory(recordings_dir: Path) -> Iterator[Callable[..., ReplayHub]]:
    """Start a replay hub with custom `as_of`/`faults` (and any other
    `ReplayHub` option); all are stopped at the end of the session."""
    hubs: list[ReplayHub] = []

    def start(
        *,
        as_of: dt.date | None = None,
        faults: FaultPlan | None = None,
        **options: Any,
    ) -> ReplayHub:
        hub = ReplayHub(as_of=as_of, faults=faults, recordings=recordings_dir, **options)
        hubs.append(hub.start())
        return hub

    yield start
    for hub in hubs:
        hub.stop()


@pytest.fixture(scope="session")
def replay_hub(replay_hub_factory: Callable[..., ReplayHub]) -> ReplayHub:
    return replay_hub_factory()


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """One temporary Prefect API for the whole run (a server start takes 10 to
    20 s here; `pytest_collection_modifyitems` keeps its users on one worker);
    its URL, for child processes."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        url = PREFECT_API_URL.value()
        assert url
        yield str(url)


@dataclass(frozen=True)
class CleanSync:
    """One fault-free sync of today's replay hub: what every faulted or
    hostile run is compared with."""

    data_dir: Path
    report: SyncReport
    tables: dict[str, pa.Table]

    def copy_to(self, target: Path) -> Path:
        """A data directory of one's own holding exactly what this sync left
        (raw landing, snapshot, run log): what a fresh sync of today's replay
        hub writes, without running one again."""
        shutil.copytree(self.data_dir, target)
        return target


@pytest.fixture(scope="session")
def clean_sync(tmp_path_factory: pytest.TempPathFactory, replay_hub: ReplayHub) -> CleanSync:
    from tests.tables import published_tables

    data_dir = tmp_path_factory.mktemp("clean-data")
    report = run_sync(SyncConfig(data_dir=data_dir, endpoint=replay_hub.url))
    return CleanSync(data_dir, report, published_tables(data_dir))


def cli_sync(
    hub_url: str, data_dir: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`llmsync sync --no-prefect` in a child process: its exit code, stdout and
    stderr are what a user sees."""
    command = [sys.executable, "-m", "llmsync.cli", "sync", "--no-prefect"]
    command += ["--hub", hub_url, "--data-dir", str(data_dir), *extra]
    return subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120
    )


# The suite runs in worker processes (pytest-xdist, `--dist loadgroup`, as
# scripts/dev.sh runs it). A module stays on one worker, so its module-scoped
# fixtures are built once; the modules that use one of these session fixtures,
# each a full-history sync or a Prefect server, share one worker too, so the
# fixture is built once per run.
_SHARED_SESSION_FIXTURES = ("clean_sync", "prefect_api")


@functools.cache
def _group_of(module: Path) -> str:
    """The group of a test module: the first shared session fixture its source
    names, else the module itself. Read from the source because the scheduler
    runs in the controlling process, which collects no tests."""
    source = module.read_text(encoding="utf-8")
    used = (name for name in _SHARED_SESSION_FIXTURES if re.search(rf"\b{name}\b", source))
    return next(used, str(module))


class _ByGroup(LoadScopeScheduling):  # type: ignore[misc]
    """xdist's `loadgroup`, with the groups above. xdist 3.8 reads a test's
    `xdist_group` mark into its node id, which pytest 9.2 no longer lets it
    rewrite: the marks are silently ignored and every test is a group of its
    own (a module's fixtures then built on both workers). The groups go out in
    collection order, which `pytest_collection_modifyitems` sets, not by their
    number of tests."""

    def __init__(self, config: pytest.Config, log: Any) -> None:
        config.option.loadscopereorder = False
        super().__init__(config, log)
        self._root = config.rootpath

    def _split_scope(self, nodeid: str) -> str:
        return _group_of(self._root / nodeid.split("::", 1)[0])


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> _ByGroup | None:
    return _ByGroup(config, log) if config.getvalue("dist") == "loadgroup" else None


def _runs_long(items: list[pytest.Item]) -> bool:
    """A group that builds a shared session fixture or holds an end-to-end
    run (marked `slow`)."""
    return any(
        item.get_closest_marker("slow") is not None
        or not set(_SHARED_SESSION_FIXTURES).isdisjoint(getattr(item, "fixturenames", ()))
        for item in items
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A worker takes the next group when it has nearly finished its last, in
    # this order: the long groups first, so that the short ones fill in behind
    # them and both workers finish together.
    by_group: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_group.setdefault(_group_of(item.path), []).append(item)
    ordered = sorted(by_group.values(), key=lambda group: not _runs_long(group))
    items[:] = [item for group in ordered for item in group]
