"""What `llmsync sync` prints when it ends: what happened, in words a newcomer
reads, then where the snapshot and its report are and what to run next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmsync.store.snapshots import default_data_dir
from llmsync.tables.schemas import TABLES

# The fetch's counters, as the summary says them (an unknown one is printed
# with its underscores as spaces, never dropped).
_FETCH_WORDS = {
    "benchmark_requests": "{} requests for the official benchmarks",
    "joined_from_benchmark_leaderboards": "{} models joined from the benchmarks' leaderboards",
    "kind": "{} fetch",
    "listing_pages": "{} listing pages",
    "listing_bytes": "{} listing bytes",
    "reused": "{} models unchanged since the last sync",
}


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _fetch_line(fetch: dict[str, Any]) -> str:
    words = []
    for key, value in fetch.items():
        template = _FETCH_WORDS.get(key, "{} " + key.replace("_", " "))
        words.append(template.format(_count(value)))
    return "fetch: " + "; ".join(words)


def _table_order(name: str) -> tuple[int, str]:
    """The schemas' order (catalog first), whichever run wrote the counts."""
    names = list(TABLES)
    return (names.index(name) if name in names else len(names), name)


def gaps_line(gaps: list[str]) -> str:
    """The replay hub's recording gaps as one counted line: the list itself is
    the same on every run, and `llmsync snapshots --detail` prints it."""
    models = "1 model" if len(gaps) == 1 else f"{len(gaps)} models"
    return (
        f"gaps in the replay hub's recordings: {models} with a file it has no copy of "
        "(not facts about the Hub; `llmsync snapshots --detail` lists them)"
    )


def print_summary(report: dict[str, Any], *, seconds: float, data_dir: Path | None = None) -> None:
    """The run's summary on stdout; with `data_dir`, the snapshot's and the
    report's paths and the next commands end it."""
    print(f"status: {report['status']}")
    print(f"snapshot: {report['snapshot']}")
    if report.get("partial"):
        print("partial: yes (some models could not be fetched; see failures)")
    for line in report.get("suspect_newest") or []:
        print(f"newest export not applied: {line}")
    counts = report.get("row_counts") or {}
    if counts:
        ordered = sorted(counts, key=_table_order)
        print("rows: " + ", ".join(f"{name} {counts[name]:,}" for name in ordered))
    if report.get("status") != "unchanged":
        how = "extending the previous snapshot" if report.get("incremental") else "building anew"
        print(f"leaderboard revisions parsed: {report.get('parsed_revisions', 0):,} ({how})")
    changes = report.get("change_counts") or {}
    if changes:
        print("changes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(changes.items())))
        for example in report.get("change_examples", [])[:5]:
            print(f"  {example}")
    sections = (
        ("not_applied", "leaderboard revisions not applied"),
        ("failures", "models the Hub did not fully give"),
        ("conflicts", "curated vs Hub conflicts"),
        ("unmatched_aliases", "unmatched aliases"),
    )
    for key, title in sections:
        items = report.get(key) or []
        if items:
            print(f"{title}:")
            for item in items:
                print(f"  {item}")
    if gaps := report.get("recording_gaps") or []:
        print(gaps_line(gaps))
    requests = report.get("requests") or {}
    if requests:
        print(
            "hub requests: "
            + ", ".join(f"{bucket} {n:,}" for bucket, n in requests.items())
            + f"; 429s {report.get('throttled', 0)}"
            + f"; waited for the rate limit {report.get('rate_limit_wait_seconds', 0.0):.1f}s"
        )
    if fetch := report.get("fetch") or {}:
        print(_fetch_line(fetch))
    print(f"wall time: {seconds:.1f}s")
    if data_dir is not None and report.get("snapshot"):
        _print_where(report, data_dir=data_dir)


def _print_where(report: dict[str, Any], *, data_dir: Path) -> None:
    snapshot = report["snapshot"]
    folder = data_dir.resolve()
    print()
    print(f"data:   {folder / 'processed' / f'snapshot={snapshot}'}")
    page = report.get("report")
    if page:
        print(f"report: {Path(page).resolve()}")
    else:
        print(f"report: none written (`llmsync report` writes {folder / 'reports'}/<id>.html)")
    # The default folder needs no flag; any other is named, so the lines paste.
    where = "" if folder == default_data_dir().resolve() else f" --data-dir {folder}"
    print(f"next:   llmsync verify{where}    # rebuild the snapshot from data/raw, offline")
    print(f"        llmsync snapshots --detail{where}    # every run, and what it could not read")


def print_run_detail(run: dict[str, Any], manifest: dict[str, Any]) -> None:
    """What a run could not read: its failures, and the replay hub's gaps (the
    sync's summary only counts them). A run that published says what its
    snapshot's manifest holds; an unchanged one published nothing to say it of."""
    said = manifest if run.get("status") == "published" else {}
    for title, key in (
        ("models the Hub did not fully give", "failures"),
        ("gaps in the replay hub's recordings (not facts about the Hub)", "recording_gaps"),
    ):
        items = run.get(key) or said.get(key) or []
        if items:
            print(f"{'':<24} {title}:")
            for item in items:
                print(f"{'':<26} {item}")
