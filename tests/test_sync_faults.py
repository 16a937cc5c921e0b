"""Whole syncs through an unreliable Hub: transient faults on every kind of
request cost retries, never data; a fault that outlasts the retries costs one
model's fields, with the reason, and marks the snapshot partial. A gated repo
or card is the model's state, not a fault: the snapshot stays complete, and
readers of "the latest snapshot" skip partial ones."""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmsync.cli import main
from llmsync.pipeline import SyncConfig, SyncReport, run_sync
from llmsync.replay.faults import FaultPlan, FaultRule
from llmsync.replay.server import RequestRecord
from llmsync.store.snapshots import TABLE_NAMES, SnapshotStore
from tests.conftest import FAST_RETRIES, CleanSync
from tests.readme_recipes import run_recipes
from tests.tables import latest_manifest, published_tables, without_repo, without_run_time

DOLLY = "databricks/dolly-v2-12b"

# One pattern per kind of request a sync makes (the replay hub sees raw paths).
COMMITS = r"^/api/datasets/.+/commits/"
MODEL_INFO = r"^/api/models/"
DATASET_FILE = r"^/datasets/.+/resolve/[0-9a-f]{40}/"
CDN = r"^/cdn-lfs/"
V2_FILE = r"^/datasets/open-llm-leaderboard/contents/resolve/[0-9a-f]{40}/"
EVAL_YAML = r"^/datasets/.+/resolve/[0-9a-f]{40}/eval\.yaml$"
CARD = r"^/(?!api/|datasets/|cdn-lfs/).+/resolve/[0-9a-f]{40}/README\.md$"

KINDS = {
    "commits": COMMITS,
    "model info": MODEL_INFO,
    "dataset file": DATASET_FILE,
    "cdn": CDN,
    "card": CARD,
}


def _rule(path: str, action: str, *, method: str | None = None, **fields: Any) -> FaultRule:
    return FaultRule(path=path, action=action, method=method, **fields)


# Every rule fires a bounded number of times, fewer than the policy's six
# attempts per request, so a correct client ends up with every byte.
TRANSIENT_RULES = (
    _rule(COMMITS, "status", status=429, retry_after=1),
    _rule(COMMITS, "status", status=503),
    _rule(COMMITS, "reset"),
    _rule(COMMITS, "truncate", fraction=0.3),
    # The Hub's own rate-limit header without Retry-After.
    _rule(MODEL_INFO, "status", status=429, retry_after=None, ratelimit_reset=1),
    _rule(MODEL_INFO, "status", status=500),
    _rule(MODEL_INFO, "reset"),
    _rule(MODEL_INFO, "truncate", fraction=0.5),
    # A dataset file is one GET at its commit's sha (no HEAD), and an LFS
    # file's body one more on the CDN: both are attempts of one fetch, so the
    # resolver's faults go to v2's newest export, the CDN's to v1's (the first
    # fetched) and the reset to an eval.yaml (whose body the resolver serves:
    # a reset after a 302's headers goes unnoticed, as it may against the Hub).
    _rule(V2_FILE, "status", method="GET", status=502),
    _rule(EVAL_YAML, "reset", method="GET"),
    _rule(V2_FILE, "status", method="GET", status=429, retry_after=1),
    # The LFS body on the CDN origin, after the Hub's redirect.
    _rule(CDN, "status", method="GET", status=503),
    _rule(CDN, "reset", method="GET", fraction=0.5),
    _rule(CDN, "truncate", method="GET", fraction=0.5),
    _rule(CDN, "status", method="GET", status=500),
    # A card is one GET at the info's sha (no HEAD).
    _rule(CARD, "status", method="GET", status=503),
    _rule(CARD, "status", method="GET", status=502),
    _rule(CARD, "reset", method="GET", fraction=0.5),
    _rule(CARD, "truncate", method="GET", fraction=0.2),
    _rule(CARD, "status", method="GET", status=429, retry_after=1),
)


def _attempts_by_kind(requests: list[RequestRecord]) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for request in requests:
        for kind, pattern in KINDS.items():
            if re.search(pattern, request.path):
                counts[f"{kind} {request.method}"] += 1
                break
    return dict(counts)


def _faulted_sync(
    tmp_path: Path, replay_hub_factory: Callable[..., Any], rules: tuple[FaultRule, ...]
) -> tuple[SyncReport, FaultPlan, list[RequestRecord]]:
    plan = FaultPlan(rules)
    hub = replay_hub_factory(faults=plan)
    report = run_sync(
        SyncConfig(data_dir=tmp_path / "data", endpoint=hub.url, retry_policy=FAST_RETRIES)
    )
    return report, plan, hub.requests


