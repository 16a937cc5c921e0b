"""Fault plans, the retry policy and redaction, each on its own and on the wire."""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError
from huggingface_hub.utils import parse_ratelimit_headers  # type: ignore[attr-defined]

from llmsync.hub.retry import (
    IncompleteBody,
    RetryPolicy,
    call_with_retry,
    is_retryable,
    retry_delay,
)
from llmsync.hub.secrets import MASK, RedactingFilter, redact, register_secret
from llmsync.replay.faults import FaultPlan, FaultRule
from llmsync.replay.server import ReplayHub

DOLLY = "databricks/dolly-v2-12b"
NO_JITTER = RetryPolicy(jitter=0.0)


def _http_error(status: int, headers: dict[str, str] | None = None) -> HfHubHTTPError:
    request = httpx2.Request("GET", "https://huggingface.co/api/models/a/b")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    return HfHubHTTPError(f"{status}", response=response)


# -- plans ----------------------------------------------------------------------


def test_plan_from_json_and_yaml(tmp_path: Path) -> None:
    rules = [{"path": "/api/", "action": "status", "status": 503, "times": 2}]
    json_file = tmp_path / "plan.json"
    json_file.write_text(json.dumps({"faults": rules}))
    yaml_file = tmp_path / "plan.yaml"
    yaml_file.write_text("faults:\n  - {method: GET, path: /resolve/, action: truncate}\n")
    assert FaultPlan.load(json_file).rules[0].status == 503
    rule = FaultPlan.load(yaml_file).rules[0]
    assert (rule.method, rule.action, rule.times, rule.fraction) == ("GET", "truncate", 1, 0.5)
    assert not FaultPlan.load(yaml_file).partial_captures


