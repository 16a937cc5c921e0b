from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest

from llmsync.tables.cards import as_string, as_string_list, card_evals, parse_card

CARDS = Path(__file__).parent / "fixtures" / "cards"


def read(name: str) -> bytes:
    return (CARDS / name).read_bytes()


def test_real_dolly_card() -> None:
    data = read("databricks__dolly-v2-12b.md")
    card = parse_card(data)
    assert card.status == "ok"
    assert card.detail is None
    assert card.sha256 == hashlib.sha256(data).hexdigest()
    assert card.sha256 == "5273e428e8b5254a36807cca6278441dbcd9bafcb81176b779e6595f61463e7f"
    assert card.front_matter == {
        "license": "mit",
        "language": ["en"],
        "library_name": "transformers",
        "inference": False,
        "datasets": ["databricks/databricks-dolly-15k"],
    }


def test_real_falcon_and_vicuna_cards() -> None:
    falcon = parse_card(read("tiiuae__falcon-40b-instruct.md")).front_matter
    assert falcon["license"] == "apache-2.0"
    assert falcon["datasets"] == ["tiiuae/falcon-refinedweb"]
    # The vicuna-13b-v1.3 card states its licence only in prose, not in the front matter.
    assert parse_card(read("lmsys__vicuna-13b-v1.3.md")).front_matter == {"inference": False}
    assert parse_card(read("lmsys__vicuna-7b-v1.5.md")).front_matter["license"] == "llama2"


def test_real_llama2_card_with_folded_scalars() -> None:
    front_matter = parse_card(read("NousResearch__Llama-2-7b-chat-hf.md")).front_matter
    assert front_matter["extra_gated_heading"] == "Access Llama 2 on Hugging Face"
    assert front_matter["extra_gated_description"].startswith("This is a form to enable access")
    assert front_matter["tags"] == ["facebook", "meta", "pytorch", "llama", "llama-2"]


def test_plain_markdown_has_no_front_matter() -> None:
    card = parse_card(b"# Just a README\n\nNo metadata here.\n")
    assert (card.status, card.front_matter, card.detail) == ("no_front_matter", {}, None)


def unclosed_cards() -> list[Path]:
    # stanford_alpaca_model_card.md is added by another engineer; test it once it is there.
    candidates = [CARDS / "unclosed_front_matter.md", CARDS / "stanford_alpaca_model_card.md"]
    return [path for path in candidates if path.exists()]


@pytest.mark.parametrize("path", unclosed_cards(), ids=lambda path: path.name)
def test_unclosed_front_matter_is_no_front_matter_with_reason(path: Path) -> None:
    card = parse_card(path.read_bytes())
    assert card.status == "no_front_matter"
    assert card.front_matter == {}
    assert card.detail == "card opens a front matter block with '---' but never closes it"


def test_yaml_syntax_error() -> None:
    card = parse_card(read("yaml_syntax_error.md"))
    assert card.status == "card_parse_error"
    assert card.front_matter == {}
    assert card.detail is not None
    assert card.detail.startswith("front matter is not valid YAML: expected ',' or ']'")


