from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from llmsync.tables.models import model_record, models_table
from llmsync.tables.schemas import MODELS

FIXTURES = Path(__file__).parent / "fixtures"
ZEPHYR_2024 = "api_models__HuggingFaceH4__zephyr-7b-beta__14-Mar-2024.json"
ZEPHYR_2025 = "api_models__HuggingFaceH4__zephyr-7b-beta__21-Mar-2025.json"
LLAMA_31 = "api_models__meta-llama__Llama-3.1-8B-Instruct__21-Mar-2025.json"
LLAMA_31_PROJECTION = (
    "api_models__meta-llama__Llama-3.1-8B-Instruct"
    "__expand_inferenceProviderMapping__17-Feb-2025.json"
)


def api(name: str) -> bytes:
    return (FIXTURES / "api" / name).read_bytes()


def card(name: str) -> bytes:
    return (FIXTURES / "cards" / name).read_bytes()


def without_card_data(name: str) -> bytes:
    """A real body with `cardData` dropped, to reach the tag fallbacks."""
    body = json.loads(api(name))
    del body["cardData"]
    return json.dumps(body).encode()


def test_record_has_exactly_the_models_columns() -> None:
    record = model_record("HuggingFaceH4/zephyr-7b-beta", info_json=api(ZEPHYR_2024), card=None)
    assert list(record) == MODELS.columns


def test_dolly_card_fields() -> None:
    data = card("databricks__dolly-v2-12b.md")
    record = model_record(
        "databricks/dolly-v2-12b",
        info_json=None,
        card=data,
        status="unavailable",
        detail="model info failed after retries",
    )
    assert record["status"] == "unavailable"
    assert record["status_detail"] == "model info failed after retries"
    assert record["license"] == "mit"
    assert record["datasets"] == ["databricks/databricks-dolly-15k"]
    assert record["languages"] == ["en"]
    assert record["card_present"] is True
    assert (
        record["card_sha256"] == "5273e428e8b5254a36807cca6278441dbcd9bafcb81176b779e6595f61463e7f"
    )
    assert record["sha"] is None and record["likes"] is None and record["tags"] is None


def test_zephyr_2024_body() -> None:
    record = model_record("HuggingFaceH4/zephyr-7b-beta", info_json=api(ZEPHYR_2024), card=None)
    assert record["status"] == "no_card"
    assert record["sha"] == "b70e0c9a2d9e14bd1e812d3c398e5f313e93b473"
    assert record["author"] == "HuggingFaceH4"
    assert record["likes"] == 1355
    assert record["downloads"] == 721583
    assert record["gated"] == "false"
    assert record["pipeline_tag"] == "text-generation"
    assert record["library_name"] == "transformers"
    assert record["created_at"] == datetime(2023, 10, 26, 11, 25, 49, tzinfo=UTC)
    assert record["last_modified"] == datetime(2024, 2, 29, 11, 0, 39, tzinfo=UTC)
    assert record["params_b"] == pytest.approx(7.241732096)
    # No card was fetched: licence, base model, languages and datasets come from cardData.
    assert record["license"] == "mit"
    assert record["base_model"] == "mistralai/Mistral-7B-v0.1"
    assert record["languages"] == ["en"]
    assert record["datasets"] == [
        "HuggingFaceH4/ultrachat_200k",
        "HuggingFaceH4/ultrafeedback_binarized",
    ]
    assert record["card_present"] is False and record["card_sha256"] is None
    evals = record["card_evals"]
    assert len(evals) == 9
    arc = evals[0]
    assert (arc["dataset_type"], arc["metric_type"], arc["metric_value"]) == (
        "ai2_arc",
        "acc_norm",
        62.03071672354948,
    )


def test_schema_drift_between_2024_and_2025_bodies() -> None:
    old = model_record("HuggingFaceH4/zephyr-7b-beta", info_json=api(ZEPHYR_2024), card=None)
    new = model_record("HuggingFaceH4/zephyr-7b-beta", info_json=api(ZEPHYR_2025), card=None)
    # The 2025 body adds `inference` and `usedStorage`; they are ignored, the rest is read.
    assert "usedStorage" in json.loads(api(ZEPHYR_2025))
    assert new["sha"] == "892b3d7a7b1cf10c7a701c60881cd93df615734c"
    assert (old["likes"], new["likes"]) == (1355, 1667)
    assert new["last_modified"] == datetime(2024, 10, 16, 11, 48, 13, tzinfo=UTC)
    assert new["created_at"] == old["created_at"]
    assert new["card_evals"] == old["card_evals"]


def test_llama_31_gated_manual() -> None:
    record = model_record("meta-llama/Llama-3.1-8B-Instruct", info_json=api(LLAMA_31), card=None)
    assert record["gated"] == "manual"
    assert record["license"] == "llama3.1"
    # cardData's base_model wins over the `base_model:` tag, which names another repo.
    assert record["base_model"] == "meta-llama/Meta-Llama-3.1-8B"
    assert record["languages"] == ["en", "de", "fr", "it", "pt", "hi", "es", "th"]
    assert record["params_b"] == pytest.approx(8.030261248)
    assert record["card_evals"] == []


def test_partial_projection_body_gives_nulls_not_errors() -> None:
    record = model_record(
        "meta-llama/Llama-3.1-8B-Instruct", info_json=api(LLAMA_31_PROJECTION), card=None
    )
    assert record["status"] == "no_card"
    assert all(
        record[field] is None
        for field in ("sha", "author", "license", "likes", "downloads", "gated", "created_at")
    )


