"""The README a newcomer reads first: short, its two commands the ones CI
runs, its links alive, and its recipes printing exactly what it shows on the
data the quickstart makes (one sync of the whole replay hub: the session's
clean sync is that sync, as `bash scripts/dev.sh demo` runs it)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import CleanSync
from tests.readme_recipes import README, ROOT, documents, run_recipes

MAX_LINES = 150


def test_the_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines (at most {MAX_LINES})"


def test_the_readme_shows_the_two_commands_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    assert "\nbash scripts/dev.sh demo " in text
    assert "\nbash scripts/dev.sh test " in text
    assert "scripts/dev.sh test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_relative_link_of_the_documents_names_a_file() -> None:
    for path in documents():
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (path.parent / target).exists(), f"{path.name}: broken link {target}"


def test_readme_recipes_on_the_quickstart_data(clean_sync: CleanSync, tmp_path: Path) -> None:
    for name, (printed, shown) in run_recipes("quickstart", clean_sync.data_dir, tmp_path).items():
        assert printed == shown, f"README recipe {name} prints:\n{printed}"
