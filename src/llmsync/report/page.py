"""The report page: every view in one self-contained HTML file, written atomically.

The page loads nothing: no script, no font, no stylesheet or image from
anywhere; its charts are inline SVG whose marks show their values on hover.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from llmsync import __version__
from llmsync.report.data import ReportData, load, page_key
from llmsync.report.svg import esc
from llmsync.store.snapshots import SnapshotStore

if TYPE_CHECKING:
    from llmsync.report.context import View

# The page's key (`page_key`), in its head: within the first bytes of the file.
_KEY_META = '<meta name=llmsync-report-key content="{key}">'
_KEY_FOUND = re.compile(r'<meta name=llmsync-report-key content="([0-9a-f]{64})">')
_HEAD_BYTES = 1024


def _views() -> tuple[Callable[[ReportData], View], ...]:
    """Every view, in the page's order. Imported when a page is drawn, not
    with this module: a sync whose page is current draws nothing."""
    from llmsync.report.changes import changes_view
    from llmsync.report.evals import evals_view
    from llmsync.report.health import health_view
    from llmsync.report.history import history_view
    from llmsync.report.population import distributions_view, population_view

    return (
        history_view,
        population_view,
        distributions_view,
        changes_view,
        evals_view,
        health_view,
    )


STYLE = """body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
  margin:0;background:#f6f6f6}
main{max-width:1216px;margin:0 auto;padding:16px 8px 48px}
h1{font-size:24px;margin:8px 0}
h2{font-size:19px;margin:32px 0 8px;border-bottom:2px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}
.grid{display:flex;flex-wrap:wrap;gap:8px}
svg.chart{display:block;max-width:100%;height:auto;background:#fff;border:1px solid #ddd;
  margin:6px 0}
svg text{font:12px system-ui,sans-serif;fill:#222}
svg .fig-title{font-size:14px;font-weight:600}
svg .fig-date{fill:#555}
svg .tick{fill:#444;font-size:11px}
svg .axis-label{font-size:12px;fill:#333}
svg .mark:hover{stroke-width:4}
table{border-collapse:collapse;background:#fff;margin:6px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.skipped{background:#fff8e6;border:1px solid #e6c36e;padding:8px 12px}
nav a{margin-right:12px}
"""


def render(data: ReportData) -> str:
    """The whole page, as text."""
    views = [build(data) for build in _views()]
    skipped = [v for v in views if v.skipped]
    nav = "".join(f'<a href="#{v.key}">{esc(v.heading)}</a>' for v in views)
    sections = "".join(
        f'<section id="{v.key}" data-view="{v.key}"><h2>{esc(v.heading)}</h2>'
        + (f'<p class="skipped">Skipped: {esc(v.skipped)}.</p>' if v.skipped else v.body)
        + "</section>"
        for v in views
    )
    skipped_list = (
        '<div class="skipped"><b>Views skipped for this snapshot:</b><ul>'
        + "".join(f"<li>{esc(v.heading)}: {esc(v.skipped)}</li>" for v in skipped)
        + "</ul></div>"
        if skipped
        else ""
    )
    status = esc(data.manifest.get("status", "?"))
    key = _KEY_META.format(key=data.key) if data.key else ""
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"{key}"
        # No request of any kind leaves the page, even if it is served over HTTP.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>llmsync report: snapshot {esc(data.snapshot_id)}</title>"
        f"<style>{STYLE}</style></head><body><main>"
        f"<h1>llmsync report: snapshot {esc(data.snapshot_id)}</h1>"
        f"<p>Snapshot of {esc(data.created)}, status <b>{status}</b>; written by llmsync "
        f"{esc(__version__)} from the snapshot's published tables. Hover a mark for its values.</p>"
        f"<nav>{nav}</nav>{skipped_list}{sections}</main></body></html>\n"
    )


def _written_key(path: Path) -> str | None:
    """The key in the head of the page at `path`, if there is one."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    found = _KEY_FOUND.search(head)
    return found.group(1) if found else None


def write_report(
    data_dir: Path,
    *,
    snapshot_id: str | None = None,
    out: Path | None = None,
    keep_current: bool = False,
) -> Path:
    """Write the report of a snapshot (default: the newest) and return its path.

    Default path: `<data_dir>/reports/<snapshot id>.html`, beside the snapshots
    rather than inside one, because a published snapshot is never written
    again. The file appears whole or not at all (temp file, then one rename).

    `keep_current` (a sync's report of a snapshot it found unchanged): where
    the default path already holds the page of the same key (`page_key`:
    the same snapshot, snapshots beside it, troubled runs and llmsync), that
    page is what drawing it again would give, and it is kept as it is.
    """
    if keep_current and out is None and snapshot_id is not None:
        current = data_dir / "reports" / f"{snapshot_id}.html"
        if _written_key(current) == page_key(SnapshotStore(data_dir), snapshot_id):
            return current
    data = load(data_dir, snapshot_id)
    page = render(data)
    target = out or data_dir / "reports" / f"{data.snapshot_id}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(page)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target