def test_plan_can_ask_for_the_partial_captures(tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text("faults: []\npartial_captures: true\n")
    plan = FaultPlan.load(plan_file)
    assert plan.partial_captures and len(plan) == 0
    with pytest.raises(ValueError, match="partial_captures"):
        FaultPlan.from_data({"faults": [], "partial_captures": "yes"})


@pytest.mark.parametrize(
    "bad",
    [
        {"path": "/", "action": "explode"},
        {"path": "/", "action": "status", "status": 404},
        {"path": "/", "action": "redirect"},
        {"path": "/", "action": "gated", "status": 500},
        {"path": "/", "action": "reset", "color": "red"},
    ],
)
def test_plan_rejects_bad_rules(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FaultPlan.from_data([bad])


def test_times_are_exact_under_concurrency() -> None:
    plan = FaultPlan(
        [
            FaultRule(path="^/api/", action="status", status=500, times=25),
            FaultRule(path="^/api/", action="delay", seconds=0, times=None, method="GET"),
        ]
    )
    fired: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            rule = plan.take("GET", "/api/models/x")
            with lock:
                fired.append(rule.action if rule else "none")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fired.count("status") == 25
    assert fired.count("delay") == 8 * 50 - 25
    assert plan.take("POST", "/api/models/x") is None  # only the GET-only rule is left
    assert plan.fired() == [25, 375]


# -- on the wire -----------------------------------------------------------------


def _hub(factory: Callable[..., ReplayHub], *rules: FaultRule) -> ReplayHub:
    return factory(faults=FaultPlan(rules))


def test_429_carries_the_hubs_rate_limit_headers(
    replay_hub_factory: Callable[..., ReplayHub],
) -> None:
    hub = _hub(
        replay_hub_factory, FaultRule(path="^/api/", action="status", status=429, retry_after=7)
    )
    response = httpx2.get(f"{hub.url}/api/models/{DOLLY}")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    info = parse_ratelimit_headers(response.headers)
    assert info is not None
    assert (info.resource_type, info.remaining, info.reset_in_seconds) == ("api", 0, 7)
    assert (info.limit, info.window_seconds) == (500, 300)
    assert httpx2.get(f"{hub.url}/api/models/{DOLLY}").status_code == 200  # times: 1


def test_gated_redirect_delay_reset_truncate(replay_hub_factory: Callable[..., ReplayHub]) -> None:
    hub = _hub(
        replay_hub_factory,
        FaultRule(path=f"^/api/models/{DOLLY}$", action="gated"),
        FaultRule(path=f"^/api/models/{DOLLY}$", action="gated"),
        FaultRule(path="^/api/models/old-name/dolly$", action="redirect", to=DOLLY),
        FaultRule(path="^/api/datasets/", action="delay", seconds=0.3),
        FaultRule(path="^/api/datasets/", action="reset"),
        FaultRule(path="^/api/datasets/", action="truncate", fraction=0.25),
    )
    api = HfApi(endpoint=hub.url, token=False)
    with pytest.raises(GatedRepoError) as anonymous:
        api.model_info(DOLLY)
    assert anonymous.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as authenticated:
        api.model_info(DOLLY, token="hf_" + "x" * 34)
    assert authenticated.value.response.status_code == 403
    assert "not in the authorized list" in str(authenticated.value)
    assert api.model_info("old-name/dolly").id == DOLLY

    url = f"{hub.url}/api/datasets/open-llm-leaderboard/contents"
    started = time.perf_counter()
    assert httpx2.get(url).status_code == 200
    assert time.perf_counter() - started >= 0.3
    with pytest.raises(httpx2.ReadError):  # what httpx2 raises for a reset
        httpx2.get(url)
    with pytest.raises(httpx2.RemoteProtocolError):  # ... and for a short body
        httpx2.get(url)
    assert httpx2.get(url).status_code == 200


# -- the retry policy -------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_retry(status: int) -> None:
    assert is_retryable(_http_error(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 416])
def test_final_statuses_do_not(status: int) -> None:
    assert not is_retryable(_http_error(status))


def test_transport_failures_retry_even_when_wrapped() -> None:
    for exc in (
        httpx2.ReadError("reset"),
        httpx2.RemoteProtocolError("short"),
        httpx2.ConnectTimeout("slow"),
        ConnectionResetError(),
        IncompleteBody("short"),
    ):
        assert is_retryable(exc)
    try:
        try:
            raise _http_error(503)
        except HfHubHTTPError as inner:
            raise FileNotFoundError("no local copy") from inner
    except FileNotFoundError as outer:
        assert is_retryable(outer)
    assert not is_retryable(ValueError("bug"))
    assert not is_retryable(httpx2.UnsupportedProtocol("ftp"))


def test_delays_honour_the_server_then_back_off() -> None:
    assert retry_delay(_http_error(429, {"Retry-After": "7"}), 1, policy=NO_JITTER) == 7.0
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 18 <= retry_delay(_http_error(503, {"Retry-After": when}), 1, policy=NO_JITTER) <= 20
    ratelimit = {
        "RateLimit": '"api";r=0;t=12',
        "RateLimit-Policy": '"fixed window";"api";q=500;w=300',
    }
    assert retry_delay(_http_error(429, ratelimit), 1, policy=NO_JITTER) == 12.0
    # The server's word is honoured up to ten minutes (two Hub windows), the
    # backoff of our own only up to 30 s.
    assert retry_delay(_http_error(429, {"Retry-After": "599"}), 1, policy=NO_JITTER) == 599.0
    assert retry_delay(_http_error(429, {"Retry-After": "3600"}), 1, policy=NO_JITTER) == 600.0
    assert [retry_delay(_http_error(500), n, policy=NO_JITTER) for n in (1, 2, 3, 9)] == [
        0.5,
        1.0,
        2.0,
        30.0,
    ]
    jittered = {retry_delay(_http_error(500), 2, policy=RetryPolicy(jitter=0.5)) for _ in range(20)}
    assert all(0.5 <= d <= 1.5 for d in jittered) and len(jittered) > 1


def test_call_with_retry_counts_attempts() -> None:
    sleeps: list[float] = []
    retries: list[int] = []
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise _http_error(502)
        return "ok"

    result = call_with_retry(
        flaky, policy=NO_JITTER, sleep=sleeps.append, on_retry=lambda e, n, d: retries.append(n)
    )
    assert (result, calls, sleeps, retries) == ("ok", 3, [0.5, 1.0], [1, 2])

    def always() -> None:
        raise _http_error(503)

    sleeps.clear()
    with pytest.raises(HfHubHTTPError):
        call_with_retry(always, policy=RetryPolicy(max_attempts=4, jitter=0), sleep=sleeps.append)
    assert len(sleeps) == 3

    def forbidden() -> None:
        raise _http_error(403)

    sleeps.clear()
    with pytest.raises(HfHubHTTPError):
        call_with_retry(forbidden, policy=NO_JITTER, sleep=sleeps.append)
    assert sleeps == []


# -- redaction ---------------------------------------------------------------------


def test_redact_masks_env_registered_and_shaped_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "plain-secret-value")
    register_secret("another-secret-123")
    text = "a plain-secret-value b another-secret-123 c hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345 d"
    assert redact(text) == f"a {MASK} b {MASK} c {MASK} d"
    assert redact("hf_short and hf_ alone") == "hf_short and hf_ alone"


def test_logging_filter(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_canaryCANARYcanary0123456789")
    logger = logging.getLogger("llmsync.test.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("token is %s", "hf_canaryCANARYcanary0123456789")
    assert "canary" not in caplog.text and MASK in caplog.text
