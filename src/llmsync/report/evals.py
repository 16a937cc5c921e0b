"""View 5: eval results after the leaderboard's retirement, when the snapshot
holds an `eval_results` table (repo_id, dataset_id, task_id, value, verified,
valid_from, valid_to): per benchmark, the top models and the article's."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyarrow.compute as pc

from llmsync.report import svg
from llmsync.report.charts import Bar, hbars, html_table
from llmsync.report.context import View, article_models
from llmsync.report.data import EVAL_RESULTS, ReportData

COLUMNS = ("repo_id", "dataset_id", "task_id", "value", "verified", "valid_from", "valid_to")
TOP = 10
VERIFIED, COMMUNITY = "#0072B2", "#E69F00"


def _badge(verified: object) -> str:
    return "verified" if verified else "community"


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
            f"{r['repo_id']} · {r['task_id']}: {r['value']} ({_badge(r['verified'])}), "
            f"since {r['valid_from']}",
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
                _badge(r["verified"]),
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
    current = table.filter(pc.is_null(table.column("valid_to"))).select(list(COLUMNS)).to_pylist()
    if not current:
        return View(key, heading, skipped=f"{EVAL_RESULTS} holds no current result")
    article = {m.repo_id: m.name for m in article_models(data)}
    by_dataset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in current:
        by_dataset[str(row["dataset_id"])].append(row)
    parts = [_benchmark(d, rows, article, data) for d, rows in sorted(by_dataset.items())]
    legend = svg.legend_figure(
        [
            svg.LegendItem("verified", VERIFIED, shape="bar"),
            svg.LegendItem("community", COMMUNITY, shape="bar"),
        ],
        width=1200,
        label="legend of the eval results",
    )
    return View(key, heading, body=legend + "".join(parts))
