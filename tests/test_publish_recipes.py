"""docs/publishing.md's reader recipes, run as written against a published
copy: moto's S3 server and the replay hub, both holding the shared clean
sync's snapshot. Each prints exactly the block the page shows under it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmsync.publish.command import publish_to_targets
from llmsync.replay.server import ReplayHub
from tests.conftest import CleanSync
from tests.readme_recipes import readme_recipes
from tests.s3_server import running_s3_server

PAGE = Path(__file__).parent.parent / "docs" / "publishing.md"
_SEPARATOR = "=====recipe {}====="
TOKEN = "hf_llmsyncRecipeToken0123456789abcd"


@pytest.fixture(scope="module")
def published(
    clean_sync: CleanSync, replay_hub_factory: Callable[..., ReplayHub]
) -> Iterator[dict[str, str]]:
    """The environment a reader has: AWS variables for the S3 server, HF_ENDPOINT
    and HF_TOKEN for the replay hub, both holding the snapshot."""
    hub = replay_hub_factory()
    with running_s3_server() as s3, pytest.MonkeyPatch.context() as patch:
        s3.create_bucket("llmsync-demo")
        env = {**s3.env, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN}
        for key, value in env.items():
            patch.setenv(key, value)
        publish_to_targets(
            clean_sync.data_dir,
            ["s3://llmsync-demo/nightly", "hf://datasets/llmsync/demo"],
            say=lambda line: None,
        )
        yield env


def test_the_page_s_recipes_print_what_it_shows(published: dict[str, str], tmp_path: Path) -> None:
    recipes = readme_recipes(PAGE.read_text(encoding="utf-8"))
    assert [recipe.name for recipe in recipes] == [
        "s3-pyarrow",
        "s3-polars",
        "hf-pandas",
        "hf-duckdb",
    ]
    # One child process for all of them (imports are the cost): what a user
    # runs, with huggingface_hub reading HF_ENDPOINT as it starts.
    script = "\n".join(
        f"print({_SEPARATOR.format(recipe.name)!r})\n" + recipe.code for recipe in recipes
    )
    (tmp_path / "recipes.py").write_text(script, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "recipes.py"],
        cwd=tmp_path,
        env={**os.environ, **published},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    outputs = run.stdout.split(_SEPARATOR.format("")[:-5])
    printed = {}
    for chunk in outputs[1:]:
        name, _, text = chunk.partition("=====\n")
        printed[name] = "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
    for recipe in recipes:
        shown = "\n".join(line.rstrip() for line in recipe.printed.strip("\n").splitlines())
        assert printed[recipe.name] == shown, f"{recipe.name} prints:\n{printed[recipe.name]}"
    for text in (run.stdout, run.stderr):
        assert TOKEN not in text
