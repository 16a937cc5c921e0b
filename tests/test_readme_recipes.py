"""Every recipe the README and the docs pages show is marked, shows what it
prints, and is run by a test on the data the text names (tests/readme_recipes.py;
the runs themselves are beside the fixtures that build that data). Reads the
documents only."""

from __future__ import annotations

import re

from tests.readme_recipes import ROOT, SQL_COMMAND, STATES, Recipe, documents, readme_recipes


def _sections_with_recipes(text: str) -> list[str]:
    """A document's sections that read the synced data: each recipe is in one."""
    sections = re.split(r"^(?=## )", text, flags=re.MULTILINE)
    return [s for s in sections if "/processed" in s]


def test_every_python_and_sql_block_that_reads_the_data_is_a_marked_recipe() -> None:
    recipes = readme_recipes()
    marked = {recipe.code for recipe in recipes}
    for path in documents():
        for section in _sections_with_recipes(path.read_text(encoding="utf-8")):
            for code in re.findall(r"```(?:python|sql)\n(.*?)```", section, flags=re.DOTALL):
                assert code in marked, f"{path.name}: code block without a recipe marker:\n{code}"
    names = [recipe.name for recipe in recipes]
    assert len(names) == len(set(names)), names
    # Three in the README, on the quickstart's data; the others in docs pages.
    assert [r.name for r in recipes if r.document == "README.md"] == [
        "leaderboard-as-of",
        "article-models",
        "falcon-mmlu",
    ]
    assert len(recipes) == 14


def test_each_recipe_runs_on_a_state_a_test_builds() -> None:
    by_name: dict[str, Recipe] = {}
    for recipe in readme_recipes():
        assert recipe.state in STATES, recipe
        # A continued recipe continues an earlier one on the same data.
        if recipe.after is not None:
            assert by_name[recipe.after].state == recipe.state, recipe
        by_name[recipe.name] = recipe
        folder, test = STATES[recipe.state]
        module, function = test.split("::")
        assert f"def {function}(" in (ROOT / module).read_text(encoding="utf-8")
        # A recipe of its own reads the folder the state's syncs wrote.
        if recipe.after is None and folder:
            assert f"{folder}/processed" in recipe.code, recipe.name


def test_each_document_says_how_to_run_its_sql_recipes() -> None:
    for recipe in readme_recipes():
        if recipe.language == "sql":
            text = (ROOT / recipe.document).read_text(encoding="utf-8")
            assert SQL_COMMAND.replace("RECIPE", recipe.name) in text, recipe.name


def test_a_recipe_without_its_printed_output_is_refused() -> None:
    text = "<!-- recipe: x data: two-syncs -->\n```python\nprint(1)\n```\n\n```bash\nls\n```\n"
    try:
        readme_recipes(text)
    except AssertionError as exc:
        assert "no ```text block" in str(exc)
    else:
        raise AssertionError("a recipe with no ```text block was read")
