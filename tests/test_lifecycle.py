"""The `leaderboards` table: each leaderboard's exports (read off the real
history) and its life upstream (the reviewed facts file)."""

from __future__ import annotations

import datetime as dt

import pytest

from llmsync.tables.lifecycle import (
    LeaderboardFactsError,
    default_facts_bytes,
    leaderboards_table,
    load_leaderboard_facts,
    parse_leaderboard_facts,
)
from llmsync.tables.schemas import LEADERBOARDS_TABLE
from tests.recorded import recorded_scores


def test_v1_is_archived_and_v2_retired_with_their_last_exports() -> None:
    _, revisions = recorded_scores()
    table = leaderboards_table(load_leaderboard_facts(), revisions=revisions)
    assert table.schema.equals(LEADERBOARDS_TABLE.schema)
    rows = {row["leaderboard"]: row for row in table.to_pylist()}
    summary = {
        name: (
            row["dataset"],
            row["first_export_date"],
            row["last_export_date"],
            row["exports"],
            row["status"],
            row["status_since"],
        )
        for name, row in rows.items()
    }
    assert summary == {
        "open_llm_v1": (
            "open-llm-leaderboard-old/contents",
            dt.date(2023, 5, 23),
            dt.date(2024, 7, 7),
            17,
            "archived",
            "2024-06",
        ),
        "open_llm_v2": (
            "open-llm-leaderboard/contents",
            dt.date(2024, 7, 13),
            dt.date(2025, 3, 21),
            190,
            "retired",
            "2025-03",
        ),
        # OpenEvals/leaderboard-data: one commit, rebuilt from its 2026-03-25 values.
        "openevals": (
            "OpenEvals/leaderboard-data",
            dt.date(2026, 3, 25),
            dt.date(2026, 3, 25),
            1,
            "live",
            # A dump shows it live on 2026-03-25; no source says when it began.
            None,
        ),
    }
    # Every status names its sources; where no source gives the day, only the
    # month a source gives is said, and no month where none gives one.
    for name, row in rows.items():
        assert row["status_sources"]
        if row["status_since"] is not None:
            assert any("no source gives the day" in s.lower() for s in row["status_sources"])
        else:
            assert name == "openevals"
        assert (row["newest_export_date"], row["newest_export_status"]) == (
            row["last_export_date"],
            "ok",
        )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("status: retired", "status: stale"), "status 'stale' is unknown"),
        (('status_since: "2025-03"', 'status_since: "March 2025"'), "YYYY-MM-DD, YYYY-MM or null"),
        (("  open_llm_v2:", "  open_llm_v3:"), "must name exactly"),
    ],
)
def test_a_bad_facts_file_is_refused(edit: tuple[str, str], message: str) -> None:
    text = default_facts_bytes().decode()
    assert edit[0] in text
    with pytest.raises(LeaderboardFactsError, match=message):
        parse_leaderboard_facts(text.replace(edit[0], edit[1]).encode())
