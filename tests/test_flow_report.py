"""The flow's report step never fails a published run: any exception writing
the report is logged and named in the artifact's line, and the run completes."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_a_report_that_raises_leaves_the_run_completed(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import llmsync_flows.sync as sync_flow
    from prefect import flow

    def broken(data_dir: Path, *, snapshot_id: str, keep_current: bool = False) -> Path:
        # What `report/evals.py` raised on a rejected file's null value (issue 19).
        raise TypeError("float() argument must be a string or a real number, not 'NoneType'")

    monkeypatch.setattr(sync_flow, "write_report", broken)

    @flow(name="report-step")
    def report_step() -> tuple[str | None, str]:
        return sync_flow._write_report(tmp_path, "20260720T000000Z")

    state = report_step(return_state=True)
    assert state.is_completed()
    path, line = state.result()
    assert path is None
    assert line == (
        "- not written: TypeError: float() argument must be a string or a real number,"
        " not 'NoneType'"
    )
