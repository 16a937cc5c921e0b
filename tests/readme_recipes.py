"""The recipes of README.md and of the pages in docs/, and what they print.

A recipe is marked by an HTML comment before its code block:

    <!-- recipe: NAME data: STATE -->            a recipe run on its own
    <!-- recipe: NAME data: STATE after: PREV --> one that continues recipe PREV

and the next fenced block after the code is a ```text block: what the recipe
prints on the demo data of that STATE (each state is a set of syncs the README
or page names; `STATES` says which test builds it). A test runs every recipe
of a state against that state's data, in document order (README.md, then the
docs pages by name), in the folder layout the text describes, and compares
the printed text with the block exactly, after one normalisation: trailing
spaces of each line and blank lines at either end are dropped (an editor may
trim them).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"


def documents() -> list[Path]:
    """Every document whose recipes are tested: the README, then each docs page."""
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


# Each state of the demo data that recipes are shown on: the folder the
# recipes read it from, and the test (with the fixture that builds it) that
# runs them.
STATES = {
    # What `bash scripts/dev.sh demo` makes on a fresh clone: one sync of the
    # whole replay hub (the session's clean sync is that sync).
    "quickstart": ("data", "tests/test_readme.py::test_readme_recipes_on_the_quickstart_data"),
    "two-syncs": ("two-nights", "tests/test_pipeline.py::test_readme_recipes_on_two_syncs"),
    "eval-nights": ("evals", "tests/test_eval_sync.py::test_readme_recipes_on_three_nights"),
    # A snapshot published to S3 and to a Hub dataset: read remotely, no local folder.
    "published": ("", "tests/test_publish_recipes.py::test_the_page_s_recipes_print_what_it_shows"),
}

# How the README says to run a SQL recipe: DuckDB's Python module, which the
# locked set installs (its command-line program is not part of the project).
SQL_COMMAND = (
    ".venv/bin/python -c 'import duckdb; "
    """duckdb.sql(open("RECIPE.sql").read()).show(max_width=200)'"""
)

_MARKER = re.compile(
    r"<!-- recipe: (?P<name>[\w-]+) data: (?P<state>[\w-]+)(?: after: (?P<after>[\w-]+))? -->\n"
    r"```(?P<language>\w+)\n(?P<code>.*?)```\n"
    r"(?:(?!```).)*?"
    r"```(?P<output_language>\w*)\n(?P<printed>.*?)```",
    flags=re.DOTALL,
)


@dataclass(frozen=True)
class Recipe:
    name: str
    state: str
    after: str | None
    language: str
    code: str
    printed: str
    document: str = "README.md"


def readme_recipes(text: str | None = None, *, document: str = "README.md") -> list[Recipe]:
    """Every marked recipe of `text` (default: of every document), in order."""
    if text is None:
        return [
            recipe
            for path in documents()
            for recipe in readme_recipes(
                path.read_text(encoding="utf-8"), document=str(path.relative_to(ROOT))
            )
        ]
    recipes = []
    for match in _MARKER.finditer(text):
        assert match["output_language"] == "text", f"{match['name']}: no ```text block after it"
        recipes.append(
            Recipe(
                name=match["name"],
                state=match["state"],
                after=match["after"],
                language=match["language"],
                code=match["code"],
                printed=match["printed"],
                document=document,
            )
        )
    return recipes


def normalised(printed: str) -> str:
    return "\n".join(line.rstrip() for line in printed.splitlines()).strip("\n")


@contextlib.contextmanager
def _demo_folder(tmp_path: Path, state: str, data_dir: Path) -> Iterator[None]:
    """The working directory a reader runs the recipes in: the state's folder
    (`data`, ...) beside it, here a link to the fixture's data directory."""
    folder, _ = STATES[state]
    (tmp_path / folder).symlink_to(data_dir, target_is_directory=True)
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield
    finally:
        os.chdir(before)


def _run(recipe: Recipe, scope: dict[str, Any]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if recipe.language == "python":
            exec(compile(recipe.code, f"{recipe.document} recipe {recipe.name}", "exec"), scope)
        else:
            assert recipe.language == "sql", recipe.name
            import duckdb

            # As SQL_COMMAND runs it.
            duckdb.sql(recipe.code).show(max_width=200)
    return out.getvalue()


def run_recipes(state: str, data_dir: Path, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Run the state's recipes in document order (each in a fresh namespace, or
    in the one of the recipe it continues); per recipe, what it printed and
    what the document shows, both normalised."""
    recipes = [r for r in readme_recipes() if r.state == state]
    assert recipes, f"no recipe on the {state} data"
    scopes: dict[str, dict[str, Any]] = {}
    found = {}
    with _demo_folder(tmp_path, state, data_dir):
        for recipe in recipes:
            scope = scopes[recipe.after] if recipe.after else {}
            scopes[recipe.name] = scope
            found[recipe.name] = (normalised(_run(recipe, scope)), normalised(recipe.printed))
    return found