def test_transient_faults_on_every_request_kind_change_nothing(
    tmp_path: Path, replay_hub_factory: Callable[..., Any], clean_sync: CleanSync
) -> None:
    report, plan, requests = _faulted_sync(tmp_path, replay_hub_factory, TRANSIENT_RULES)

    # Every injected fault was met (none was dodged by a request never made).
    assert plan.fired() == [1] * len(TRANSIENT_RULES)
    # Each fault costs one more request of its kind (a failed CDN GET also
    # repeats the resolver's GET before it); the clean run makes the numbers on
    # the left: v1's 17 commits in one page, v2's 190 in four and OpenEvals'
    # one, one resolver GET and one CDN GET for each of the 208 exports, one
    # resolver GET for each of the 9 official benchmarks' eval.yaml (no CDN: a
    # small file), and one GET per card asked at its sha (each of the 16 curated
    # repos: 9 recorded cards, 7 answered NotRecorded; and the two models the
    # benchmarks' leaderboards bring in, which have none).
    assert _attempts_by_kind(requests) == {
        "commits GET": 1 + 4 + 1 + 4,
        "model info GET": 18 + 4,
        "dataset file GET": 208 + 9 + 3 + 4,
        "cdn GET": 208 + 4,
        "card GET": 16 + 2 + 5,
    }
    assert report.status == "published"
    assert report.partial is False
    assert report.failures == clean_sync.report.failures

    faulted = published_tables(tmp_path / "data")
    for name in TABLE_NAMES:
        clean = without_run_time(clean_sync.tables[name])
        assert without_run_time(faulted[name]).equals(clean), name
    catalog = faulted["catalog"].to_pylist()
    dolly = next(r for r in catalog if r["repo_id"] == DOLLY and r["role"] == "primary")
    assert dolly["open_llm_v1_average"] == 39.46
    assert dolly["open_llm_v1_arc"] == 42.41

    manifest = latest_manifest(tmp_path / "data")
    clean_manifest = latest_manifest(clean_sync.data_dir)
    assert manifest["status"] == "complete"
    assert manifest["sources_fingerprint"] == clean_manifest["sources_fingerprint"]
    # Byte for byte, but for eval_results: its rows carry each run's own time.
    assert {k: v["sha256"] for k, v in manifest["tables"].items() if k != "eval_results"} == {
        k: v["sha256"] for k, v in clean_manifest["tables"].items() if k != "eval_results"
    }


@pytest.mark.parametrize(
    ("rule", "status", "detail"),
    [
        (
            _rule(rf"^/{DOLLY}/resolve/", "status", status=503, times=None),
            "card_unavailable",
            "HTTP 503",
        ),
        (
            _rule(rf"^/api/models/{DOLLY}$", "status", status=502, times=None),
            "unavailable",
            "HTTP 502",
        ),
        (
            _rule(rf"^/api/models/{DOLLY}$", "reset", times=None),
            "unavailable",
            "gave up after 6 attempts",
        ),
    ],
    ids=["card-503", "info-502", "info-reset"],
)
def test_a_model_the_hub_keeps_failing_costs_its_row_only(
    tmp_path: Path,
    replay_hub_factory: Callable[..., Any],
    clean_sync: CleanSync,
    rule: FaultRule,
    status: str,
    detail: str,
) -> None:
    report, plan, _ = _faulted_sync(tmp_path, replay_hub_factory, (rule,))

    assert plan.fired() == [FAST_RETRIES.max_attempts]
    assert report.status == "published"
    assert report.partial is True
    tables = published_tables(tmp_path / "data")
    row = next(r for r in tables["models"].to_pylist() if r["repo_id"] == DOLLY)
    assert row["status"] == status
    assert detail in row["status_detail"]
    manifest = latest_manifest(tmp_path / "data")
    assert manifest["status"] == "partial"
    assert any(item.startswith(f"{DOLLY}: {status}") for item in manifest["failures"])

    # Every other value is the clean run's; the scores do not depend on the Hub's models.
    assert tables["scores"].equals(clean_sync.tables["scores"])
    for name in ("models", "catalog"):
        assert without_repo(tables[name], DOLLY).equals(
            without_repo(clean_sync.tables[name], DOLLY)
        ), name
    dolly = next(r for r in tables["catalog"].to_pylist() if r["repo_id"] == DOLLY)
    assert dolly["model_status"] == status
    assert dolly["open_llm_v1_average"] == 39.46