def test_base_model_from_tags_skips_relation_tags() -> None:
    body = "api_models__deepset__roberta-base-squad2__22-Jan-2025.json"
    record = model_record("deepset/roberta-base-squad2", info_json=api(body), card=None)
    # Tags hold both `base_model:FacebookAI/roberta-base` and `base_model:finetune:...`.
    assert record["base_model"] == "FacebookAI/roberta-base"


def test_license_and_datasets_from_tags_without_card_data() -> None:
    gpt2 = model_record(
        "openai-community/gpt2",
        info_json=without_card_data("api_models__openai-community__gpt2__21-Mar-2025.json"),
        card=None,
    )
    assert gpt2["license"] == "mit"
    bert = model_record(
        "google-bert/bert-base-uncased",
        info_json=without_card_data("api_models__google-bert__bert-base-uncased__09-Apr-2024.json"),
        card=None,
    )
    assert bert["license"] == "apache-2.0"
    assert bert["datasets"] == ["bookcorpus", "wikipedia"]
    assert bert["languages"] is None  # bare `en` tags are not read as languages


def test_card_front_matter_wins_over_card_data() -> None:
    record = model_record(
        "HuggingFaceH4/zephyr-7b-beta",
        info_json=api(ZEPHYR_2024),
        card=b"---\nlicense: apache-2.0\nlanguage: fr\n---\n# card\n",
    )
    assert record["status"] == "ok"
    assert record["license"] == "apache-2.0"
    assert record["languages"] == ["fr"]
    assert record["base_model"] == "mistralai/Mistral-7B-v0.1"  # card silent: cardData
    assert len(record["card_evals"]) == 9  # card has no model-index: the Hub's


def test_card_model_index_wins_over_info() -> None:
    record = model_record(
        "HuggingFaceH4/zephyr-7b-beta",
        info_json=api(ZEPHYR_2024),
        card=card("wrong_types.md"),
    )
    assert [row["metric_value"] for row in record["card_evals"]] == [51.2, None, None]
    assert record["license"] == "apache-2.0"
    assert record["tags"][:3] == ["transformers", "pytorch", "safetensors"]


def test_card_parse_error_keeps_info_fields() -> None:
    record = model_record(
        "HuggingFaceH4/zephyr-7b-beta",
        info_json=api(ZEPHYR_2024),
        card=card("yaml_syntax_error.md"),
    )
    assert record["status"] == "card_parse_error"
    assert record["status_detail"].startswith("front matter is not valid YAML")
    assert record["card_present"] is True
    assert record["license"] == "mit"  # from cardData
    assert record["likes"] == 1355


def test_hostile_cards_map_to_statuses() -> None:
    info = api(ZEPHYR_2024)
    bomb = model_record("x/y", info_json=info, card=card("billion_laughs.md"))
    assert bomb["status"] == "card_parse_error"
    big = model_record("x/y", info_json=info, card=b"---\nlicense: x\n---\n" + b"a" * 1_000_001)
    assert big["status"] == "card_too_large"
    assert big["license"] == "mit"  # the card's fields were skipped; cardData remains
    unclosed = model_record("x/y", info_json=info, card=card("unclosed_front_matter.md"))
    assert unclosed["status"] == "ok"
    assert unclosed["status_detail"] == (
        "card opens a front matter block with '---' but never closes it"
    )


def test_not_found_repo() -> None:
    record = model_record(
        "tatsu-lab/alpaca-7b-wdiff", info_json=None, card=None, status="not_found", detail="404"
    )
    assert (record["status"], record["status_detail"]) == ("not_found", "404")
    assert record["card_present"] is False
    assert record["card_evals"] == []


def test_bad_arguments_and_bodies() -> None:
    with pytest.raises(ValueError, match="status must say why"):
        model_record("a/b", info_json=None, card=None)
    with pytest.raises(ValueError, match="unknown model status"):
        model_record("a/b", info_json=None, card=None, status="missing")
    broken = model_record("a/b", info_json=b"{not json", card=None)
    assert (broken["status"], broken["status_detail"]) == (
        "unavailable",
        "model info is not valid JSON",
    )
    wrong = model_record(
        "a/b", info_json=b'{"likes": true, "gated": "auto", "tags": "x"}', card=None
    )
    assert (wrong["likes"], wrong["gated"], wrong["tags"]) == (None, "auto", ["x"])


def test_models_table_schema_and_order() -> None:
    records: list[dict[str, Any]] = [
        model_record("meta-llama/Llama-3.1-8B-Instruct", info_json=api(LLAMA_31), card=None),
        model_record("HuggingFaceH4/zephyr-7b-beta", info_json=api(ZEPHYR_2025), card=None),
        model_record(
            "databricks/dolly-v2-12b",
            info_json=None,
            card=card("databricks__dolly-v2-12b.md"),
            status="unavailable",
        ),
    ]
    table = models_table(records)
    assert table.schema.equals(MODELS.schema)
    assert table.column("repo_id").to_pylist() == [
        "HuggingFaceH4/zephyr-7b-beta",
        "databricks/dolly-v2-12b",
        "meta-llama/Llama-3.1-8B-Instruct",
    ]
    row = table.slice(0, 1).to_pylist()[0]
    assert row["likes"] == 1667
    assert row["last_modified"] == datetime(2024, 10, 16, 11, 48, 13, tzinfo=UTC)
    assert row["card_evals"][0]["metric_value"] == 62.03071672354948
    with pytest.raises(ValueError, match="duplicate repo_id"):
        models_table([records[0], records[0]])