def test_billion_laughs_is_refused_cheaply() -> None:
    # The node cap is what keeps this cheap; the memory bound proves the
    # expansion never happened (time is measured in bench/, not here).
    tracemalloc.start()
    try:
        card = parse_card(read("billion_laughs.md"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    assert card.status == "card_parse_error"
    assert card.detail == "front matter refused: front matter expands to over 200000 YAML nodes"


def test_merge_key_bomb_is_refused() -> None:
    # `<<` merges copy key lists, so doubling merges grow exponentially too.
    lines = ["---", "m0: &m0 {k0: 1, k1: 2}"]
    lines += [f"m{i}: &m{i}\n  <<: [*m{i - 1}, *m{i - 1}]\n  k{i + 1}: {i}" for i in range(1, 40)]
    card = parse_card("\n".join([*lines, "---", ""]).encode())
    assert card.status == "card_parse_error"
    assert card.detail is not None and "expands to over" in card.detail


def test_small_aliases_are_still_read() -> None:
    card = parse_card(b"---\nbase: &b [en, fr]\nlanguage: *b\n---\n")
    assert card.status == "ok"
    assert card.front_matter["language"] == ["en", "fr"]


def test_self_referencing_alias_is_refused() -> None:
    card = parse_card(b"---\nloop: &a [*a]\n---\n")
    assert card.status == "card_parse_error"
    assert card.detail == "front matter refused: front matter refers to itself through an alias"


def test_python_object_tag_never_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    card = parse_card(read("python_object_tag.md"))
    assert not (tmp_path / "PWNED_BY_MODEL_CARD").exists()
    assert card.status == "card_parse_error"
    assert card.front_matter == {}
    assert card.detail is not None
    assert "python/object/apply:os.system" in card.detail


def test_wrong_types_are_read_and_normalised() -> None:
    front_matter = parse_card(read("wrong_types.md")).front_matter
    assert as_string(front_matter["license"]) == "apache-2.0"
    assert as_string_list(front_matter["tags"]) == ["text-generation"]
    assert as_string_list(front_matter["language"]) == ["en"]
    assert as_string_list(front_matter["datasets"]) == ["tatsu-lab/alpaca"]
    assert as_string(front_matter["base_model"]) == "huggyllama/llama-7b"
    assert as_string({"not": "a string"}) is None
    assert as_string_list(7) == []


def test_malformed_model_index_keeps_what_it_can() -> None:
    evals = card_evals(parse_card(read("wrong_types.md")).front_matter)
    assert [(row["metric_type"], row["metric_value"]) for row in evals] == [
        ("acc_norm", 51.2),
        ("acc", None),
        ("f1", None),
    ]
    assert evals[0]["dataset_config"] == "2023"
    assert evals[0]["task_name"] is None
    assert evals[0]["model_name"] == "wrong-types"


def test_model_index_from_zephyr_card_data() -> None:
    import json

    body = json.loads(
        (
            CARDS.parent / "api" / "api_models__HuggingFaceH4__zephyr-7b-beta__14-Mar-2024.json"
        ).read_bytes()
    )
    evals = card_evals(body["cardData"])
    arc = evals[0]
    assert arc == {
        "model_name": "zephyr-7b-beta",
        "task_type": "text-generation",
        "task_name": "Text Generation",
        "dataset_type": "ai2_arc",
        "dataset_name": "AI2 Reasoning Challenge (25-Shot)",
        "dataset_config": "ARC-Challenge",
        "dataset_split": "test",
        "metric_type": "acc_norm",
        "metric_name": "normalized accuracy",
        "metric_value": 62.03071672354948,
        "source_name": "Open LLM Leaderboard",
        "source_url": "https://huggingface.co/spaces/HuggingFaceH4/open_llm_leaderboard?query=HuggingFaceH4/zephyr-7b-beta",
    }
    gsm8k = next(row for row in evals if row["dataset_type"] == "gsm8k")
    assert gsm8k["metric_value"] == 12.736921910538287


def test_non_utf8_bytes_are_replaced_and_recorded() -> None:
    card = parse_card(b"---\nlicense: mit\nauthor: caf\xe9\n---\n")
    assert card.status == "ok"
    assert card.front_matter == {"license": "mit", "author": "caf\ufffd"}
    assert card.detail == "card is not valid UTF-8; undecodable bytes were replaced"


def test_nul_bytes_are_dropped_and_recorded() -> None:
    card = parse_card(b"---\nlicense: mit\x00\nlanguage: en\n---\n\x00body")
    assert card.status == "ok"
    assert card.front_matter == {"license": "mit", "language": "en"}
    assert card.detail == "NUL bytes removed from the front matter"


def test_card_over_the_cap_is_not_parsed() -> None:
    data = b"---\nlicense: mit\n---\n" + b"x" * 2_000_000
    card = parse_card(data)
    assert card.status == "card_too_large"
    assert card.front_matter == {}
    assert card.sha256 == hashlib.sha256(data).hexdigest()
    assert card.detail == (
        "card is 2000021 bytes, over the 1000000-byte cap; its fields were skipped"
    )
    assert parse_card(read("databricks__dolly-v2-12b.md"), max_bytes=1000).status == (
        "card_too_large"
    )


def test_front_matter_that_is_not_a_mapping() -> None:
    card = parse_card(b"---\n- just\n- a list\n---\n")
    assert card.status == "card_parse_error"
    assert card.detail == "front matter is a YAML list, not a mapping"


def test_empty_front_matter_and_bom() -> None:
    assert parse_card(b"---\n---\n# x").front_matter == {}
    assert parse_card(b"---\n---\n# x").status == "ok"
    assert parse_card("\ufeff---\nlicense: mit\n---\n".encode()).front_matter == {"license": "mit"}


def test_deep_nesting_is_a_parse_error() -> None:
    card = parse_card(b"---\nx: " + b"[" * 5000 + b"]" * 5000 + b"\n---\n")
    assert card.status == "card_parse_error"
