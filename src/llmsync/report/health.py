"""View 6: data health: exports set aside, model statuses, partial runs."""

from __future__ import annotations

from collections import Counter

from llmsync.report import svg
from llmsync.report.charts import Bar, hbars, html_table
from llmsync.report.context import View, exports
from llmsync.report.data import EVAL_RESULTS, ReportData
from llmsync.report.evals import unreadable
from llmsync.tables.schemas import MODEL_STATUSES

# Statuses that are the model's state, not a failure of the run (schemas.py).
_TRANSIENT = {"unavailable", "card_unavailable"}


# A gap in the replay hub's recordings: neither the model's state nor the Hub's.
_GAP, _GAP_COLOUR = "not_recorded", "#999999"


def _status_colour(status: str) -> str:
    if status == "ok":
        return "#009E73"
    if status == _GAP:
        return _GAP_COLOUR
    return svg.SUSPECT_COLOUR if status in _TRANSIENT else "#56B4E9"


def _models_part(data: ReportData) -> str:
    models = data.table("models")
    if models is None:
        return "<p>The snapshot has no models table.</p>"
    rows = models.select(["repo_id", "status", "status_detail"]).to_pylist()
    counts = Counter(str(r["status"]) for r in rows)
    statuses = [s for s in MODEL_STATUSES if counts.get(s)] + sorted(
        set(counts) - set(MODEL_STATUSES)
    )
    bars = [
        Bar(s, float(counts[s]), _status_colour(s), f"{s}: {counts[s]:,} models") for s in statuses
    ]
    figure = hbars(
        bars,
        heading="Model statuses",
        dated=f"snapshot {data.created}",
        xlabel="models (rows of the models table)",
        legend=[
            svg.LegendItem("read", "#009E73", shape="bar"),
            svg.LegendItem(
                "the model's state (gated, missing, no card...)", "#56B4E9", shape="bar"
            ),
            svg.LegendItem("the Hub kept failing", svg.SUSPECT_COLOUR, shape="bar"),
            svg.LegendItem("not in the replay's recordings", _GAP_COLOUR, shape="bar"),
        ],
    )
    troubled = sorted(
        (r for r in rows if r["status"] not in ("ok", _GAP)),
        key=lambda r: (r["status"], r["repo_id"]),
    )
    gaps = sorted(r["repo_id"] for r in rows if r["status"] == _GAP)
    table = html_table(
        ["repo", "status", "detail"],
        [[r["repo_id"], r["status"], r["status_detail"]] for r in troubled],
    )
    parts = [figure, table if troubled else "<p>Every model was read.</p>"]
    if gaps:
        # The replay hub lacks these bytes: a gap in its recordings, which says
        # nothing about the model or the Hub; kept apart from the models' states.
        parts.append(
            "<h4>Gaps in the replay hub's recordings (not facts about the Hub)</h4>"
            + html_table(["repo"], [[repo] for repo in gaps])
        )
    return "".join(parts)


def _exports_part(data: ReportData) -> str:
    aside = [e for e in exports(data) if e.status != "ok"]
    if data.table("revisions") is None:
        return "<p>The snapshot has no revisions table.</p>"
    if not aside:
        return "<p>Every leaderboard export read was applied (none suspect or malformed).</p>"
    return html_table(
        ["leaderboard", "export date", "rows", "status", "reason"],
        [[e.leaderboard, e.date, e.rows, e.status, e.reason] for e in aside],
        numeric=(2,),
    )


def _runs_part(data: ReportData) -> str:
    status = data.manifest.get("status", "?")
    lines = [f"<p>This snapshot is <b>{svg.esc(status)}</b>.</p>"]
    partial = [(sid, st) for sid, st in data.snapshot_statuses if st != "complete"]
    if partial:
        lines.append(html_table(["snapshot", "status"], partial))
    if data.troubled_runs:
        lines.append(
            html_table(
                ["run", "status", "partial", "reason"],
                [
                    [
                        r.get("run_id"),
                        r.get("status"),
                        "yes" if r.get("partial") else "no",
                        r.get("reason"),
                    ]
                    for r in data.troubled_runs
                ],
            )
        )
    else:
        lines.append("<p>No run of this data directory was partial or failed.</p>")
    return "".join(lines)


def _evals_part(data: ReportData) -> str:
    table = data.table(EVAL_RESULTS)
    rows = unreadable(table) if table is not None else []
    if not rows:
        return "<p>Every current eval result could be read.</p>"
    rows.sort(key=lambda r: (r["repo_id"], r["filename"], r["raw_item"]))
    return html_table(
        ["repo", "file", "PR", "benchmark", "why it could not be read"],
        [
            [r["repo_id"], r["filename"], r["pull_request"], r["dataset_id"], r["error"]]
            for r in rows
        ],
    )


def health_view(data: ReportData) -> View:
    body = (
        "<h3>Exports set aside</h3>"
        + _exports_part(data)
        + "<h3>Models</h3>"
        + _models_part(data)
        + "<h3>Eval results that could not be read</h3>"
        + _evals_part(data)
        + "<h3>Runs</h3>"
        + _runs_part(data)
    )
    return View("health", "Data health", body=body)
