"""Shared fixtures: the replay hub over the bundled recordings, a Prefect API,
one clean sync to compare faulted runs with, and the CLI in a child process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    by_module: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_module.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    for module, module_items in by_module.items():
        used = {name for item in module_items for name in getattr(item, "fixturenames", ())}
        group = next((name for name in _SHARED_SESSION_FIXTURES if name in used), module)
        for item in module_items:
            item.add_marker(pytest.mark.xdist_group(group))
