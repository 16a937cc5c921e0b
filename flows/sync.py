"""The Prefect flow `sync`: the pipeline's stages, each run as a task.

The flow only composes: every stage is a plain function of `llmsync.pipeline`,
and the composition itself is `llmsync.pipeline.run_sync`, so the flow adds
orchestration (task runs, retries of transient failures, logs, an artifact)
and nothing else.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.runtime import flow_run
from prefect.tasks import Task

from llmsync.endpoints import hub_endpoint
from llmsync.export.eee import export_published
from llmsync.hub.errors import HubUnavailable
from llmsync.hub.retry import exception_chain
from llmsync.hub.secrets import install_log_redaction
from llmsync.pipeline import SyncConfig, SyncFailed, run_sync
from llmsync.pipeline.fetchplan import FetchProgress
from llmsync.publish.command import publish_to_targets
from llmsync.report.data import ReportError
from llmsync.report.page import write_report
from llmsync.store.snapshots import default_data_dir

T = TypeVar("T")

ARTIFACT_KEY = "llmsync-sync-summary"

# The leaderboard fetch gets one more try as a whole when the client's own
# retries ran out on a transient fault (it raises, and the run would fail).
# Fetching models never raises for one model's failure: each becomes that
# model's status (and a partial snapshot), so a task retry could never fire.
# The other stages are deterministic: running them again repeats the error.
STAGE_RETRIES = {"fetch leaderboards": 1}


def _is_transient(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    try:
        state.result()
    except BaseException as exc:
        return any(isinstance(item, HubUnavailable) for item in exception_chain(exc))
    return False


def run_as_task(name: str, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    stage = task(
        fn,
        name=name,
        retries=STAGE_RETRIES.get(name, 0),
        retry_delay_seconds=5,
        retry_condition_fn=_is_transient,
        # Stage inputs are Arrow tables and configs: hashing them for a cache
        # key costs time and buys nothing, as every run must read the Hub anew.
        cache_policy=NO_CACHE,
        persist_result=False,
    )
    return stage(*args, **kwargs)


class FetchProgressArtifact:
    """A Prefect progress artifact, driven by the library's fetch callback:
    created at the first report, updated (at most every few seconds) after."""

    def __init__(self) -> None:
        self._id: Any = None
        self._phase = ""

    def __call__(self, progress: FetchProgress) -> None:
        share = 100.0 * progress.done / progress.total if progress.total else 100.0
        description = (
            f"fetch models, {progress.phase}: {progress.done:,}/{progress.total:,}; "
            f"{progress.requests:,} requests; waited for the rate limit "
            f"{progress.waited_seconds:.0f}s"
        )
        if self._id is None:
            self._id = create_progress_artifact(
                progress=share, key="llmsync-fetch-progress", description=description
            )
        else:
            update_progress_artifact(self._id, progress=share, description=description)


@flow(name="sync", description="Sync the Open LLM Leaderboards and model repos into a snapshot.")
def sync(
    hub: str | None = None,
    as_of: dt.date | None = None,
    data_dir: str | None = None,
    extra_repos: list[str] | None = None,
    curated: str | None = None,
    max_revisions: int | None = None,
    max_row_loss: float = 0.10,
    allow_row_loss: bool = False,
    suspect_row_loss: float = 0.5,
    population: str = "curated",
    rate_tier: str | None = None,
    reconcile_days: float = 7.0,
    publish: list[str] | None = None,
    eee_out: str | None = None,
) -> dict[str, Any]:
    """Publish a snapshot, record an unchanged run, or fail with the reason.

    hub: a Hub URL, `replay` for the bundled replay hub, or empty for
    `HF_ENDPOINT` (else huggingface.co). data_dir: empty for `LLMSYNC_DATA_DIR`
    (else ./data). curated: a reviewed curated YAML; empty for `LLMSYNC_CURATED`
    (else the file bundled with llmsync). population: `curated` (the curated
    repos and extra_repos) or `leaderboards` (every repo either leaderboard
    names, ~11,000, paced to the Hub's rate limits). rate_tier: anonymous,
    free, pro or none, the quotas assumed until the server's RateLimit-Policy
    header announces its own (empty: on huggingface.co free with HF_TOKEN, else
    anonymous; on any other endpoint none). reconcile_days: how often a leaderboards
    sync reads every author's listing again instead of only what changed.
    publish: targets (s3://BUCKET/PREFIX, hf://datasets/OWNER/NAME) that get every
    local snapshot they lack once the run is over (`llmsync.publish`).
    eee_out: a folder to write each published snapshot to as Every Eval Ever
    records (docs/eee.md); empty for none.
    """
    install_log_redaction()
    logger = get_run_logger()
    run_id = flow_run.get_id()
    with hub_endpoint(hub, as_of=as_of) as endpoint:
        config = SyncConfig(
            data_dir=Path(data_dir) if data_dir else default_data_dir(),
            endpoint=endpoint,
            extra_repos=tuple(extra_repos or ()),
            curated_path=Path(curated) if curated else None,
            max_revisions=max_revisions,
            max_row_loss=max_row_loss,
            allow_row_loss=allow_row_loss,
            suspect_row_loss=suspect_row_loss,
            population=population,
            rate_tier=rate_tier,
            reconcile_days=reconcile_days,
            # A replay as of a date: its eval results are observed on that date.
            observed_on=as_of,
        )
        try:
            report = run_sync(
                config,
                run_stage=run_as_task,
                flow_run_id=str(run_id) if run_id else None,
                progress=logger.info,
                on_fetch_progress=FetchProgressArtifact(),
            )
        except SyncFailed as exc:
            if exc.report is not None:
                create_markdown_artifact(
                    exc.report.to_markdown(), key=ARTIFACT_KEY, description="llmsync run summary"
                )
            logger.error("sync failed: %s", exc)
            raise
    result = report.as_dict()
    markdown = report.to_markdown()
    if report.snapshot:
        result["report"], line = _write_report(config.data_dir, report.snapshot)
        markdown += f"\n## Report\n\n{line}\n"
        if eee_out:
            summary, line = run_as_task(
                "export eee", export_published, config.data_dir, report.snapshot, Path(eee_out)
            )
            result["eee_records"] = summary.files if summary else None
            markdown += f"{line}\n"
    create_markdown_artifact(markdown, key=ARTIFACT_KEY, description="llmsync run summary")
    logger.info("%s: snapshot %s", report.status, report.snapshot)
    if publish:
        # After the local publish: a failure here fails this step (and the run)
        # and names the target; the local snapshot stays, the next run catches up.
        summaries = run_as_task(
            "publish", publish_to_targets, config.data_dir, publish, say=logger.info
        )
        result["publish"] = [summary.as_dict() for summary in summaries]
    return result


def _write_report(data_dir: Path, snapshot_id: str) -> tuple[str | None, str]:
    """The snapshot's HTML report, beside the snapshots (`reports/<id>.html`),
    and the artifact's line linking it. The snapshot is published already:
    a report that cannot be written is logged and named, and fails nothing."""
    try:
        path = run_as_task(
            "write report", write_report, data_dir, snapshot_id=snapshot_id, keep_current=True
        )
    except Exception as exc:  # the snapshot is published: nothing here may fail the run
        get_run_logger().exception("report of snapshot %s not written", snapshot_id)
        kind = "" if isinstance(exc, ReportError | OSError) else f"{type(exc).__name__}: "
        return None, f"- not written: {kind}{exc}"
    uri = Path(path).resolve().as_uri()
    return str(
        path
    ), f"- [report of snapshot `{snapshot_id}`]({uri}) (one HTML file, opens offline)"
