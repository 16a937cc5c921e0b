"""The report in a real browser: headless Chromium (Debian's `chromium`,
installed by `scripts/dev.sh test`) opens it from file:// with the network off.

The data directory holds two syncs of the real history, the October 2023
partial captures served: a snapshot as of 2024-11-10, then one of the whole
history, so that every view has marks (changes since the previous snapshot,
exports set aside). The screenshot is kept in artifacts/report.png.
"""

from __future__ import annotations

import colorsys
import datetime as dt
import importlib.util
import itertools
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow.parquet as pq
import pytest

from llmsync.pipeline import SyncConfig, run_sync
from llmsync.report.page import write_report
from llmsync.store.snapshots import SnapshotStore
from tests.tables import ARTICLE_PRIMARIES

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
VIEWS_WITH_MARKS = ("history", "population", "distributions", "changes", "evals", "health")

_VIEWS_JS = """JSON.stringify({
  views: Array.from(document.querySelectorAll('section[data-view]')).map(s => ({
    view: s.dataset.view,
    svgs: s.querySelectorAll('svg:not(.legend-figure)').length,
    marks: s.querySelectorAll('svg .mark').length,
    drawn: Array.from(s.querySelectorAll('svg .mark')).filter(m => {
      const box = m.getBBox(); return box.width > 0 || box.height > 0; }).length,
    skipped: s.querySelector('.skipped') ? s.querySelector('.skipped').textContent : null,
  })),
  text: document.body.innerText,
  scrollWidth: document.documentElement.scrollWidth,
  spans: Array.from(document.querySelectorAll('[data-from]')).map(m => ({
    chart: m.closest('svg').getAttribute('aria-label'), board: m.dataset.board,
    dates: [m.dataset.from, m.dataset.to] })),
  runs: Array.from(document.querySelectorAll('polyline[data-dates]')).map(m => ({
    chart: m.closest('svg').getAttribute('aria-label'), board: m.dataset.board,
    dates: m.dataset.dates.split(' ') })),
  xMax: Object.fromEntries(Array.from(document.querySelectorAll('svg[data-x-max]')).map(
    s => [s.getAttribute('aria-label'), s.dataset.xMax])),
  legends: Object.fromEntries(Array.from(document.querySelectorAll('section[data-view]')).map(
    s => [s.dataset.view, s.querySelectorAll('.legend').length])),
  clipped: Array.from(document.querySelectorAll('svg.chart text')).filter(t => {
    if (!t.textContent.trim()) return false;
    const b = t.getBoundingClientRect(), s = t.ownerSVGElement.getBoundingClientRect();
    return b.left < s.left - 0.5 || b.right > s.right + 0.5
      || b.top < s.top - 0.5 || b.bottom > s.bottom + 0.5; }).map(t => t.textContent),
  labels: Array.from(document.querySelectorAll(
    'section[data-view=distributions] svg:not(.legend-figure)')).map(
    s => Array.from(s.querySelectorAll('.model-label')).map(t => {
      const b = t.getBBox(); return [t.textContent, b.x, b.y, b.width, b.height]; })),
  colours: Array.from(document.querySelectorAll(
    'section[data-view=history] .legend-figure line')).map(l => l.getAttribute('stroke')),
})"""


def _headless() -> ModuleType:
    spec = importlib.util.spec_from_file_location("headless", ROOT / "scripts" / "headless.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["headless"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report_page(
    tmp_path_factory: pytest.TempPathFactory, replay_hub_factory: Callable[..., Any]
) -> Path:
    data_dir = tmp_path_factory.mktemp("report-history")
    for as_of in (dt.date(2024, 11, 10), None):
        hub = replay_hub_factory(as_of=as_of, serve_partial_captures=True)
        assert run_sync(SyncConfig(data_dir=data_dir, endpoint=hub.url)).status == "published"
    return write_report(data_dir)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    headless = _headless()
    executable = headless.find_chromium()
    if executable is None:
        # CI installs chromium (scripts/dev.sh test): there, its absence is a failure.
        if os.environ.get("CI"):
            pytest.fail("CI has no chromium: scripts/dev.sh test should have installed it")
        pytest.skip(
            "chromium is not installed and could not be (scripts/dev.sh test installs it "
            "with apt-get where it can): the report is not checked in a browser"
        )
    opened = headless.Browser(executable)
    yield opened
    opened.close()


