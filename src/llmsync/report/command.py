"""`llmsync report`: the subcommand's arguments and handler (kept out of
cli.py, which stays a thin list of commands). Imports nothing heavy until run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def cmd_report(args: argparse.Namespace) -> int:
    from llmsync.report.data import ReportError
    from llmsync.report.page import write_report
    from llmsync.store.presence import data_dir_problem
    from llmsync.store.snapshots import default_data_dir

    data_dir = args.data_dir or default_data_dir()
    if (problem := data_dir_problem(data_dir)) is not None:
        print(f"llmsync: {problem}", file=sys.stderr)
        return 2
    try:
        path = write_report(data_dir, snapshot_id=args.snapshot, out=args.out)
    except ReportError as exc:
        print(f"llmsync: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def add_report_command(commands: Any) -> None:
    """Register `report` on the CLI's subcommands."""
    report = commands.add_parser(
        "report", help="write one self-contained HTML report of a snapshot (offline charts)"
    )
    report.add_argument("--snapshot", help="snapshot id (default: the latest published)")
    report.add_argument(
        "--data-dir", type=Path, help="the data folder (default: LLMSYNC_DATA_DIR, else ./data)"
    )
    report.add_argument(
        "--out", type=Path, help="the HTML file to write (default: <data-dir>/reports/<id>.html)"
    )
    report.set_defaults(handler=cmd_report)
