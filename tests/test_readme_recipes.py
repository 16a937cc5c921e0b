"""Every recipe the README shows is marked, shows what it prints, and is run
by a test on the data the README names (tests/readme_recipes.py; the runs
themselves are beside the fixtures that build that data). Reads README.md only."""

from __future__ import annotations

import re
from pathlib import Path

from tests.readme_recipes import README, SQL_COMMAND, STATES, Recipe, readme_recipes

ROOT = Path(__file__).parent.parent


def _sections_with_recipes(text: str) -> list[str]:
    """The README's sections that read the synced data: each recipe is in one."""
    sections = re.split(r"^(?=## )", text, flags=re.MULTILINE)
    return [s for s in sections if "data/processed" in s or "evals/processed" in s]


def test_every_python_and_sql_block_that_reads_the_data_is_a_marked_recipe() -> None:
    text = README.read_text(encoding="utf-8")
    recipes = readme_recipes(text)
    marked = {recipe.code for recipe in recipes}
    for section in _sections_with_recipes(text):
        for code in re.findall(r"```(?:python|sql)\n(.*?)```", section, flags=re.DOTALL):
            assert code in marked, f"README code block without a recipe marker:\n{code}"
    names = [recipe.name for recipe in recipes]
    assert len(names) == len(set(names)), names
    assert len(recipes) == 7


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
        if recipe.after is None:
            assert f"{folder}/processed" in recipe.code, recipe.name


def test_the_readme_says_how_to_run_each_sql_recipe() -> None:
    text = README.read_text(encoding="utf-8")
    for recipe in readme_recipes(text):
        if recipe.language == "sql":
            assert SQL_COMMAND.replace("RECIPE", recipe.name) in text, recipe.name


def test_a_recipe_without_its_printed_output_is_refused() -> None:
    text = "<!-- recipe: x data: two-syncs -->\n```python\nprint(1)\n```\n\n```bash\nls\n```\n"
    try:
        readme_recipes(text)
    except AssertionError as exc:
        assert "no ```text block" in str(exc)
    else:
        raise AssertionError("a recipe with no ```text block was read")