def test_the_report_renders_offline_in_chromium(report_page: Path, browser: Any) -> None:
    import json

    load = browser.open(report_page)
    assert load.errors == []
    # The page itself is the only request: nothing from the network.
    assert load.requests == [report_page.resolve().as_uri()]
    page = json.loads(browser.evaluate(_VIEWS_JS))
    views = {v["view"]: v for v in page["views"]}
    assert list(views) == ["history", "population", "distributions", "changes", "evals", "health"]
    for name in VIEWS_WITH_MARKS:
        assert views[name]["svgs"] >= 1 and views[name]["drawn"] >= 1, views[name]
    # 11 benchmark families, one panel each; the v1 and v2 histograms.
    assert views["history"]["svgs"] == 11
    assert views["distributions"]["svgs"] == 2
    # The Hub's eval results (gemma-4-12B-it and Ternary-Bonsai's real files) are drawn.
    assert views["evals"]["skipped"] is None and views["evals"]["drawn"] >= 1
    for name in ARTICLE_PRIMARIES:
        assert name in page["text"]
    # The three October 2023 partial captures are set aside, and said so.
    assert page["text"].count("(suspect)") >= 3
    assert "2023-10-04: 79 rows (suspect)" in page["text"]
    # The changes since the previous snapshot (as of 2024-11-10) are counted.
    assert "since snapshot" in page["text"]
    # Nothing is cut off in a 1280-pixel-wide window, nor at a figure's edge.
    assert page["scrollWidth"] <= 1280
    assert page["clipped"] == []
    assert re.search(r"since snapshot \d{8}T\d{6}Z", page["text"]), "the id lost its Z"
    _assert_the_report_tells_no_small_lies(page, report_page)
    browser.screenshot(ARTIFACTS / "report.png")
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def _ok_exports(report_page: Path) -> dict[str, list[dt.date]]:
    """Each leaderboard's applied exports, from the snapshot the report drew."""
    snapshot = SnapshotStore(report_page.parent.parent).latest()
    assert snapshot is not None
    found: dict[str, list[dt.date]] = {}
    for row in pq.read_table(snapshot.table_path("revisions")).to_pylist():
        if row["status"] == "ok":
            found.setdefault(row["leaderboard"], []).append(row["date"])
    return {board: sorted(days) for board, days in found.items()}


def _hue(colour: str) -> tuple[float, float]:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, _, saturation = colorsys.rgb_to_hls(r, g, b)
    return hue * 360, saturation


def _assert_the_report_tells_no_small_lies(page: dict[str, Any], report_page: Path) -> None:
    ok = _ok_exports(report_page)
    day = dt.date.fromisoformat
    # No line spans more than 60 days without an export of its leaderboard.
    drawn: dict[str, list[dt.date]] = {}
    lines = [*page["spans"], *page["runs"]]
    assert len(page["spans"]) > 50 and page["runs"], "the history and population lines"
    for mark in lines:
        first, last = day(mark["dates"][0]), day(mark["dates"][-1])
        inside = sorted({first, last, *(d for d in ok[mark["board"]] if first <= d <= last)})
        gaps = [(b - a).days for a, b in itertools.pairwise(inside)]
        assert max(gaps, default=0) <= 60, (mark, gaps)
        drawn.setdefault(mark["chart"], []).append(last)
    # v1's 2023 lines stop: none runs from 2023 into 2024.
    v1 = [m for m in page["spans"] if m["board"] == "open_llm_v1"]
    assert not any(m["dates"][0] < "2023-12-01" < m["dates"][1] for m in v1)
    # No time axis runs more than 31 days past the last point it draws.
    assert set(drawn) <= set(page["xMax"])
    for chart, days in drawn.items():
        assert (day(page["xMax"][chart]) - max(days)).days <= 31, chart
    # One legend per view.
    assert all(count <= 1 for count in page["legends"].values()), page["legends"]
    assert page["legends"]["history"] == page["legends"]["distributions"] == 1
    # The six article models: six hues, no two alike (black aside, which has none).
    colours = page["colours"][:6]
    assert len(set(colours)) == 6, colours
    hues = [_hue(c)[0] for c in colours if _hue(c)[1] > 0.2]
    assert len(hues) == 5, colours
    for a, b in itertools.combinations(hues, 2):
        assert min(abs(a - b), 360 - abs(a - b)) >= 25, (colours, a, b)
    # Every article model drawn in a distribution is named there, no two names
    # overlapping (Falcon's and Vicuna's v2 averages are 0.04 apart).
    for labels in page["labels"]:
        assert labels, "each distribution names its article models"
        for (n1, x1, y1, w1, h1), (n2, x2, y2, w2, h2) in itertools.combinations(labels, 2):
            apart = x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
            assert apart, (n1, n2)
    # Why a model is absent from a distribution is said.
    assert "Alpaca is not drawn on v2: v2 never listed it." in page["text"]
    assert (
        "Falcon-40B-Instruct is not drawn on v1: it is not in the newest export "
        "(2024-07-07); upstream dropped it from v1 with the export of 2024-06-19."
    ) in page["text"]
