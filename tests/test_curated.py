from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from llmsync.tables.curated import CuratedError, default_path, load_curated, parse_curated
from tests.tables import ARTICLE_PRIMARIES as PRIMARIES


def test_default_file_loads_with_the_article_models() -> None:
    curated = load_curated()
    assert [model.name for model in curated.models] == list(PRIMARIES)
    assert {model.name: model.primary_repo for model in curated.models} == PRIMARIES
    assert curated.aliases == {"llama-7b": "LLaMA"}


def test_article_facts() -> None:
    curated = load_curated()
    falcon = curated.model("Falcon-40B-Instruct")
    assert (falcon.params_b, falcon.base_model, falcon.finetuning_data) == (
        40.0,
        "Falcon-40B",
        "Baize",
    )
    assert falcon.commercial_use == "allowed"
    assert falcon.license is None  # the article names no licence
    vicuna = curated.model("Vicuna")
    assert vicuna.commercial_use == "not_allowed"
    assert vicuna.training_cost is not None and "$300" in vicuna.training_cost
    alpaca = curated.model("Alpaca")
    assert alpaca.base_model == "LLaMA 7B"
    assert alpaca.training_hardware is not None and "A100" in alpaca.training_hardware
    assert curated.model("LLaMA").params_b is None
    assert curated.model("GPT-J").developer == "EleutherAI"
    assert curated.model("Dolly").base_model == "Pythia-12B"
    for model in curated.models:
        assert (model.source_title, model.source_author) == (
            "开源大型语言模型(llm)总结",
            "Varun Mathur",
        )
    # The article's claims, one line each, as listed in the curated file.
    assert {model.name: len(model.claims) for model in curated.models} == {
        "Falcon-40B-Instruct": 5,
        "Vicuna": 5,
        "Alpaca": 1,
        "LLaMA": 4,
        "GPT-J": 5,
        "Dolly": 1,
    }


def test_repos_lists_every_role() -> None:
    repos = load_curated().repos()
    assert repos[0].repo_id == "tiiuae/falcon-40b-instruct"
    assert tuple(repos[0]) == ("Falcon-40B-Instruct", "tiiuae/falcon-40b-instruct", "primary")
    assert ("Vicuna", "lmsys/vicuna-7b-v1.5", "variant") in repos
    assert ("Falcon-40B-Instruct", "tiiuae/falcon-40b", "base") in repos
    assert ("Dolly", "EleutherAI/pythia-12b", "base") in repos
    # LLaMA weights are the LLaMA primary and Alpaca's base: one repo, two rows.
    assert ("Alpaca", "huggyllama/llama-7b", "base") in repos
    assert ("LLaMA", "huggyllama/llama-7b", "primary") in repos


def test_sha256_is_of_the_file_bytes() -> None:
    import hashlib

    expected = hashlib.sha256(default_path().read_bytes()).hexdigest()
    assert load_curated().sha256 == expected
    assert parse_curated(minimal()).sha256 == parse_curated(minimal()).sha256


def test_env_var_overrides_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(minimal()), encoding="utf-8")
    monkeypatch.setenv("LLMSYNC_CURATED", str(path))
    assert default_path() == path
    assert [model.name for model in load_curated().models] == ["GPT-J"]


def minimal(**changes: Any) -> dict[str, Any]:
    model: dict[str, Any] = {
        "name": "GPT-J",
        "source": {"title": "t", "author": "a"},
        "developer": "EleutherAI",
        "params_b": 6,
        "base_model": None,
        "finetuning_data": None,
        "training_cost": None,
        "training_hardware": None,
        "license": None,
        "commercial_use": None,
        "claims": [],
        "repos": [{"repo_id": "EleutherAI/gpt-j-6b", "role": "primary"}],
    }
    model.update(changes)
    return {"models": [model], "aliases": {}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            minimal(repos=[{"repo_id": "EleutherAI/gpt-j-6b", "role": "primery"}]),
            "model 'GPT-J': EleutherAI/gpt-j-6b has unknown role 'primery'",
        ),
        (
            minimal(
                repos=[
                    {"repo_id": "EleutherAI/gpt-j-6b", "role": "primary"},
                    {"repo_id": "EleutherAI/gpt-j-6b", "role": "variant"},
                ]
            ),
            "model 'GPT-J': duplicate repo EleutherAI/gpt-j-6b",
        ),
        (
            minimal(repos=[{"repo_id": "../../etc/passwd", "role": "primary"}]),
            "model 'GPT-J': '../../etc/passwd' is not a valid Hub repo id",
        ),
        (
            {"models": [{k: v for k, v in minimal()["models"][0].items() if k != "developer"}]},
            "model 'GPT-J': missing required field(s) developer",
        ),
        (minimal(licence="mit"), "model 'GPT-J': unknown field(s) licence"),
        (minimal(commercial_use="yes"), "commercial_use 'yes' is not one of"),
        (minimal(params_b="6B"), "params_b must be a positive number"),
        (
            minimal(repos=[{"repo_id": "EleutherAI/gpt-j-6b", "role": "variant"}]),
            "needs exactly one primary repo, found 0",
        ),
        ({**minimal(), "aliases": {"gpt-j": "GPTJ"}}, "alias 'gpt-j' points to unknown model"),
        ({"models": []}, "`models` must be a non-empty list"),
    ],
)
def test_invalid_files_are_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(CuratedError) as error:
        parse_curated(raw)
    assert message in str(error.value)


def test_same_primary_for_two_models_is_refused() -> None:
    raw = minimal()
    twin = dict(raw["models"][0], name="GPT-J twin")
    raw["models"].append(twin)
    with pytest.raises(CuratedError, match="duplicate repo EleutherAI/gpt-j-6b: primary of both"):
        parse_curated(raw)


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("models: [\n", encoding="utf-8")
    with pytest.raises(CuratedError, match=r"broken\.yaml: not valid YAML"):
        load_curated(path)
    path.write_text(yaml.safe_dump(minimal(role="x")), encoding="utf-8")
    with pytest.raises(CuratedError, match=r"broken\.yaml: model 'GPT-J': unknown field\(s\) role"):
        load_curated(path)
    with pytest.raises(CuratedError, match="cannot read curated file"):
        load_curated(tmp_path / "missing.yaml")
