from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml

from llmsync.tables.catalog import CatalogResult, build_catalog
from llmsync.tables.curated import Curated, load_curated, parse_curated
from llmsync.tables.intervals import Export, empty_scores, extend
from llmsync.tables.models import model_record, models_table
from llmsync.tables.revisions import RevisionRecord, revisions_table
from llmsync.tables.schemas import CATALOG, MODELS
from tests.tables import CATALOG_KEYS, FIXTURE_EXPORTS, FIXTURES, fixture_rows, fixture_scores

CURATED_FILE = Path(__file__).parents[1] / "src" / "llmsync" / "curated" / "article_models.yaml"
Scores = tuple[pa.Table, pa.Table]  # (scores, revisions)


def without_revision(revision: str) -> Scores:
    """Built from every fixture export but `revision`."""
    return fixture_scores(*(label for label in FIXTURE_EXPORTS if label != revision))


def only_revisions(*revisions: str) -> Scores:
    return fixture_scores(*revisions)


def card(name: str) -> bytes:
    return (FIXTURES / "cards" / name).read_bytes()


def real_models() -> pa.Table:
    """Models rows built from the real cards; repos with no recording are not found."""
    return models_table(
        [
            model_record(
                "tiiuae/falcon-40b-instruct",
                info_json=None,
                card=card("tiiuae__falcon-40b-instruct.md"),
                status="unavailable",
            ),
            model_record(
                "databricks/dolly-v2-12b",
                info_json=None,
                card=card("databricks__dolly-v2-12b.md"),
                status="unavailable",
            ),
            model_record(
                "lmsys/vicuna-13b-v1.3",
                info_json=None,
                card=card("lmsys__vicuna-13b-v1.3.md"),
                status="unavailable",
            ),
            model_record(
                "EleutherAI/gpt-j-6b",
                info_json=None,
                card=card("EleutherAI__gpt-j-6b.md"),
                status="unavailable",
            ),
            model_record(
                "tatsu-lab/alpaca-7b-wdiff", info_json=None, card=None, status="not_found"
            ),
        ]
    )


def build(
    curated: Curated | None = None,
    *,
    scores: Scores | None = None,
    models: pa.Table | None = None,
) -> CatalogResult:
    intervals, revisions = scores if scores is not None else fixture_scores()
    return build_catalog(
        curated if curated is not None else load_curated(CURATED_FILE),
        models=models if models is not None else real_models(),
        scores=intervals,
        revisions=revisions,
    )


