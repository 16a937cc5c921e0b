"""`llmsync`: a thin command-line front over the pipeline, the flow and the replay hub."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmsync.cli_args import iso_date, positive_int, share
from llmsync.cli_exit import exit_now
from llmsync.endpoints import add_replay_hub_command
from llmsync.hub.pacing import RATE_TIERS
from llmsync.publish.command import PUBLISH_HELP, add_publish_command

# Prefect starts a temporary API server when none is configured; on a small
# machine that can take well over its default 20 s, and first runs fail at
# random. Telemetry has nowhere to go offline. Set before Prefect is imported.
_ENV_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # Send the library's own log lines (retries, skipped revisions) to the
    # Prefect run logs too, so a flow run's log tells the whole story.
    "PREFECT_LOGGING_EXTRA_LOGGERS": "llmsync",
}


def _set_env_defaults() -> None:
    for key, value in _ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


def _fail(message: str, *, code: int = 1) -> int:
    print(f"llmsync: {message}", file=sys.stderr)
    return code


def _print_summary(report: dict[str, Any], *, seconds: float, data_dir: Path | None = None) -> None:
    from llmsync.cli_summary import print_summary

    print_summary(report, seconds=seconds, data_dir=data_dir)


def cmd_sync(args: argparse.Namespace) -> int:
    from llmsync.cli_checks import unreachable_hub
    from llmsync.cli_interrupt import StopOnInterrupt
    from llmsync.hub.endpoint import resolve_endpoint
    from llmsync.pipeline import SyncFailed
    from llmsync.publish.base import PublishError
    from llmsync.store.snapshots import StoreError, default_data_dir

    if not args.verbose and not args.no_prefect:
        # Prefect's INFO lines (server start, task states) drown the summary.
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    data_dir = args.data_dir or default_data_dir()
    where = "the bundled replay hub" if args.hub == "replay" else resolve_endpoint(args.hub)
    print(f"llmsync: syncing {where} into {data_dir.absolute()} ...", file=sys.stderr)
    started = time.perf_counter()
    # Until the process ends (main() puts the previous handler back).
    StopOnInterrupt(data_dir).install()
    try:
        if args.no_prefect:
            report = _sync_without_prefect(args)
        else:
            from llmsync_flows.sync import sync

            report = sync(
                hub=args.hub,
                as_of=args.as_of,
                data_dir=str(args.data_dir) if args.data_dir else None,
                extra_repos=args.repo or None,
                curated=str(args.curated) if args.curated else None,
                max_revisions=args.max_revisions,
                max_row_loss=args.max_row_loss,
                allow_row_loss=args.allow_row_loss,
                suspect_row_loss=args.suspect_row_loss,
                population=args.population,
                rate_tier=args.rate_tier,
                reconcile_days=args.reconcile_days,
                publish=args.publish,
            )
    except SyncFailed as exc:
        return _fail(unreachable_hub(exc, hub=args.hub) or f"sync failed: {exc}")
    except PublishError as exc:
        return _fail(f"publish failed: {exc}")
    except StoreError as exc:
        return _fail(str(exc), code=2)
    except ValueError as exc:
        return _fail(str(exc), code=2)
    _print_summary(report, seconds=time.perf_counter() - started, data_dir=data_dir)
    if args.no_prefect and args.publish:
        # The flow publishes as its last step; here, after the summary.
        from llmsync.publish.command import publish_to_targets

        try:
            publish_to_targets(data_dir, args.publish)
        except PublishError as exc:
            return _fail(f"publish failed: {exc}")
    return 0


def _sync_without_prefect(args: argparse.Namespace) -> dict[str, Any]:
    """The same stages, composed in this process without Prefect: for a
    machine with no Prefect server at hand, and for crash tests."""
    from llmsync.endpoints import hub_endpoint
    from llmsync.pipeline import SyncConfig, run_sync
    from llmsync.pipeline.progress import ProgressLine
    from llmsync.store.snapshots import default_data_dir

    with hub_endpoint(args.hub, as_of=args.as_of) as endpoint:
        config = SyncConfig(
            data_dir=args.data_dir or default_data_dir(),
            endpoint=endpoint,
            extra_repos=tuple(args.repo or ()),
            curated_path=args.curated,
            max_revisions=args.max_revisions,
            max_row_loss=args.max_row_loss,
            allow_row_loss=args.allow_row_loss,
            suspect_row_loss=args.suspect_row_loss,
            population=args.population,
            rate_tier=args.rate_tier,
            reconcile_days=args.reconcile_days,
            # A replay as of a date: its eval results are observed on that date.
            observed_on=args.as_of,
        )
        line = ProgressLine(sys.stderr)
        try:
            report = run_sync(
                config,
                progress=lambda text: line.message(text),
                on_fetch_progress=line.update,
            )
        finally:
            line.close()
    result = report.as_dict()
    if report.snapshot:
        result["report"] = _write_report(config.data_dir, report.snapshot)
    return result


def _write_report(data_dir: Path, snapshot_id: str) -> str | None:
    """The report beside the snapshots, as the flow writes it; one that cannot
    be written is said and fails nothing (the snapshot is published)."""
    from llmsync.report.data import ReportError
    from llmsync.report.page import write_report

    try:
        return str(write_report(data_dir, snapshot_id=snapshot_id, keep_current=True))
    except Exception as exc:  # the snapshot is published: as in the flow, nothing here fails it
        kind = "" if isinstance(exc, ReportError | OSError) else f"{type(exc).__name__}: "
        print(
            f"llmsync: report of snapshot {snapshot_id} not written: {kind}{exc}", file=sys.stderr
        )
        return None


# Manifest entries too long for a summary (every source revision, every raw object).
_SUMMARY_OMITS = frozenset({"sources", "raw_objects", "model_details"})


def _missing_data_dir(data_dir: Path) -> int | None:
    """Exit code 2 when the data folder holds no llmsync data (a typo in the
    path must not read as an empty store)."""
    from llmsync.store.presence import data_dir_problem

    problem = data_dir_problem(data_dir)
    return None if problem is None else _fail(problem, code=2)


def cmd_snapshots(args: argparse.Namespace) -> int:
    from llmsync.store.snapshots import SnapshotStore, default_data_dir
    from llmsync.tables.revisions import describe_suspect_newest

    store = SnapshotStore(args.data_dir or default_data_dir())
    if (missing := _missing_data_dir(store.data_dir)) is not None:
        return missing
    if args.latest:
        latest = store.latest_complete()
        if latest is None:
            return _fail(f"no complete snapshot in {store.data_dir}")
        if args.format == "json":
            summary = {k: v for k, v in latest.manifest.items() if k not in _SUMMARY_OMITS}
            summary["path"] = str(latest.path)
            print(json.dumps(summary, indent=2, sort_keys=True))
        else:
            print(latest.snapshot_id)
        return 0
    runs = store.runs()
    if args.format == "json":
        print(json.dumps(runs, indent=2))
        return 0
    if not runs:
        print(f"no runs recorded in {store.data_dir}")
        return 0
    header = f"{'run_id':<24} {'status':<10} {'snapshot':<18} {'scores':>9}  reason"
    print(header)
    manifests = {s.snapshot_id: s.manifest for s in store.snapshots()}
    for run in runs:
        rows = run.get("row_counts", {}).get("scores")
        print(
            f"{run['run_id']:<24} {run['status']:<10} {run.get('snapshot') or '-':<18} "
            f"{rows if rows is not None else '-':>9}  {run.get('reason') or ''}"
        )
        manifest = manifests.get(run.get("snapshot") or "", {})
        for entry in manifest.get("suspect_newest") or []:
            print(f"{'':<24} newest export not applied: {describe_suspect_newest(entry)}")
        if args.detail:
            from llmsync.cli_summary import print_run_detail

            print_run_detail(run, manifest)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Check a snapshot's files against its manifest, then rebuild its tables
    from the raw landing and compare them, offline."""
    from llmsync.pipeline import (
        SyncFailed,
        check_raw_objects,
        compare_with_snapshot,
        rebuild_from_raw,
    )
    from llmsync.store.snapshots import SnapshotStore, default_data_dir

    store = SnapshotStore(args.data_dir or default_data_dir())
    if (missing := _missing_data_dir(store.data_dir)) is not None:
        return missing
    published = {s.snapshot_id: s for s in store.snapshots()}
    snapshot = published.get(args.snapshot) if args.snapshot else store.latest()
    if snapshot is None:
        wanted = f"snapshot {args.snapshot}" if args.snapshot else "published snapshot"
        return _fail(f"no {wanted} in {store.processed}", code=2)
    which = "" if args.snapshot else " (the latest)"
    print(f"checking snapshot {snapshot.snapshot_id}{which}: {snapshot.path}")
    problems = store.verify(snapshot)
    for problem in problems:
        print(problem)
    if "raw_objects" not in snapshot.manifest:
        print(
            f"{snapshot.snapshot_id}: published before raw objects were recorded "
            "(llmsync < 0.2): its raw files are read unchecked"
        )
    try:
        broken = check_raw_objects(store, snapshot)
    except SyncFailed as exc:
        return _fail(f"cannot rebuild {snapshot.snapshot_id} from raw: {exc}")
    if broken:
        # Offline, a changed object cannot be fetched again; the next sync that
        # needs it sets it aside and does.
        for problem in broken:
            print(problem)
        return _fail(
            f"cannot rebuild {snapshot.snapshot_id} from raw: {len(broken)} raw object(s) "
            "missing or changed on disk"
        )
    try:
        rebuilt = rebuild_from_raw(store, snapshot, curated_path=args.curated)
        same = compare_with_snapshot(snapshot, rebuilt)
    except (SyncFailed, OSError, ValueError) as exc:
        return _fail(f"cannot rebuild {snapshot.snapshot_id} from raw: {exc}")
    for name, equal in same.items():
        print(f"{name}: {'rebuilt from raw, identical' if equal else 'DIFFERS when rebuilt'}")
    return 0 if all(same.values()) and not problems else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from llmsync_flows.serve import ScheduleFileError, default_schedules_path, serve_schedules

    try:
        serve_schedules(args.schedules or default_schedules_path())
    except ScheduleFileError as exc:
        return _fail(str(exc), code=2)
    return 0


