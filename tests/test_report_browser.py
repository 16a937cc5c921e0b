"""The report in a real browser: headless Chromium (Debian's `chromium`,
installed by `scripts/dev.sh test`) opens it from file:// with the network off.

The data directory holds two syncs of the real history, the October 2023
partial captures served: a snapshot as of 2024-11-10, then one of the whole
history, so that every view has marks (changes since the previous snapshot,
exports set aside). The screenshot is kept in artifacts/report.png.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from llmsync.pipeline import SyncConfig, run_sync
from llmsync.report.page import write_report
from tests.tables import ARTICLE_PRIMARIES

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
VIEWS_WITH_MARKS = ("history", "population", "distributions", "changes", "evals", "health")

_VIEWS_JS = """JSON.stringify({
  views: Array.from(document.querySelectorAll('section[data-view]')).map(s => ({
    view: s.dataset.view,
    svgs: s.querySelectorAll('svg').length,
    marks: s.querySelectorAll('svg .mark').length,
    drawn: Array.from(s.querySelectorAll('svg .mark')).filter(m => {
      const box = m.getBBox(); return box.width > 0 || box.height > 0; }).length,
    skipped: s.querySelector('.skipped') ? s.querySelector('.skipped').textContent : null,
  })),
  text: document.body.innerText,
  scrollWidth: document.documentElement.scrollWidth,
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
    # Nothing is cut off in a 1280-pixel-wide window.
    assert page["scrollWidth"] <= 1280
    browser.screenshot(ARTIFACTS / "report.png")
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