def row(result: CatalogResult, article_model: str, repo_id: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [
        r
        for r in result.table.to_pylist()
        if (r["article_model"], r["repo_id"]) == (article_model, repo_id)
    ]
    assert len(rows) == 1
    return rows[0]


def curated_with(
    change: dict[str, dict[str, Any]], aliases: dict[str, str] | None = None
) -> Curated:
    raw = yaml.safe_load(CURATED_FILE.read_text(encoding="utf-8"))
    for model in raw["models"]:
        model.update(change.get(model["name"], {}))
    if aliases is not None:
        raw["aliases"] = aliases
    return parse_curated(raw)


def test_every_curated_repo_has_a_row() -> None:
    result = build()
    assert result.table.schema.equals(CATALOG.schema)
    keys = [(r["article_model"], r["repo_id"]) for r in result.table.to_pylist()]
    assert keys == sorted(keys)
    assert sorted(keys) == sorted((m, r) for m, r, _ in load_curated(CURATED_FILE).repos())
    assert set(keys) == CATALOG_KEYS
    assert result.table.num_rows == 18


def test_dolly_and_gptj_v1_final_scores() -> None:
    result = build()
    dolly = row(result, "Dolly", "databricks/dolly-v2-12b")
    assert (dolly["open_llm_v1_average"], dolly["open_llm_v1_arc"]) == (39.46, 42.41)
    assert dolly["open_llm_v1_gsm8k"] == 1.21
    assert dolly["open_llm_v1_revision"] == "v1-2024-07-07"
    assert dolly["open_llm_v1_date"] == date(2024, 7, 7)
    assert dolly["open_llm_v1_precision"] == "float16"
    assert dolly["open_llm_v1_model_sha"] == "19308160448536e378e3db21a73a751579ee7fdd"
    # Listed by the first recorded scrape already.
    assert dolly["open_llm_v1_first_seen"] == date(2023, 6, 10)
    # Unrounded, as the 2025 export holds it (the page showed 6.37).
    assert dolly["open_llm_v2_average"] == 6.37043570349638
    assert dolly["open_llm_v2_revision"] == "v2-2025-03-21"
    assert dolly["open_llm_v2_first_seen"] == date(2024, 10, 9)
    gptj = row(result, "GPT-J", "EleutherAI/gpt-j-6b")
    assert gptj["open_llm_v1_average"] == 40.10
    assert gptj["open_llm_v1_arc"] == 41.38


def test_falcon_instruct_v1_scores_come_from_the_last_table_listing_it() -> None:
    falcon = row(build(), "Falcon-40B-Instruct", "tiiuae/falcon-40b-instruct")
    assert falcon["open_llm_v1_average"] == 63.47
    assert falcon["open_llm_v1_arc"] == 61.6
    assert falcon["open_llm_v1_mmlu"] == 55.4
    assert falcon["open_llm_v1_revision"] == "v1-2023-09-04"
    assert falcon["open_llm_v1_date"] == date(2023, 9, 4)
    assert falcon["open_llm_v1_first_seen"] == date(2023, 6, 10)
    # The 4-benchmark table had no Winogrande or GSM8K, and no precision or sha.
    assert falcon["open_llm_v1_winogrande"] is None
    assert falcon["open_llm_v1_gsm8k"] is None
    assert falcon["open_llm_v1_precision"] is None
    assert falcon["open_llm_v2_math_lvl5"] == 1.96374622356495
    assert falcon["open_llm_v2_average"] == 10.4845067820987


def test_unscored_and_unfetched_repos() -> None:
    result = build()
    wdiff = row(result, "Alpaca", "tatsu-lab/alpaca-7b-wdiff")
    assert wdiff["model_status"] == "not_found"
    assert wdiff["card_present"] is False
    assert wdiff["open_llm_v1_average"] is None and wdiff["open_llm_v2_revision"] is None
    assert wdiff["open_llm_v1_first_seen"] is None
    # No models row at all (never recorded) also reads as not found.
    assert row(result, "LLaMA", "huggyllama/llama-65b")["model_status"] == "not_found"


def test_curated_and_hub_columns() -> None:
    result = build()
    falcon = row(result, "Falcon-40B-Instruct", "tiiuae/falcon-40b-instruct")
    assert falcon["developer"] == "Technology Innovation Institute (TII), Abu Dhabi"
    assert falcon["stated_params_b"] == 40.0
    assert falcon["stated_commercial_use"] == "allowed"
    assert falcon["stated_license"] is None
    assert falcon["hub_license"] == "apache-2.0"
    assert falcon["card_present"] is True
    assert falcon["model_status"] == "unavailable"
    # Curated facts repeat on every row of the model, whatever the role.
    base = row(result, "Falcon-40B-Instruct", "tiiuae/falcon-40b")
    assert (base["role"], base["stated_base_model"]) == ("base", "Falcon-40B")


def test_real_data_has_no_conflicts() -> None:
    result = build()
    assert result.conflicts == []
    assert result.unmatched_aliases == []


def test_alias_scores_go_to_the_primary_repo() -> None:
    # Without the final v1 table, huggyllama/llama-7b is only listed as a bare `llama-7b`.
    result = build(scores=without_revision("v1-2024-07-07"))
    llama = row(result, "LLaMA", "huggyllama/llama-7b")
    assert llama["open_llm_v1_average"] == 49.72
    assert llama["open_llm_v1_revision"] == "v1-2023-09-04"
    assert llama["open_llm_v1_first_seen"] == date(2023, 6, 10)
    # Scores belong to the repo: Alpaca's base row is the same repo and shows the same.
    assert row(result, "Alpaca", "huggyllama/llama-7b")["open_llm_v1_average"] == 49.72
    # With the final table, the repo's own, newer row wins.
    assert row(build(), "LLaMA", "huggyllama/llama-7b")["open_llm_v1_average"] == 46.37


def test_variant_choice_of_repeated_rows_takes_the_higher_average() -> None:
    # 2023-09-04 lists vicuna-7b-v1.5 twice (rows 523 and 525: 58.0 and 57.95)
    # with no precision or sha; the row's other scores come with it.
    result = build(scores=without_revision("v1-2024-07-07"))
    vicuna = row(result, "Vicuna", "lmsys/vicuna-7b-v1.5")
    assert (vicuna["open_llm_v1_average"], vicuna["open_llm_v1_mmlu"]) == (58.0, 51.0)


def test_variant_choice_takes_the_higher_average_among_equally_new_variants() -> None:
    # The final v1 table lists vicuna-7b-v1.5 in float16 (52.06) and bfloat16
    # (51.99), both first listed there; the leaderboard lists float16 first.
    vicuna = row(build(), "Vicuna", "lmsys/vicuna-7b-v1.5")
    assert (vicuna["open_llm_v1_average"], vicuna["open_llm_v1_precision"]) == (52.06, "float16")


def test_variant_choice_prefers_the_variant_that_entered_last() -> None:
    # The final v1 table as two exports, the float16 row missing from the
    # first (so it entered later, as its newer submission did upstream) and
    # given a lower average: the newer variant wins anyway.
    rows = fixture_rows("v1-2024-07-07")
    is_float16 = pc.and_(
        pc.equal(rows.column("model_name"), "lmsys/vicuna-7b-v1.5"),
        pc.equal(pc.fill_null(rows.column("precision"), ""), "float16"),
    )
    earlier = rows.filter(pc.invert(is_float16))
    lowered = pc.if_else(is_float16, pa.scalar(40.0), rows.column("value"))
    later = rows.set_column(rows.schema.get_field_index("value"), "value", lowered)
    scores = extend(
        empty_scores(),
        [
            Export("open_llm_v1", "v1-a", date(2024, 6, 1), earlier),
            Export("open_llm_v1", "v1-b", date(2024, 6, 19), later),
        ],
    )
    revisions = revisions_table(
        [
            RevisionRecord("open_llm_v1", "v1-a", date(2024, 6, 1), 7168, "ok"),
            RevisionRecord("open_llm_v1", "v1-b", date(2024, 6, 19), 7169, "ok"),
        ]
    )
    vicuna = row(build(scores=(scores, revisions)), "Vicuna", "lmsys/vicuna-7b-v1.5")
    assert (vicuna["open_llm_v1_average"], vicuna["open_llm_v1_precision"]) == (40.0, "float16")
    assert vicuna["open_llm_v1_first_seen"] == date(2024, 6, 1)


def test_variant_choice_prefers_the_fetched_commit() -> None:
    scores, revisions = fixture_scores()
    # Give the bfloat16 row its own commit, and say the Hub has that commit.
    is_row = pc.and_(
        pc.equal(scores.column("model_name"), "lmsys/vicuna-7b-v1.5"),
        pc.equal(pc.fill_null(scores.column("precision"), ""), "bfloat16"),
    )
    sha = "b" * 40
    scores = scores.set_column(
        scores.schema.get_field_index("model_sha"),
        "model_sha",
        pc.if_else(is_row, pa.scalar(sha), scores.column("model_sha")),
    )
    models = pa.concat_tables(
        [
            real_models(),
            pa.Table.from_pylist(
                [
                    model_record(
                        "lmsys/vicuna-7b-v1.5",
                        info_json=b'{"sha": "' + sha.encode() + b'"}',
                        card=card("lmsys__vicuna-7b-v1.5.md"),
                    )
                ],
                schema=MODELS.schema,
            ),
        ]
    )
    vicuna = row(build(scores=(scores, revisions), models=models), "Vicuna", "lmsys/vicuna-7b-v1.5")
    assert (vicuna["open_llm_v1_average"], vicuna["open_llm_v1_precision"]) == (51.99, "bfloat16")
    assert vicuna["open_llm_v1_model_sha"] == sha


def test_conflicts_keep_the_curated_value() -> None:
    curated = curated_with(
        {
            "Falcon-40B-Instruct": {"license": "other"},
            "Dolly": {"commercial_use": "not_allowed"},
        }
    )
    result = build(curated)
    assert result.conflicts == [
        "Falcon-40B-Instruct (tiiuae/falcon-40b-instruct): "
        "licence: article says 'other', Hub says 'apache-2.0'",
        "Dolly (databricks/dolly-v2-12b): "
        "commercial use: article says not allowed, Hub licence 'mit' allows it",
    ]
    falcon = row(result, "Falcon-40B-Instruct", "tiiuae/falcon-40b-instruct")
    assert (falcon["stated_license"], falcon["hub_license"]) == ("other", "apache-2.0")
    assert falcon["conflicts"] == [result.conflicts[0]]
    # Variant and base rows are not checked against the article's facts.
    assert row(result, "Falcon-40B-Instruct", "tiiuae/falcon-40b")["conflicts"] == []


@pytest.mark.parametrize(
    ("hub_base_model", "conflict"),
    [("huggyllama/llama-7b", False), ("mistralai/Mistral-7B-v0.1", True)],
)
def test_base_model_conflict(hub_base_model: str, conflict: bool) -> None:
    alpaca = model_record(
        "chavinlo/alpaca-native",
        info_json=None,
        card=f"---\nbase_model: {hub_base_model}\n---\n".encode(),
        status="unavailable",
    )
    result = build(models=models_table([alpaca]))
    expected = (
        [
            f"Alpaca (chavinlo/alpaca-native): base model: article says 'LLaMA 7B', "
            f"Hub says {hub_base_model!r}"
        ]
        if conflict
        else []
    )
    assert result.conflicts == expected


def test_params_conflict_allows_rounding() -> None:
    body = b'{"safetensors": {"total": 41303527424}}'  # falcon-40b-instruct's 41.3B: fine
    falcon = model_record("tiiuae/falcon-40b-instruct", info_json=body, card=None)
    assert build(models=models_table([falcon])).conflicts == []
    body = b'{"safetensors": {"total": 7000000000}}'
    falcon = model_record("tiiuae/falcon-40b-instruct", info_json=body, card=None)
    assert build(models=models_table([falcon])).conflicts == [
        "Falcon-40B-Instruct (tiiuae/falcon-40b-instruct): "
        "parameters: article says 40B, Hub weights hold 7.00B"
    ]


def test_unmatched_aliases() -> None:
    curated = curated_with({}, aliases={"llama-7b": "LLaMA", "stable-vicuna-13b": "Vicuna"})
    assert build(curated).unmatched_aliases == ["stable-vicuna-13b"]


def test_unrelated_rows_are_ignored() -> None:
    scores, _ = fixture_scores()
    assert "CalderaAI/30B-Lazarus" in scores.column("repo_id").to_pylist()
    assert "llama-13b" in scores.column("model_name").to_pylist()
    result = build()
    assert "CalderaAI/30B-Lazarus" not in result.table.column("repo_id").to_pylist()
    # A bare `llama-13b` is no alias: huggyllama/llama-13b takes only its own rows.
    # 2023-06-10 lists only the bare name (51.8): no score.
    first = build(scores=only_revisions("v1-2023-06-10"))
    assert row(first, "LLaMA", "huggyllama/llama-13b")["open_llm_v1_average"] is None
    # 2023-09-04 lists the bare name (row 600: 56.08) and the repo (row 603: 56.04).
    second = build(scores=only_revisions("v1-2023-06-10", "v1-2023-09-04"))
    assert row(second, "LLaMA", "huggyllama/llama-13b")["open_llm_v1_average"] == 56.04
    # The final v1 table lists the repo (row 5195).
    assert row(result, "LLaMA", "huggyllama/llama-13b")["open_llm_v1_average"] == 51.33
