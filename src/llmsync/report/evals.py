"""View 5: eval results after the leaderboard's retirement, when the snapshot
holds an `eval_results` table (repo_id, dataset_id, task_id, value, verified,
valid_from, valid_to): per benchmark, the top models and the article's."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pyarrow.compute as pc

from llmsync.report import svg
from llmsync.report.charts import Bar, hbars, html_table
from llmsync.report.context import View, article_models
from llmsync.report.data import EVAL_RESULTS, ReportData

COLUMNS = ("repo_id", "dataset_id", "task_id", "value", "verified", "valid_from", "valid_to")
# Read when the table has them (older snapshots may not): rows with `error`
# are counted and listed (data health), never drawn as values.
OPTIONAL = ("pull_request", "error", "filename")
TOP = 10
VERIFIED, COMMUNITY = "#0072B2", "#E69F00"


def _badge(row: dict[str, Any]) -> str:
    badge = "verified" if row["verified"] else "community"
    pull_request = row.get("pull_request")
    # Results served from an open PR: the Hub serves only the open ones.
    return badge if pull_request is None else f"{badge}, PR #{pull_request}, open"


def unreadable(table: Any) -> list[dict[str, Any]]:
    """The current rows of `eval_results` that carry an `error` (none before it had one)."""
    if "error" not in table.column_names:
        return []
    current = table.filter(pc.is_null(table.column("valid_to")))
    return [r for r in current.to_pylist() if r["error"] is not None]


def _benchmark(
    dataset: str, rows: list[dict[str, Any]], article: dict[str, str], data: ReportData
) -> str:
    rows.sort(key=lambda r: (-float(r["value"]), str(r["repo_id"])))
    shown = rows[:TOP] + [r for r in rows[TOP:] if r["repo_id"] in article]
    bars = [
        Bar(
            f"{article.get(r['repo_id'], '')} {r['repo_id']}".strip()[:48],
            float(r["value"]),
            VERIFIED if r["verified"] else COMMUNITY,
            f"{r['repo_id']} · {r['task_id']}: {r['value']} ({_badge(r)}), since {r['valid_from']}",
        )
        for r in shown
    ]
    figure = hbars(
        bars,
        heading=f"{dataset}: top {TOP} and the article's models",
        dated=f"snapshot {data.created}",
        xlabel="value (as the result reports it)",
        width=1200,
    )
    table = html_table(
        ["repo", "article model", "task", "value", "badge", "valid from"],
        [
            [
                r["repo_id"],
                article.get(r["repo_id"], ""),
                r["task_id"],
                r["value"],
                _badge(r),
                r["valid_from"],
            ]
            for r in shown
        ],
        numeric=(3,),
    )
    return figure + table


def evals_view(data: ReportData) -> View:
    key, heading = "evals", "Eval results after the retirement"
    table = data.table(EVAL_RESULTS)
    if table is None:
        return View(key, heading, skipped=f"the snapshot has no {EVAL_RESULTS} table")
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        return View(key, heading, skipped=f"{EVAL_RESULTS} lacks columns: {', '.join(missing)}")
    names = [*COLUMNS, *(c for c in OPTIONAL if c in table.column_names)]
    current = table.filter(pc.is_null(table.column("valid_to"))).select(names).to_pylist()
    # Error rows are counted here and listed under Data health (`unreadable`), never drawn.
    values = [r for r in current if r.get("error") is None and r["value"] is not None]
    errors = Counter(str(r["dataset_id"] or "(no dataset)") for r in unreadable(table))
    if not values:
        return View(key, heading, skipped=f"{EVAL_RESULTS} holds no current result")
    article = {m.repo_id: m.name for m in article_models(data)}
    by_dataset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in values:
        by_dataset[str(row["dataset_id"])].append(row)
    parts = [_benchmark(d, rows, article, data) for d, rows in sorted(by_dataset.items())]
    if errors:
        parts.append(
            "<h3>Results that could not be read</h3>"
            + html_table(
                ["benchmark", "unreadable results"],
                [[d, n] for d, n in sorted(errors.items())],
                numeric=(1,),
            )
            + "<p>Listed with their reasons under Data health.</p>"
        )
    legend = svg.legend_figure(
        [
            svg.LegendItem("verified", VERIFIED, shape="bar"),
            svg.LegendItem("community", COMMUNITY, shape="bar"),
        ],
        width=1200,
        label="legend of the eval results",
    )
    return View(key, heading, body=legend + "".join(parts))
