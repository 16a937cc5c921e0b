#!/usr/bin/env python3
"""Build the replay hub's recordings (`src/llmsync/replay/recordings/`) from the real exports.

    python scripts/build_recordings.py [--source DIR] [--out DIR]

`--source` is a folder holding the exports listed in `SOURCES` below, byte for byte
as their upstream repositories have them (default: `../shared/hub-data` next to
the repository). Nothing here invents a value: every table cell, card and API
body comes from those files; the only things made up are the replay hub's own
commit ids of the dataset repos, and they are derived from content (see
`synthetic_sha`).

The output is deterministic: the same input gives the same bytes, so re-running
the script leaves no diff (fixed Parquet writer options, sorted keys, no build
timestamps).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import re
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = Path("..") / "shared" / "hub-data"  # relative to the repository root
DEFAULT_OUT = REPO_ROOT / "src" / "llmsync" / "replay" / "recordings"

LEADERBOARD_FILE = "data/train-00000-of-00001.parquet"


# -- where every source file came from (copied from SOURCES.md) --------------


@dataclass(frozen=True)
class Upstream:
    repo: str
    path: str
    commit: str
    what: str


SOURCES: dict[str, Upstream] = {
    "open_llm_leaderboard_v1_4bench_2023-06-10.csv": Upstream(
        "dsdanielpark/open-llm-leaderboard-report",
        "assets/20230610/20230610.csv",
        "9276ca6332282390cda17e449c74a1b310fa6ed7",
        "scrape of the v1 leaderboard's table in its four-benchmark era",
    ),
    "open_llm_leaderboard_v1_4bench_2023-09-04.csv": Upstream(
        "dsdanielpark/open-llm-leaderboard-report",
        "assets/20230904/20230904.csv",
        "5fd2662ab69d8b49cd25865b4fe1d85370e9ef58",
        "scrape of the v1 leaderboard's table in its four-benchmark era",
    ),
    "open_llm_leaderboard_v1.csv": Upstream(
        "fboulnois/llm-leaderboard-csv",
        "csv/huggingface_v1.csv (was csv/huggingface.csv)",
        "0f4e5c69c6fb6515afa31ae61f4d699649bc9503 (blob a4f571e8 unchanged since 3792cf00, "
        "2024-06-19)",
        "final v1 table read from the leaderboard Space's gradio config; headers lower-cased "
        "and snake_cased by the exporter",
    ),
    "open_llm_leaderboard_v2_gradio_2024-10-09_with_T_Model.csv": Upstream(
        "pimpale/foo",
        "python/scaling_law/data_models/cache/open_llm_leaderboard_20241009.csv",
        "0f1294d980134a43c660f50031653abf209e8a6b (2024-10-22 commit; data 2024-10-09)",
        "v2 table via the gradio API `/get_latest_data_leaderboard`, display headers",
    ),
    "open_llm_leaderboard_v2_gradio_2024-11-10.csv": Upstream(
        "pimpale/foo",
        "python/scaling_law/data_models/cache_new/open_llm_leaderboard.csv",
        "6abf7180bf324e65a94c2fc75ee8045d8e2d4d33 (2024-11-10)",
        "v2 table via the gradio API `/get_latest_data_leaderboard`, display headers "
        "(`T` and `Model` dropped by that author)",
    ),
    "open_llm_leaderboard_v2_2025-03-21.csv": Upstream(
        "fboulnois/llm-leaderboard-csv",
        "csv/huggingface_v2.csv",
        "0f4e5c69c6fb6515afa31ae61f4d699649bc9503 (2025-03-21, last commit before the file "
        "was deleted in f922d45)",
        "final v2 table flattened from the leaderboard's formatted JSON API (snake_case)",
    ),
    "modelcard_tiiuae__falcon-40b-instruct.md": Upstream(
        "alta3/llm-the-alta3-way",
        "model/falcon-40b-instruct/README_tiiuae.md",
        "8030d9b236c6553e5cb27026a2f660cb7cc1988d",
        "vendored copy of the Hub card of tiiuae/falcon-40b-instruct",
    ),
    "modelcard_lmsys__vicuna-13b-v1.3.md": Upstream(
        "SqueezeAILab/SqueezeLLM",
        "models/vicuna-13b-v1.3/README.md",
        "e08c5a8a52e68ea71e353c636b9f6517a4011a44",
        "vendored Hub card of lmsys/vicuna-13b-v1.3",
    ),
    "modelcard_lmsys__vicuna-7b-v1.5.md": Upstream(
        "bgorlick/getai",
        "models/lmsys_vicuna-7b-v1.5/README.md",
        "6b7200996b2c6fc3a2d52cbbbf08dc089c2c2939",
        "vendored Hub card of lmsys/vicuna-7b-v1.5",
    ),
    "modelcard_EleutherAI__gpt-j-6b.md": Upstream(
        "asgaardlab/model-card-reorganization",
        "verified_model_cards/EleutherAI@gpt-j-6b/1_raw.md",
        "3a0a6702b42ac2a960774259f4573059561b8dd8",
        "raw Hub README of EleutherAI/gpt-j-6b",
    ),
    "modelcard_databricks__dolly-v2-12b.md": Upstream(
        "asgaardlab/model-card-reorganization",
        "verified_model_cards/databricks@dolly-v2-12b/1_raw.md",
        "3a0a6702b42ac2a960774259f4573059561b8dd8",
        "raw Hub README of databricks/dolly-v2-12b",
    ),
    "modelcard_NousResearch__Llama-2-7b-chat-hf.md": Upstream(
        "asgaardlab/model-card-reorganization",
        "verified_model_cards/NousResearch@Llama-2-7b-chat-hf/1_raw.md",
        "3a0a6702b42ac2a960774259f4573059561b8dd8",
        "raw Hub README of NousResearch/Llama-2-7b-chat-hf (Meta's Llama 2 card)",
    ),
}

# The recorded `GET /api/models/{id}` bodies: the exact response body of one
# interaction of a huggingface_hub test cassette.
_CASSETTES = "huggingface/huggingface_hub"
API_SOURCES: dict[str, Upstream] = {
    "api_models__google-bert__bert-base-uncased__09-Apr-2024.json": Upstream(
        _CASSETTES,
        "tests/cassettes/InferenceApiTest.test_simple_inference.yaml",
        "dc824a5a625bf2ff3b35584d88d655986bcf5f14",
        "GET /api/models/google-bert/bert-base-uncased (asked as bert-base-uncased: 307)",
    ),
    "api_models__deepset__roberta-base-squad2__09-Apr-2024.json": Upstream(
        _CASSETTES,
        "tests/cassettes/InferenceApiTest.test_inference_missing_input.yaml",
        "dc824a5a625bf2ff3b35584d88d655986bcf5f14",
        "GET /api/models/deepset/roberta-base-squad2",
    ),
    "api_models__deepset__roberta-base-squad2__22-Jan-2025.json": Upstream(
        _CASSETTES,
        "tests/cassettes/InferenceApiTest.test_inference_missing_input.yaml",
        "ae98fe4bf6577011ec262bfe7336e6abf1e3f085",
        "GET /api/models/deepset/roberta-base-squad2 (re-recorded)",
    ),
    "api_models__HuggingFaceH4__zephyr-7b-beta__14-Mar-2024.json": Upstream(
        _CASSETTES,
        "tests/cassettes/InferenceClientVCRTest.test_chat_completion_with_stream.yaml",
        "629def9bdd190de5feb02f0b3811cdf57873a2e6",
        "GET /api/models/HuggingFaceH4/zephyr-7b-beta",
    ),
    "api_models__HuggingFaceH4__zephyr-7b-beta__21-Mar-2025.json": Upstream(
        _CASSETTES,
        "tests/cassettes/test_async_chat_completion_with_stream.yaml",
        "a09927331ec0ed2df90968da2200c6bef8ab4117",
        "GET /api/models/HuggingFaceH4/zephyr-7b-beta (re-recorded)",
    ),
    "api_models__meta-llama__Llama-3.1-8B-Instruct__21-Mar-2025.json": Upstream(
        _CASSETTES,
        "tests/cassettes/TestInferenceClient.test_chat_completion_no_stream"
        "[hf-inference,conversational].yaml",
        "a09927331ec0ed2df90968da2200c6bef8ab4117",
        "GET /api/models/meta-llama/Llama-3.1-8B-Instruct (gated: manual)",
    ),
    "api_models__meta-llama__Meta-Llama-3-8B-Instruct__21-Mar-2025.json": Upstream(
        _CASSETTES,
        "tests/cassettes/TestOpenAICompatibility.test_without_base_url.yaml",
        "a09927331ec0ed2df90968da2200c6bef8ab4117",
        "GET /api/models/meta-llama/Meta-Llama-3-8B-Instruct",
    ),
    "api_models__openai-community__gpt2__21-Mar-2025.json": Upstream(
        _CASSETTES,
        "tests/cassettes/test_async_generate_validation_error.yaml",
        "a09927331ec0ed2df90968da2200c6bef8ab4117",
        "GET /api/models/openai-community/gpt2",
    ),
    "api_models__google__flan-t5-xxl__21-Mar-2025.json": Upstream(
        _CASSETTES,
        "tests/cassettes/TestTextGenerationClientVCR.test_generate_stream_with_details.yaml",
        "a09927331ec0ed2df90968da2200c6bef8ab4117",
        "GET /api/models/google/flan-t5-xxl",
    ),
    "api_models__meta-llama__Llama-3.1-8B-Instruct__expand_inferenceProviderMapping"
    "__17-Feb-2025.json": Upstream(
        _CASSETTES,
        "tests/cassettes/TestInferenceClient.test_chat_completion_no_stream"
        "[novita,conversational].yaml",
        "604b9caaf156f0b51563eb112a78acce403095c9",
        "GET /api/models/meta-llama/Llama-3.1-8B-Instruct?expand=inferenceProviderMapping",
    ),
}

# The Hub answered 307 for the old name of a renamed repo (the bert recording).
REDIRECTS: dict[str, str] = {"model/bert-base-uncased": "google-bert/bert-base-uncased"}


# -- leaderboard exports -------------------------------------------------------

# The final v1 CSV's exporter lower-cased and snake_cased the Space's headers
# ("Average ⬆️" -> average, "Hub ❤️" -> hub_hearts, "#Params (B)" -> params_b) and
# split the HTML `Model` cell into its link text (`model`) and its href (`url`).
# Display names checked against open-llm-leaderboard-old/contents' dataset card.
V1_FINAL_COLUMNS: dict[str, str] = {
    "t": "T",
    "model": "Model",
    "average": "Average ⬆️",
    "arc": "ARC",
    "hellaswag": "HellaSwag",
    "mmlu": "MMLU",
    "truthfulqa": "TruthfulQA",
    "winogrande": "Winogrande",
    "gsm8k": "GSM8K",
    "type": "Type",
    "architecture": "Architecture",
    "weight_type": "Weight type",
    "precision": "Precision",
    "merged": "Merged",
    "hub_license": "Hub License",
    "params_b": "#Params (B)",
    "hub_hearts": "Hub ❤️",
    "available_on_the_hub": "Available on the hub",
    "model_sha": "Model sha",
    "flagged": "Flagged",
    "moe": "MoE",
    "date": "date",
    "fullname": "fullname",
    # The exporter's own column (the href it took out of `Model`): no display twin.
    "url": "url",
}

# The final v2 CSV flattens the leaderboard's JSON API. `_normalized_score` is the
# displayed 0-100 score, `_value` the raw 0-1 one. The `features_*` and
# `metadata_*` fields are read by the leaderboard backend from the contents
# columns named here; their values agree with the 2024-11-10 export's columns
# row for row, so these are their display names (see PROVENANCE.md).
V2_FINAL_COLUMNS: dict[str, str] = {
    # `{fullname}_{precision}_{sha}_{chat template}`: not `eval_name`, no display twin.
    "id": "id",
    "model_name": "fullname",
    "model_sha": "Model sha",
    "model_precision": "Precision",
    # Same column, but the API strips the emoji and spaces ("chatmodels").
    "model_type": "Type",
    "model_weight_type": "Weight type",
    "model_architecture": "Architecture",
    "model_average_score": "Average ⬆️",
    "model_has_chat_template": "Chat Template",
    # The benchmark's label as the API spells it, a constant: no display twin.
    "evaluations_ifeval_name": "evaluations_ifeval_name",
    "evaluations_ifeval_value": "IFEval Raw",
    "evaluations_ifeval_normalized_score": "IFEval",
    "evaluations_bbh_name": "evaluations_bbh_name",
    "evaluations_bbh_value": "BBH Raw",
    "evaluations_bbh_normalized_score": "BBH",
    "evaluations_math_name": "evaluations_math_name",
    "evaluations_math_value": "MATH Lvl 5 Raw",
    "evaluations_math_normalized_score": "MATH Lvl 5",
    "evaluations_gpqa_name": "evaluations_gpqa_name",
    "evaluations_gpqa_value": "GPQA Raw",
    "evaluations_gpqa_normalized_score": "GPQA",
    "evaluations_musr_name": "evaluations_musr_name",
    "evaluations_musr_value": "MUSR Raw",
    "evaluations_musr_normalized_score": "MUSR",
    "evaluations_mmlu_pro_name": "evaluations_mmlu_pro_name",
    "evaluations_mmlu_pro_value": "MMLU-PRO Raw",
    "evaluations_mmlu_pro_normalized_score": "MMLU-PRO",
    # Misnamed by the API: the backend fills it from "Available on the hub", and
    # its values match that column (true for ~97% of the rows both exports share).
    "features_is_not_available_on_hub": "Available on the hub",
    "features_is_merged": "Merged",
    "features_is_moe": "MoE",
    "features_is_flagged": "Flagged",
    "features_is_official_provider": "Official Providers",
    "metadata_upload_date": "Upload To Hub Date",
    "metadata_submission_date": "Submission Date",
    "metadata_generation": "Generation",
    "metadata_base_model": "Base Model",
    "metadata_hub_license": "Hub License",
    "metadata_hub_hearts": "Hub ❤️",
    "metadata_params_billions": "#Params (B)",
    "metadata_co2_cost": "CO₂ cost (kg)",
}

# Score columns are numbers even where every value happens to be whole.
SCORE_COLUMNS = frozenset(
    {
        "Average",
        "Average ⬆️",
        "ARC (25-shot)",
        "HellaSwag (10-shot)",
        "MMLU (5-shot)",
        "TruthfulQA (0-shot)",
        "ARC(25-shot)",
        "HellaSwag(10-shot)",
        "MMLU(5-shot)",
        "TruthfulQA(0-shot)",
        "ARC",
        "HellaSwag",
        "MMLU",
        "TruthfulQA",
        "Winogrande",
        "GSM8K",
        *(
            f"{name}{suffix}"
            for name in ("IFEval", "BBH", "MATH Lvl 5", "GPQA", "MUSR", "MMLU-PRO")
            for suffix in ("", " Raw")
        ),
    }
)
# Text even where a value looks like a number (a sha made of digits, a date).
STRING_COLUMNS = frozenset(
    {
        "T",
        "Model",
        "fullname",
        "id",
        "Model sha",
        "Precision",
        "Type",
        "Weight type",
        "Architecture",
        "Hub License",
        "Base Model",
        "date",
        "Submission Date",
        "Upload To Hub Date",
        "url",
        "URL",
    }
)


@dataclass(frozen=True)
class Export:
    repo_id: str
    date: str  # YYYY-MM-DD
    source: str
    rename: Mapping[str, str] | None  # None: the headers are display names already
    description: str


EXPORTS: tuple[Export, ...] = (
    Export(
        "open-llm-leaderboard-old/contents",
        "2023-06-10",
        "open_llm_leaderboard_v1_4bench_2023-06-10.csv",
        None,
        "The v1 leaderboard's table as scraped on 2023-06-10, in its four-benchmark era "
        "(ARC, HellaSwag, MMLU, TruthfulQA). Headers are kept as written; the file's UTF-8 "
        "BOM is removed. `Parameters` is not a parameter count.",
    ),
    Export(
        "open-llm-leaderboard-old/contents",
        "2023-09-04",
        "open_llm_leaderboard_v1_4bench_2023-09-04.csv",
        None,
        "The v1 leaderboard's table as scraped on 2023-09-04, still with four benchmarks. "
        "Headers are kept as written; the file's UTF-8 BOM is removed. `Parameters` is not "
        "a parameter count.",
    ),
    Export(
        "open-llm-leaderboard-old/contents",
        "2024-06-19",
        "open_llm_leaderboard_v1.csv",
        V1_FINAL_COLUMNS,
        "The archived v1 leaderboard's final table (six benchmarks and their average). "
        "The exporter's snake_case headers are mapped back to the leaderboard's display "
        "names; `Model` holds the link text the exporter took out of the HTML cell and "
        "`url` its href.",
    ),
    Export(
        "open-llm-leaderboard/contents",
        "2024-10-09",
        "open_llm_leaderboard_v2_gradio_2024-10-09_with_T_Model.csv",
        None,
        "The v2 leaderboard's table of 2024-10-09 from its gradio API, display headers as "
        "served, including `T` (type emoji) and `Model` (HTML links).",
    ),
    Export(
        "open-llm-leaderboard/contents",
        "2024-11-10",
        "open_llm_leaderboard_v2_gradio_2024-11-10.csv",
        None,
        "The v2 leaderboard's table of 2024-11-10 from its gradio API, display headers as "
        "served (the exporter dropped `T` and `Model`).",
    ),
    Export(
        "open-llm-leaderboard/contents",
        "2025-03-21",
        "open_llm_leaderboard_v2_2025-03-21.csv",
        V2_FINAL_COLUMNS,
        "The v2 leaderboard's final table, flattened from its formatted JSON API. The "
        "snake_case headers are mapped back to display names where the column has one; "
        "scores are unrounded (the leaderboard displayed them to 2 decimals).",
    ),
)

# Which column of a table names the model and which holds its sha, per shape.
_NAME_COLUMNS = ("fullname", "Model")


# -- article models ------------------------------------------------------------


@dataclass(frozen=True)
class ArticleModel:
    repo_id: str
    card: str | None  # source file of its recorded Hub card, None: no Hub card exists


ARTICLE_MODELS: tuple[ArticleModel, ...] = (
    ArticleModel("tiiuae/falcon-40b-instruct", "modelcard_tiiuae__falcon-40b-instruct.md"),
    ArticleModel("lmsys/vicuna-13b-v1.3", "modelcard_lmsys__vicuna-13b-v1.3.md"),
    ArticleModel("chavinlo/alpaca-native", None),
    ArticleModel("huggyllama/llama-7b", None),
    ArticleModel("EleutherAI/gpt-j-6b", "modelcard_EleutherAI__gpt-j-6b.md"),
    ArticleModel("databricks/dolly-v2-12b", "modelcard_databricks__dolly-v2-12b.md"),
    ArticleModel("lmsys/vicuna-7b-v1.5", "modelcard_lmsys__vicuna-7b-v1.5.md"),
    ArticleModel(
        "NousResearch/Llama-2-7b-chat-hf", "modelcard_NousResearch__Llama-2-7b-chat-hf.md"
    ),
)


# -- helpers -------------------------------------------------------------------


class BuildError(RuntimeError):
    pass


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def synthetic_sha(repo_type: str, repo_id: str, date: str, files: Mapping[str, str]) -> str:
    """The replay hub's commit id for a commit whose real id is not in the data.

    sha1 of the UTF-8 text `{repo_type}/{repo_id}\\n{date}\\n` followed by one
    `{path} {sha256}\\n` line per file, sorted by path.
    """
    text = f"{repo_type}/{repo_id}\n{date}\n" + "".join(
        f"{path} {blob}\n" for path, blob in sorted(files.items())
    )
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_BOOLS = {"True": True, "TRUE": True, "true": True, "False": False, "FALSE": False, "false": False}


def typed_column(name: str, values: list[str]) -> pa.Array:
    """One CSV column as Arrow values of the type the export meant.

    An empty cell is a missing value (null). Booleans, integers and floats are
    recognised only when every present value has that shape.
    """
    present = [value for value in values if value != ""]
    if name in SCORE_COLUMNS:
        bad = next((value for value in present if not _FLOAT.fullmatch(value)), None)
        if bad is not None:
            raise BuildError(f"score column {name!r} holds a non-number: {bad!r}")
        return pa.array([float(v) if v != "" else None for v in values], pa.float64())
    if name in STRING_COLUMNS or not present:
        return pa.array([v if v != "" else None for v in values], pa.string())
    if all(value in _BOOLS for value in present):
        return pa.array([_BOOLS[v] if v != "" else None for v in values], pa.bool_())
    if all(_INT.fullmatch(value) for value in present):
        return pa.array([int(v) if v != "" else None for v in values], pa.int64())
    if all(_FLOAT.fullmatch(value) for value in present):
        return pa.array([float(v) if v != "" else None for v in values], pa.float64())
    return pa.array([v if v != "" else None for v in values], pa.string())


def read_export(path: Path, rename: Mapping[str, str] | None) -> pa.Table:
    # utf-8-sig drops the BOM the 2023 scrapes start with.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    if any(len(row) != len(header) for row in body):
        raise BuildError(f"{path.name}: ragged rows")
    if rename is not None:
        unknown = [column for column in header if column not in rename]
        if unknown:
            raise BuildError(f"{path.name}: no mapping for columns {unknown}")
        names = [rename[column] for column in header]
    else:
        names = list(header)
    if len(set(names)) != len(names):
        raise BuildError(f"{path.name}: duplicate column names after mapping")
    columns = [typed_column(name, [row[i] for row in body]) for i, name in enumerate(names)]
    return pa.table(columns, names=names)


def parquet_bytes(table: pa.Table) -> bytes:
    """Parquet with every writer option pinned, so equal tables give equal bytes."""
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        version="2.6",
        data_page_version="1.0",
        compression="zstd",
        compression_level=9,
        use_dictionary=True,
        write_statistics=True,
        row_group_size=1 << 20,
        store_schema=True,
    )
    return sink.getvalue()


def front_matter(card: bytes) -> dict[str, Any]:
    """The YAML front matter of a Hub card: `---` line, YAML, `---` line."""
    lines = card.decode("utf-8").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    for end, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            data = yaml.safe_load("\n".join(lines[1:end])) or {}
            if not isinstance(data, dict):
                raise BuildError("card front matter is not a mapping")
            return data
    raise BuildError("card front matter is never closed")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


def hub_tags(card_data: Mapping[str, Any]) -> list[str]:
    """The tags the Hub derives from a card's front matter, in the Hub's order.

    Library, pipeline tag, the card's own tags, language codes, `dataset:`,
    `license:`. Tags the Hub derives from files, config or card text (framework,
    architecture, arxiv ids, region) are not known here and are left out.
    """
    tags: list[str] = []
    tags += _as_list(card_data.get("library_name"))
    tags += _as_list(card_data.get("pipeline_tag"))
    tags += _as_list(card_data.get("tags"))
    tags += _as_list(card_data.get("language"))
    tags += [f"dataset:{name}" for name in _as_list(card_data.get("datasets"))]
    tags += [f"license:{name}" for name in _as_list(card_data.get("license"))]
    return list(dict.fromkeys(tags))


def compact_json(value: Any) -> bytes:
    # The Hub sends compact JSON; key order is the order built below.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def api_date(name: str) -> str:
    """`...__09-Apr-2024.json` -> `2024-04-09`."""
    stamp = name.rsplit("__", 1)[1].removesuffix(".json")
    return dt.datetime.strptime(stamp, "%d-%b-%Y").date().isoformat()


def iso(date: str) -> str:
    return f"{date}T00:00:00Z"


# -- the build -----------------------------------------------------------------


@dataclass
class Commit:
    sha: str
    date: str
    title: str
    files: dict[str, str]
    api_info: str | None
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "sha": self.sha,
            "date": iso(self.date),
            "title": self.title,
            "files": dict(sorted(self.files.items())),
            "api_info": self.api_info,
            "source": self.source,
        }


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    commits: list[Commit]
    extra: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        commits = sorted(self.commits, key=lambda commit: (commit.date, commit.sha))
        return {
            "repo_type": self.repo_type,
            "repo_id": self.repo_id,
            "commits": [commit.to_json() for commit in commits],
            **self.extra,
        }


class Builder:
    def __init__(self, source: Path) -> None:
        self.source = source
        self.blobs: dict[str, bytes] = {}
        self.tables: dict[tuple[str, str], pa.Table] = {}
        self._rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.notes: list[str] = []
        self.api_notes: list[str] = []

    def add_blob(self, data: bytes) -> str:
        digest = sha256_hex(data)
        self.blobs[digest] = data
        return digest

    def read_source(self, name: str) -> bytes:
        path = self.source / name
        if not path.is_file():
            raise BuildError(f"missing source file: {name}")
        return path.read_bytes()

    # datasets

    def dataset_repos(self) -> list[Repo]:
        repos: dict[str, Repo] = {}
        for export in EXPORTS:
            self.read_source(export.source)  # fail early with a clear message
            table = read_export(self.source / export.source, export.rename)
            self.tables[(export.repo_id, export.date)] = table
            upstream = SOURCES[export.source]
            card = dataset_card(export, upstream, table)
            files = {
                LEADERBOARD_FILE: self.add_blob(parquet_bytes(table)),
                "README.md": self.add_blob(card.encode("utf-8")),
            }
            commit = Commit(
                sha=synthetic_sha("dataset", export.repo_id, export.date, files),
                date=export.date,
                title=f"Leaderboard export of {export.date}",
                files=files,
                api_info=None,
                source=f"{export.source} from {upstream.repo}@{upstream.commit[:7]}",
            )
            repo = repos.setdefault(export.repo_id, Repo("dataset", export.repo_id, [], {}))
            repo.commits.append(commit)
        return list(repos.values())

    # models recorded from the Hub API

    def api_repos(self) -> list[Repo]:
        repos: dict[str, Repo] = {}
        projections: dict[str, list[dict[str, Any]]] = {}
        for name, upstream in sorted(API_SOURCES.items()):
            body = self.read_source(f"hf_api/{name}")
            info = json.loads(body)
            repo_id = info["id"]
            date = api_date(name)
            if "expand_" in name:
                # Only `_id`, `id` and the expanded field: not a whole model info
                # body, so it cannot stand for the repo at any commit.
                projections.setdefault(repo_id, []).append(
                    {
                        "date": iso(date),
                        "expand": name.split("__expand_", 1)[1].split("__", 1)[0],
                        "body": self.add_blob(body),
                        "source": f"hf_api/{name} from {upstream.repo}@{upstream.commit[:7]}",
                    }
                )
                continue
            commit = Commit(
                sha=info["sha"],
                date=date,
                title=f"Recorded /api/models body of {date}",
                files={},
                api_info=self.add_blob(body),
                source=f"hf_api/{name} from {upstream.repo}@{upstream.commit[:7]}",
            )
            repos.setdefault(repo_id, Repo("model", repo_id, [], {})).commits.append(commit)
            self.api_notes.append(
                f"| `{repo_id}` | {date} | `{commit.sha}` | `hf_api/{name}` | {upstream.repo} | "
                f"`{upstream.path}` | {upstream.commit} |"
            )
        for repo_id, items in projections.items():
            if repo_id not in repos:
                raise BuildError(f"partial API body for unrecorded repo {repo_id}")
            repos[repo_id].extra["partial_api_info"] = sorted(items, key=lambda i: i["date"])
        return list(repos.values())

    # article models, from leaderboard rows and recorded cards

    def newest_row(self, repo_id: str) -> tuple[str, dict[str, Any]] | None:
        """The row naming `repo_id` in the newest export that has one (its latest submission)."""
        for export in sorted(EXPORTS, key=lambda e: e.date, reverse=True):
            key = (export.repo_id, export.date)
            table = self.tables[key]
            name_column = next(c for c in _NAME_COLUMNS if c in table.column_names)
            if key not in self._rows:
                self._rows[key] = table.to_pylist()
            rows = [row for row in self._rows[key] if row[name_column] == repo_id]
            if rows:
                # Variants (precision, chat template) share the repo: the latest
                # submission is the newest look at it; ties keep table order.
                best = max(
                    enumerate(rows),
                    key=lambda item: (item[1].get("Submission Date") or "", -item[0]),
                )[1]
                return export.date, best
        return None

    def article_repos(self) -> list[Repo]:
        newest_export = max(export.date for export in EXPORTS)
        repos = []
        for model in ARTICLE_MODELS:
            found = self.newest_row(model.repo_id)
            files: dict[str, str] = {}
            card_data: dict[str, Any] = {}
            row: dict[str, Any]
            if model.card is not None:
                card = self.read_source(model.card)
                files["README.md"] = self.add_blob(card)
                card_data = front_matter(card)
            if found is None:
                export_date, row = newest_export, {}
                date, date_from = newest_export, "no leaderboard row: newest export's date"
            else:
                export_date, row = found
                upload = row.get("Upload To Hub Date")
                if upload:
                    date, date_from = upload, f"`Upload To Hub Date` of its {export_date} row"
                else:
                    date, date_from = export_date, f"date of the {export_date} export"
            sha = row.get("Model sha") or synthetic_sha("model", model.repo_id, date, files)
            namespace = model.repo_id.split("/", 1)[0]
            info: dict[str, Any] = {"id": model.repo_id, "modelId": model.repo_id}
            info["author"] = namespace
            info["sha"] = sha
            if card_data.get("pipeline_tag"):
                info["pipeline_tag"] = card_data["pipeline_tag"]
            info["tags"] = hub_tags(card_data)
            if card_data.get("library_name"):
                info["library_name"] = card_data["library_name"]
            if row.get("Hub ❤️") is not None:
                info["likes"] = row["Hub ❤️"]
            if card_data:
                info["cardData"] = card_data
            info["siblings"] = [{"rfilename": path} for path in sorted(files)]
            source = (
                f"built from {model.card or 'no card'}"
                + (f" and the {export_date} leaderboard row" if row else "")
                + f"; date: {date_from}"
            )
            commit = Commit(
                sha=sha,
                date=date,
                title=f"Model info of {model.repo_id} as the recordings know it",
                files=files,
                api_info=self.add_blob(compact_json(info)),
                source=source,
            )
            repos.append(Repo("model", model.repo_id, [commit], {}))
            self.notes.append(
                f"| `{model.repo_id}` | {model.card or 'none (no Hub card exists)'} | "
                f"{export_date if row else 'none'} | "
                f"{'`' + sha + '`' + ('' if row.get('Model sha') else ' (synthetic)')} | "
                f"{date} ({date_from}) | {row.get('Hub ❤️', '—')} |"
            )
        return repos

    def build(self) -> tuple[dict[str, Any], str]:
        repos = self.dataset_repos() + sorted(
            self.api_repos() + self.article_repos(), key=lambda repo: repo.repo_id.lower()
        )
        ids = [repo.repo_id for repo in repos]
        if len(set(ids)) != len(ids):
            raise BuildError("a repo is recorded twice")
        manifest = {
            "format": 1,
            "repos": [repo.to_json() for repo in repos],
            "redirects": dict(sorted(REDIRECTS.items())),
        }
        return manifest, provenance(manifest, self.tables, self.notes, self.api_notes)


def dataset_card(export: Export, upstream: Upstream, table: pa.Table) -> str:
    mapping = ""
    if export.rename is not None:
        pairs = [f"`{src}` → `{dst}`" for src, dst in export.rename.items() if src != dst]
        kept = [f"`{src}`" for src, dst in export.rename.items() if src == dst]
        mapping = "\nColumns renamed from the export: " + ", ".join(pairs) + "."
        mapping += "\nKept under the export's own name (no display twin): " + ", ".join(kept)
        mapping += ".\n"
    return (
        "---\n"
        f"pretty_name: {export.repo_id} (export of {export.date})\n"
        "configs:\n"
        "- config_name: default\n"
        "  data_files:\n"
        "  - split: train\n"
        "    path: data/train-*\n"
        "---\n\n"
        f"# {export.repo_id}: export of {export.date}\n\n"
        "A recording for llmsync's replay hub, not the Hugging Face dataset itself: one\n"
        "real export of the Open LLM Leaderboard's table, stored as Parquet.\n\n"
        f"{export.description}\n\n"
        f"- Source file: `{export.source}`\n"
        f"- Upstream: `{upstream.repo}`, `{upstream.path}`, commit {upstream.commit}\n"
        f"- Upstream says: {upstream.what}\n"
        f"- Rows: {table.num_rows}; columns: {table.num_columns}\n"
        "- Values are as the export had them (numbers as numbers, booleans as booleans,\n"
        "  empty cells as nulls); nothing is rounded or recomputed.\n"
        f"{mapping}"
    )


# The replay hub's generated population is described beside the server code;
# the provenance only points there (nothing generated is stored in the recordings).
POPULATION_NOTE = [
    "## Generated population (`--population`)",
    "",
    "Nothing generated is stored here. With `--population` (`llmsync replay-hub",
    "--population`, `ReplayHub(population=True)`) the replay hub also serves every other",
    "model repo that the leaderboard exports above name, generated at start from that",
    "repo's own leaderboard row and labelled as generated in every body and card it",
    "serves; see `../POPULATION.md` for how.",
    "",
]


def provenance(
    manifest: Mapping[str, Any],
    tables: Mapping[Any, pa.Table],
    notes: list[str],
    api_notes: list[str],
) -> str:
    lines = [
        "# Provenance of the replay hub's recordings",
        "",
        "Built by `scripts/build_recordings.py` from real public files (each copied byte",
        "for byte from the public GitHub repository and commit named below). Re-run",
        "`python scripts/build_recordings.py --source <folder with those files>` to rebuild;",
        "the output is byte-identical for the same input.",
        "",
        "## Commit ids",
        "",
        "- Dataset commits carry synthetic ids of the replay hub: sha1 of the UTF-8 text",
        "  `{repo_type}/{repo_id}\\n{date}\\n` followed by `{path} {sha256}\\n` for each file,",
        "  sorted by path. They are stable but are not the Hub's real commit ids.",
        "- Model commits carry the real model sha from the data (the recorded API body's",
        "  `sha`, or the leaderboard row's `Model sha`). Where the data has none the id is",
        "  synthetic, as above, and marked so below.",
        "- Dates are `T00:00:00Z` of a day: the export's date, or the recording's date.",
        "",
        "## Leaderboard datasets",
        "",
        "Each commit holds `data/train-00000-of-00001.parquet` (the export's table under",
        "the leaderboard's display column names) and a `README.md` dataset card. Empty CSV",
        "cells are nulls; numbers, booleans and strings are kept as the export wrote them.",
        "",
        "| repo | date | source file | upstream repo | upstream path | upstream commit | rows |",
        "|---|---|---|---|---|---|---|",
    ]
    for export in EXPORTS:
        up = SOURCES[export.source]
        rows = tables[(export.repo_id, export.date)].num_rows
        lines.append(
            f"| `{export.repo_id}` | {export.date} | `{export.source}` | {up.repo} | "
            f"`{up.path}` | {up.commit} | {rows} |"
        )
    lines += [
        "",
        "Columns per export:",
        "",
    ]
    for export in EXPORTS:
        names = tables[(export.repo_id, export.date)].column_names
        lines.append(f"- {export.date}: " + ", ".join(f"`{name}`" for name in names))
    lines += [
        "",
        "Mapping notes:",
        "",
        "- 2023-06-10 and 2023-09-04: headers as written, UTF-8 BOM removed (both files",
        "  start with one). A few 2023-06-10 rows have an empty `TruthfulQA (0-shot)`: null.",
        "- 2024-06-19 (v1 final): the exporter (fboulnois/llm-leaderboard-csv, huggingface.R)",
        "  lower-cased and snake_cased the Space's headers; mapped back to the names in",
        "  open-llm-leaderboard-old/contents' dataset card (`Average ⬆️`, `Hub ❤️`,",
        "  `#Params (B)`, `Weight type`, `Model sha`, `Merged`, `MoE`, `Flagged`, `date`).",
        "  `date` is the eval request's submission time. `Model` is the link text the",
        "  exporter took out of the HTML cell, `url` its href (kept under its own name).",
        "  Observed, not changed: `Merged` is false for most 🤝 merge rows and `MoE` true",
        "  for most dense models, as the leaderboard served them.",
        "- 2024-10-09 and 2024-11-10: display headers as served by the gradio API.",
        "- 2025-03-21 (v2 final): the JSON API's snake_case fields mapped back to the",
        "  contents dataset's display names: `_normalized_score` → the displayed 0–100",
        "  column (`IFEval` ...), `_value` → its `Raw` column, `model_name` → `fullname`,",
        "  `model_average_score` → `Average ⬆️` (unrounded), `metadata_*` → `Upload To Hub",
        "  Date`, `Submission Date`, `Generation`, `Base Model`, `Hub License`, `Hub ❤️`,",
        "  `#Params (B)`, `CO₂ cost (kg)`; `features_is_merged/moe/flagged/official_provider`",
        "  → `Merged`, `MoE`, `Flagged`, `Official Providers`. `features_is_not_available_on_hub`",
        "  is misnamed by the API: the backend fills it from `Available on the hub` and on the",
        "  1,789 rows it shares with the 2024-11-10 export it equals that column in 1,745",
        "  (true for 1,468 of them), so it is stored as `Available on the hub`. `model_type`",
        "  → `Type` keeps the API's spelling (`chatmodels`, no emoji). `id` and",
        "  `evaluations_*_name` have no display twin and keep their names.",
        "",
        "## Model repos recorded from the Hub API",
        "",
        "Each recorded `GET /api/models/{id}` body is served as is (`api_info`), one commit",
        "per recording: date = recording date, sha = the body's `sha`. These repos have no",
        "files recorded (their `siblings` list files whose bytes were never captured) and",
        "no card.",
        "",
        "| repo | date | sha | source file | upstream repo | upstream path | upstream commit |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += api_notes
    lines += [
        "",
        "`partial_api_info` (meta-llama/Llama-3.1-8B-Instruct): the",
        "`?expand=inferenceProviderMapping` body of 2025-02-17 holds only `_id`, `id` and",
        "`inferenceProviderMapping`. It is kept as recorded, under its own manifest key, and",
        "is not any commit's `api_info`.",
        "",
        "Redirects: `bert-base-uncased` → `google-bert/bert-base-uncased` (the Hub answered",
        "307 for the old name of the renamed repo in the 2024-04-09 recording).",
        "",
        "## Article models",
        "",
        "Model info built only from facts in the data, in the Hub's `/api/models` shape",
        "(`_id`, `downloads`, `lastModified`, `private`, `gated`, `safetensors` and the",
        "like are absent because the data does not have them): `id`, `modelId`, `author`",
        "(the namespace), `sha` (the `Model sha` of the newest leaderboard row naming the",
        "repo; among variants of that export, its latest submission), `likes` (that row's",
        "`Hub ❤️`), `cardData` (the card's YAML front matter), `tags` (derived from the",
        "front matter the way the Hub does: library, pipeline tag, the card's tags,",
        "language codes, `dataset:`, `license:`), `library_name` / `pipeline_tag` only",
        "where the card states them, `siblings` (the repo's recorded files). The commit",
        "date is that row's `Upload To Hub Date` when it has one, else the date of that",
        "export. `README.md` is the recorded card's exact bytes.",
        "",
        "| repo | card (source file) | leaderboard export | sha | commit date | likes |",
        "|---|---|---|---|---|---|",
        *notes,
        "",
        "Card sources:",
        "",
    ]
    for model in ARTICLE_MODELS:
        if model.card is not None:
            up = SOURCES[model.card]
            lines.append(
                f"- `{model.card}`: {up.repo}, `{up.path}`, commit {up.commit} ({up.what})"
            )
    lines += [
        "",
        "No Hub card was recorded for `huggyllama/llama-7b` or `chavinlo/alpaca-native`:",
        "those repos have no `README.md`. The Stanford Alpaca card of the",
        "tatsu-lab/stanford_alpaca GitHub repository (`model_card.md`, commit",
        "f13496211289def0ff88ae673389ae14a818b4b3) is not a Hub card; it is kept as the",
        "card-parsing fixture `tests/fixtures/cards/stanford_alpaca_model_card.md`.",
        "`chavinlo/alpaca-native`'s newest row (v1 final) says `Available on the hub`:",
        "false. `NousResearch/Llama-2-7b-chat-hf` is in no leaderboard export: its sha is",
        "synthetic, it has no likes and its date is the newest export's date.",
        "",
        *POPULATION_NOTE,
    ]
    repo_count = len(manifest["repos"])
    lines.append(f"{repo_count} repos in `manifest.json`.")
    return "\n".join(lines) + "\n"


def write_output(
    out: Path, manifest: Mapping[str, Any], blobs: Mapping[str, bytes], prov: str
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # Start from an empty blob store so no stale blob survives a rebuild.
    blob_dir = out / "blobs"
    if blob_dir.exists():
        shutil.rmtree(blob_dir)
    blob_dir.mkdir()
    for digest, data in sorted(blobs.items()):
        (blob_dir / digest).write_bytes(data)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    (out / "PROVENANCE.md").write_text(prov, encoding="utf-8")


def referenced_blobs(manifest: Mapping[str, Any]) -> Iterable[str]:
    for repo in manifest["repos"]:
        for commit in repo["commits"]:
            yield from commit["files"].values()
            if commit["api_info"]:
                yield commit["api_info"]
        for item in repo.get("partial_api_info", []):
            yield item["body"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="folder with the real exports (relative paths: from the repository root)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="recordings folder")
    args = parser.parse_args(argv)
    source = args.source if args.source.is_absolute() else REPO_ROOT / args.source
    try:
        builder = Builder(source)
        manifest, prov = builder.build()
    except BuildError as exc:
        print(f"build_recordings: {exc}", file=sys.stderr)
        return 1
    used = set(referenced_blobs(manifest))
    blobs = {digest: data for digest, data in builder.blobs.items() if digest in used}
    write_output(args.out, manifest, blobs, prov)
    size = sum(len(data) for data in blobs.values())
    print(f"{len(manifest['repos'])} repos, {len(blobs)} blobs, {size:,} bytes -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