DATA_DIR_HELP = "the data folder (default: LLMSYNC_DATA_DIR, else ./data)"


def build_parser() -> argparse.ArgumentParser:
    from llmsync import __version__

    parser = argparse.ArgumentParser(prog="llmsync", description=__doc__)
    parser.add_argument("--version", action="version", version=f"llmsync {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    sync = commands.add_parser("sync", help="run the sync flow once")
    sync.add_argument(
        "--hub",
        default=None,
        help="Hub URL, or `replay` for the bundled replay hub (default: HF_ENDPOINT or "
        "https://huggingface.co)",
    )
    sync.add_argument(
        "--as-of",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="with --hub replay: the Hub as it stood on this day (not after today)",
    )
    sync.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    sync.add_argument("--repo", action="append", help="track this repo too (repeatable)")
    sync.add_argument(
        "--curated",
        type=Path,
        help="your own reviewed curated YAML (default: LLMSYNC_CURATED, else the bundled file)",
    )
    sync.add_argument(
        "--max-revisions",
        type=positive_int,
        help="read only the newest N revisions of each leaderboard (default: all)",
    )
    sync.add_argument(
        "--max-row-loss",
        type=share,
        default=0.10,
        help="publish nothing when a table (but changes) would lose more than this share "
        "of the previous snapshot's rows; the run exits non-zero (default 0.1)",
    )
    sync.add_argument(
        "--allow-row-loss",
        action="store_true",
        help="publish even when a table loses more rows than --max-row-loss allows "
        "(after checking that the loss is real)",
    )
    sync.add_argument(
        "--suspect-row-loss",
        type=share,
        default=0.5,
        help="a leaderboard revision losing more than this share of the previous one's rows "
        "is recorded as suspect and not applied (default 0.5)",
    )
    sync.add_argument(
        "--population",
        choices=("curated", "leaderboards"),
        default="curated",
        help="which model repos to fetch: the curated ones and --repo (default), or also "
        "every repo either leaderboard names (~11,000, paced to the Hub's rate limits)",
    )
    sync.add_argument(
        "--rate-tier",
        choices=RATE_TIERS,
        default=None,
        help="the quotas assumed until the server's RateLimit-Policy header announces its own "
        "(default: on huggingface.co free with HF_TOKEN, else anonymous; on any other "
        "endpoint none: no pacing unless the server sends RateLimit headers)",
    )
    sync.add_argument(
        "--reconcile-days",
        type=float,
        default=7.0,
        help="with --population leaderboards: read every author's listing again after this "
        "many days; between, only what the Hub lists as changed (default: 7)",
    )
    sync.add_argument(
        "--no-prefect", action="store_true", help="run the stages in-process, without Prefect"
    )
    sync.add_argument("--publish", action="append", metavar="URL", help=PUBLISH_HELP)
    sync.add_argument(
        "-v", "--verbose", action="store_true", help="also print Prefect's own log lines"
    )
    sync.set_defaults(handler=cmd_sync)

    snapshots = commands.add_parser("snapshots", help="list every run and its snapshot")
    snapshots.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    snapshots.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="a table to read (default), or JSON for scripts",
    )
    snapshots.add_argument(
        "--detail",
        action="store_true",
        help="under each run, what it could not read (failures, the replay hub's gaps)",
    )
    snapshots.add_argument(
        "--latest",
        action="store_true",
        help="print the latest complete snapshot's id (with --format json: its manifest summary)",
    )
    snapshots.set_defaults(handler=cmd_snapshots)

    verify = commands.add_parser(
        "verify", help="check a snapshot's hashes and rebuild it from data/raw, offline"
    )
    verify.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    verify.add_argument("--snapshot", help="snapshot id (default: the latest)")
    verify.add_argument(
        "--curated",
        type=Path,
        help="only for snapshots older than llmsync 0.2, which kept no copy in data/raw/curated",
    )
    verify.set_defaults(handler=cmd_verify)

    add_replay_hub_command(commands)

    serve = commands.add_parser(
        "serve",
        help="register schedules.yaml and execute its runs",
        description="Register schedules.yaml's deployments with a Prefect server and execute "
        "their runs until stopped (docs/nightly.md).",
        epilog="environment: PREFECT_API_URL (the Prefect server, e.g. "
        "http://127.0.0.1:4200/api; without it each run starts a temporary one), "
        "HF_ENDPOINT (the Hub, default https://huggingface.co), HF_TOKEN (optional; "
        "raises the Hub's rate limits; never logged), LLMSYNC_DATA_DIR (the data folder, "
        "default ./data), LLMSYNC_SCHEDULES (default ./schedules.yaml)",
    )
    serve.add_argument(
        "--schedules",
        type=Path,
        default=None,
        help="deployments file (default: LLMSYNC_SCHEDULES, else ./schedules.yaml)",
    )
    serve.set_defaults(handler=cmd_serve)

    from llmsync.report.command import add_report_command

    add_report_command(commands)
    add_publish_command(commands)
    from llmsync.export.command import add_export_command

    add_export_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _set_env_defaults()
    from llmsync.cli_checks import parse_with_suggestions

    previous = signal.getsignal(signal.SIGINT)
    try:
        args = parse_with_suggestions(build_parser(), argv)
        code: int = args.handler(args)
    except KeyboardInterrupt:
        # Ctrl-C outside a sync (which handles its own: cli_interrupt.py).
        print("\nllmsync: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
    return code


if __name__ == "__main__":
    exit_now(main())
