"""`llmsync export <format>`: the exporters, listed once, and their arguments
(kept out of cli.py, which stays a thin list of commands). Imports nothing
heavy until run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from llmsync.cli_args import iso_date


def cmd_export_eee(args: argparse.Namespace) -> int:
    from llmsync.export.eee import export_eee
    from llmsync.export.snapshot import ExportError
    from llmsync.store.snapshots import default_data_dir

    try:
        summary = export_eee(
            args.data_dir or default_data_dir(),
            args.out,
            snapshot_id=args.snapshot,
            since=args.since,
        )
    except ExportError as exc:
        print(f"llmsync: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    return 0


def _add_eee(formats: Any) -> None:
    eee = formats.add_parser(
        "eee",
        help="Every Eval Ever v0.3.0 aggregate records, one per model and source per state held",
    )
    eee.add_argument("--out", type=Path, required=True, help="writes <out>/data/<collection>/...")
    eee.add_argument("--snapshot", help="snapshot id (default: the latest published)")
    eee.add_argument(
        "--since", type=iso_date, help="only records starting on or after this day (YYYY-MM-DD)"
    )
    eee.add_argument("--data-dir", type=Path, help="default: LLMSYNC_DATA_DIR or ./data")
    eee.set_defaults(handler=cmd_export_eee)


# Each exporter's subcommand, one line each.
EXPORTERS = (_add_eee,)


def add_export_command(commands: Any) -> None:
    """Register `export` and its formats on the CLI's subcommands."""
    export = commands.add_parser("export", help="write a snapshot in another project's format")
    formats = export.add_subparsers(dest="format", required=True)
    for add in EXPORTERS:
        add(formats)
