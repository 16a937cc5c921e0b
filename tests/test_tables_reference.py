"""docs/tables.md is generated from the table schemas: it must be current."""

from __future__ import annotations

from pathlib import Path

from llmsync.tables.reference import main, render
from llmsync.tables.schemas import TABLES

PAGE = Path(__file__).parent.parent / "docs" / "tables.md"


def test_the_tables_reference_is_current() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/tables.md is stale: run `bash scripts/dev.sh docs`"
    )


def test_the_reference_lists_every_column_of_every_table() -> None:
    text = render()
    for name, spec in TABLES.items():
        section = text.split(f"## `{name}` ")[1].split("\n## ")[0]
        assert [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")] == (
            spec.columns
        )
    assert "| `valid_to` | date | yes |" in text
    assert "| `created_at` | timestamp (UTC) | yes |" in text


def test_the_command_writes_the_page(tmp_path: Path) -> None:
    assert main([str(tmp_path / "tables.md")]) == 0
    assert (tmp_path / "tables.md").read_text(encoding="utf-8") == render()
    assert main([]) == 2
