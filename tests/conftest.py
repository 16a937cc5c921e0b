"""Shared fixtures: the replay hub (bundled recordings, or a small synthetic
recording of the same shape while the bundled one is not there yet)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
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
HAVE_BUNDLED = (BUNDLED / "manifest.json").is_file()

V2 = "open-llm-leaderboard/contents"
V1 = "open-llm-leaderboard-old/contents"
LEADERBOARD_FILE = "data/train-00000-of-00001.parquet"
# The synthetic stand-in's commits.
SYNTHETIC_V2_DATES = ("2024-10-09", "2024-11-10", "2025-03-21")
SYNTHETIC_V1_DATES = ("2023-06-10", "2023-09-04", "2024-06-19")


def _served_dates(repo_id: str) -> tuple[str, ...]:
    """The dates of the bundled recordings' commits of `repo_id`, oldest first
    (their number and range are checked against the real history in
    test_recordings.py)."""
    manifest = json.loads((BUNDLED / "manifest.json").read_text(encoding="utf-8"))
    repo = next(r for r in manifest["repos"] if r["repo_id"] == repo_id)
    return tuple(commit["date"][:10] for commit in repo["commits"])


# The commits of the recordings the `recordings_dir` fixture serves.
V2_DATES = _served_dates(V2) if HAVE_BUNDLED else SYNTHETIC_V2_DATES
V1_DATES = _served_dates(V1) if HAVE_BUNDLED else SYNTHETIC_V1_DATES

# The production retry logic with (almost) no waiting: end-to-end fault tests
# go through dozens of retries, and `Retry-After` is capped to this max_delay.
FAST_RETRIES = RetryPolicy(max_attempts=6, base_delay=0.001, max_delay=0.01, jitter=0.0)

DOLLY_CARD = b"""---
license: mit
language:
- en
library_name: transformers
---
# dolly-v2-12b

An instruction-following model.
"""


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


class _Builder:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs").mkdir(parents=True)
        self.repos: list[dict[str, Any]] = []

    def blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / sha).write_bytes(data)
        return sha

    def repo(self, repo_type: str, repo_id: str, commits: list[dict[str, Any]]) -> None:
        built = []
        for item in commits:
            files = {path: self.blob(data) for path, data in item["files"].items()}
            api_info = self.blob(item["api_info"]) if item.get("api_info") else None
            content = json.dumps([repo_id, item["date"], files, api_info], sort_keys=True)
            built.append(
                {
                    "sha": hashlib.sha1(content.encode()).hexdigest(),
                    "date": f"{item['date']}T00:00:00Z",
                    "title": item.get("title", f"Export of {item['date']}"),
                    "files": files,
                    "api_info": api_info,
                    "source": "synthetic test recording",
                }
            )
        self.repos.append({"repo_type": repo_type, "repo_id": repo_id, "commits": built})

    def write(self, redirects: dict[str, str]) -> None:
        manifest = {"format": 1, "repos": self.repos, "redirects": redirects}
        (self.root / "manifest.json").write_text(json.dumps(manifest, indent=1))


def _model_info(repo_id: str, sha: str, *, license_: str | None) -> bytes:
    body = {
        "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
        "id": repo_id,
        "modelId": repo_id,
        "author": repo_id.split("/")[0],
        "sha": sha,
        "lastModified": "2023-06-30T17:24:07.000Z",
        "private": False,
        "disabled": False,
        "gated": False,
        "tags": ["transformers", *([f"license:{license_}"] if license_ else [])],
        "downloads": 1234,
        "likes": 56,
        "siblings": [{"rfilename": "README.md"}, {"rfilename": "config.json"}],
        "createdAt": "2023-04-11T00:00:00.000Z",
    }
    return json.dumps(body).encode()


def build_synthetic_recordings(root: Path) -> Path:
    """A recording of the bundled one's shape and facts, small enough to build
    in a test: the leaderboard commits, Dolly's card, a repo with no card and
    the bert-base-uncased rename."""
    builder = _Builder(root)
    for repo_id, dates, column in (
        (V2, SYNTHETIC_V2_DATES, "IFEval"),
        (V1, SYNTHETIC_V1_DATES, "ARC"),
    ):
        commits = []
        for index, date in enumerate(dates):
            rows = [
                {"fullname": f"org/model-{n}", "Average ⬆️": 50.0 + n + index, column: 40.0 + n}
                for n in range(3 + index)
            ]
            commits.append(
                {
                    "date": date,
                    "files": {LEADERBOARD_FILE: _parquet(rows), "README.md": b"# contents\n"},
                }
            )
        builder.repo("dataset", repo_id, commits)
    builder.repo(
        "model",
        "databricks/dolly-v2-12b",
        [
            {
                "date": "2024-04-09",
                "files": {"README.md": DOLLY_CARD, "config.json": b"{}\n"},
                "api_info": _model_info(
                    "databricks/dolly-v2-12b",
                    "19308160448536e378e3db21a73a751579ee7fdd",
                    license_="mit",
                ),
            }
        ],
    )
    builder.repo(
        "model",
        "chavinlo/alpaca-native",
        [{"date": "2024-04-09", "files": {"config.json": b"{}\n"}, "api_info": None}],
    )
    builder.repo(
        "model",
        "google-bert/bert-base-uncased",
        [
            {
                "date": "2024-04-09",
                "files": {"README.md": b"---\nlicense: apache-2.0\n---\n# BERT\n"},
                "api_info": _model_info(
                    "google-bert/bert-base-uncased",
                    "86b5e0934494bd15c9632b12f734a8a67f723594",
                    license_="apache-2.0",
                ),
            }
        ],
    )
    builder.write({"model/bert-base-uncased": "google-bert/bert-base-uncased"})
    return root


@pytest.fixture(scope="session")
def recordings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled recordings, or the synthetic stand-in while they are missing."""
    if HAVE_BUNDLED:
        return Path(BUNDLED)
    return build_synthetic_recordings(tmp_path_factory.mktemp("recordings"))


@pytest.fixture(scope="session")
def synthetic_recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_recordings(tmp_path_factory.mktemp("synthetic-recordings"))


@pytest.fixture(scope="session")
def replay_hub_factory(recordings_dir: Path) -> Iterator[Callable[..., ReplayHub]]:
    """Start a replay hub with custom `as_of`/`faults`/`recordings`/
    `serve_partial_captures`; all are stopped at the end of the session."""
    hubs: list[ReplayHub] = []

    def start(
        *,
        as_of: dt.date | None = None,
        faults: FaultPlan | None = None,
        recordings: Path | None = None,
        serve_partial_captures: bool = False,
    ) -> ReplayHub:
        hub = ReplayHub(
            as_of=as_of,
            faults=faults,
            recordings=recordings or recordings_dir,
            serve_partial_captures=serve_partial_captures,
        )
        hubs.append(hub.start())
        return hub

    yield start
    for hub in hubs:
        hub.stop()


@pytest.fixture(scope="session")
def replay_hub(replay_hub_factory: Callable[..., ReplayHub]) -> ReplayHub:
    return replay_hub_factory()


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[str]:
    """One temporary Prefect API per module that asks for it (module scope: a
    server start takes seconds); its URL, for child processes."""
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
