"""The Hub token never leaves the `Authorization` header to the Hub's own origin:
not into the data directory, the CLI's output, Prefect's logs or artifacts,
nor to the CDN, even on a run whose requests fail in several ways."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmsync.hub.client import HubClient
from llmsync.pipeline import SyncConfig, stages
from llmsync.replay.faults import FaultPlan, FaultRule
from llmsync.replay.server import ReplayHub, RequestRecord
from tests.conftest import FAST_RETRIES, cli_sync

pytestmark = pytest.mark.slow

CANARY = "hf_CanaryCanaryCanary0123456789abcdef"
GATED = "lmsys/vicuna-13b-v1.3"
FAILING = "EleutherAI/gpt-j-6b"
RATE_LIMITED = "tiiuae/falcon-40b-instruct"


def _assert_no_canary_under(root: Path) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path


def _assert_token_stayed_home(requests: list[RequestRecord]) -> None:
    hub = [r for r in requests if r.listener == "hub"]
    cdn = [r for r in requests if r.listener == "cdn"]
    assert hub and cdn
    assert all(r.authorized for r in hub)  # the token was in use...
    assert not any(r.authorized for r in cdn)  # ...and never crossed to the CDN's origin


def _faults(*, info_failures: int | None) -> FaultPlan:
    return FaultPlan(
        [
            # `echo_auth`: the refusals repeat the token back, so every error
            # message below carries it until redaction takes it out.
            FaultRule(
                path=f"^/api/models/{GATED}$",
                action="gated",
                status=403,
                times=None,
                echo_auth=True,
            ),
            FaultRule(
                path=f"^/api/models/{FAILING}$",
                action="status",
                status=503,
                times=info_failures,
                echo_auth=True,
            ),
        ]
    )


def test_cli_output_and_data_hold_no_token(
    tmp_path: Path, replay_hub_factory: Callable[..., ReplayHub]
) -> None:
    # The CLI runs the production policy: two 503s cost 1.5 s of backoff; the
    # rate limit says `Retry-After: 0`, so its six refusals cost nothing.
    plan = _faults(info_failures=2)
    plan = FaultPlan(
        [
            *plan.rules,
            FaultRule(
                path=f"^/api/models/{RATE_LIMITED}$",
                action="status",
                status=429,
                retry_after=0,
                times=None,
                echo_auth=True,
            ),
        ]
    )
    hub = replay_hub_factory(faults=plan)
    data_dir = tmp_path / "data"
    result = cli_sync(hub.url, data_dir, env={"HF_TOKEN": CANARY})
    assert result.returncode == 0, result.stderr
    assert plan.fired() == [1, 2, 6]
    assert f"{GATED}: gated" in result.stdout
    # The echoed token reached the error message, and was redacted there.
    assert "credentials sent: Bearer ***" in result.stdout
    assert f"{RATE_LIMITED}: unavailable" in result.stdout
    assert "attempt 1 failed (HTTP 503" in result.stderr  # the retries were logged
    assert CANARY not in result.stdout + result.stderr
    _assert_no_canary_under(data_dir)
    _assert_token_stayed_home(hub.requests)


def test_flow_logs_and_artifacts_hold_no_token(
    prefect_api: str,
    tmp_path: Path,
    replay_hub_factory: Callable[..., ReplayHub],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llmsync_flows.sync import sync
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogHandler

    monkeypatch.setenv("HF_TOKEN", CANARY)
    # The flow builds its config itself; the fast policy goes in where the
    # client is made, so a 503 that outlasts six attempts takes no time.
    make_client = stages.make_client

    def fast_client(config: SyncConfig, **options: Any) -> HubClient:
        return make_client(dataclasses.replace(config, retry_policy=FAST_RETRIES), **options)

    monkeypatch.setattr(stages, "make_client", fast_client)
    # Send llmsync's own log lines (retry warnings quote the server) to the
    # flow run's logs too, as `PREFECT_LOGGING_EXTRA_LOGGERS=llmsync` would.
    handler = APILogHandler()
    logging.getLogger("llmsync").addHandler(handler)
    plan = _faults(info_failures=None)
    hub = replay_hub_factory(faults=plan)
    data_dir = tmp_path / "data"
    try:
        report = sync(hub=hub.url, data_dir=str(data_dir))
    finally:
        logging.getLogger("llmsync").removeHandler(handler)

    assert report["status"] == "published"
    assert report["partial"] is True
    assert plan.fired() == [1, FAST_RETRIES.max_attempts]
    assert any(item.startswith(f"{GATED}: gated") for item in report["failures"])
    assert any(item.startswith(f"{FAILING}: unavailable") for item in report["failures"])

    async def logs_and_artifacts() -> tuple[list[str], list[str]]:
        # Logs reach the API in batches from a background worker: drain it first.
        await APILogHandler.aflush()
        async with get_client() as client:
            logs = await client.read_logs()
            artifacts = await client.read_artifacts()
            return [log.message for log in logs], [str(a.data) for a in artifacts]

    messages, artifacts = asyncio.run(logs_and_artifacts())
    assert any("published snapshot" in m for m in messages)
    assert any(f"model info of {FAILING}: attempt 1 failed" in m for m in messages)
    assert any(f"{GATED}: gated" in a for a in artifacts)
    for text in (*messages, *artifacts):
        assert CANARY not in text
    _assert_no_canary_under(data_dir)
    _assert_token_stayed_home(hub.requests)