@pytest.mark.parametrize(
    ("rule", "status", "detail"),
    [
        (_rule(rf"^/{DOLLY}/resolve/", "gated", status=403, times=None), "card_gated", "HTTP 403"),
        (_rule(rf"^/{DOLLY}/resolve/", "gated", status=401, times=None), "card_gated", "HTTP 401"),
        (_rule(rf"^/api/models/{DOLLY}$", "gated", status=403, times=None), "gated", "HTTP 403"),
    ],
    ids=["card-403", "card-401", "info-403"],
)
def test_a_gated_model_is_its_state_and_the_snapshot_stays_complete(
    tmp_path: Path,
    replay_hub_factory: Callable[..., Any],
    clean_sync: CleanSync,
    rule: FaultRule,
    status: str,
    detail: str,
) -> None:
    """Gated is permanent (it would be so every night), not a failure of the
    Hub: the row says so, and the snapshot is complete."""
    report, plan, _ = _faulted_sync(tmp_path, replay_hub_factory, (rule,))

    assert plan.fired() == [1]  # a refusal is not retried
    assert (report.status, report.partial) == ("published", False)
    manifest = latest_manifest(tmp_path / "data")
    assert manifest["status"] == "complete"
    assert manifest["sources"]["models"][DOLLY]["status"] == status
    tables = published_tables(tmp_path / "data")
    row = next(r for r in tables["models"].to_pylist() if r["repo_id"] == DOLLY)
    assert row["status"] == status and detail in row["status_detail"]
    if status == "card_gated":
        # The info is public: the row keeps what it says.
        assert (row["likes"], row["license"], row["card_present"]) == (1955, "mit", False)
    for name in ("models", "catalog"):
        assert without_repo(tables[name], DOLLY).equals(
            without_repo(clean_sync.tables[name], DOLLY)
        ), name


def test_latest_skips_a_partial_snapshot(
    tmp_path: Path,
    clean_sync: CleanSync,
    replay_hub_factory: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A complete snapshot of today's Hub (a copy of the clean run's data directory).
    data_dir = clean_sync.copy_to(tmp_path / "data")
    complete = clean_sync.report
    # The card is landed by now (its sha is immutable), so fail the model info.
    failing = replay_hub_factory(
        faults=FaultPlan([_rule(rf"^/api/models/{DOLLY}$", "status", status=503, times=None)])
    )
    partial = run_sync(
        SyncConfig(data_dir=data_dir, endpoint=failing.url, retry_policy=FAST_RETRIES)
    )
    assert (complete.partial, partial.status, partial.partial) == (False, "published", True)
    latest = SnapshotStore(data_dir).latest()
    assert latest is not None and latest.snapshot_id == partial.snapshot

    capsys.readouterr()
    assert main(["snapshots", "--data-dir", str(data_dir), "--latest"]) == 0
    assert capsys.readouterr().out == f"{complete.snapshot}\n"
    assert main(["snapshots", "--data-dir", str(data_dir), "--latest", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["snapshot_id"], summary["status"]) == (complete.snapshot, "complete")
    assert summary["tables"]["models"]["rows"] == complete.row_counts["models"]
    assert summary["path"] == str(data_dir / "processed" / f"snapshot={complete.snapshot}")
    assert not {"sources", "raw_objects", "model_details"} & set(summary)

    # The README's recipes read the complete one too. On this data (one
    # complete snapshot of today's Hub, then the partial one) the v1 ranking is
    # the one the README shows after its second night, and the v2 averages per
    # complete snapshot are that night's five rows only: reading the partial
    # snapshot as well would list each twice.
    reader = tmp_path / "reader"
    reader.mkdir()
    found = run_recipes("two-syncs", data_dir, reader)
    printed, shown = found["v1-ranking"]
    assert printed == shown
    printed, shown = found["v2-by-snapshot"]
    newest = [line for line in shown.splitlines() if "2025-03-21" in line]
    assert len(newest) == 5
    assert [line for line in printed.splitlines() if " ┆ 20" in line] == newest
    assert printed.startswith("shape: (5, 3)")
    # Falcon's MMLU and MMLU-Pro intervals, read from the upstream CSVs, are the
    # same in the latest complete snapshot of one night as after the README's two.
    printed, shown = found["falcon-history"]
    assert printed == shown


def test_production_keeps_the_default_policy(tmp_path: Path) -> None:
    """Only tests shorten the waits: a config that does not ask keeps the
    policy that honours `Retry-After` up to 10 minutes and backs off up to 30 s."""
    from llmsync.hub.retry import DEFAULT_POLICY

    assert SyncConfig(data_dir=tmp_path).retry_policy is DEFAULT_POLICY
    assert DEFAULT_POLICY.max_delay == 30
    assert DEFAULT_POLICY.max_server_delay == 600
