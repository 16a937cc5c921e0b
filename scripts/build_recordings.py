#!/usr/bin/env python3
"""Build the replay hub's recordings (`src/llmsync/replay/recordings/`) from the real exports.

    python scripts/build_recordings.py [--source DIR] [--out DIR]

`--source` is a folder holding the files listed in `SOURCES` and `API_SOURCES`
below and `history/leaderboard-history.bundle` (the leaderboards' real exports,
one git commit each), byte for byte as their upstream repositories have them
(default: `../shared/hub-data` next to the repository). Nothing here invents a
value: every table cell, card and API body comes from those files; the only
things made up are the replay hub's own commit ids of the dataset repos, and
they are derived from content (see `synthetic_sha`).

Every export of both leaderboards is a commit of its `contents` dataset, except
the partial captures (`leaderboard_history.PARTIAL_CAPTURES`), kept apart. The
exports are stored as one row store per leaderboard (each distinct row once) and
per export its row ids; the replay hub rebuilds each export's Parquet from them
(`llmsync.replay.rowstore`), and this script records the sha256 and size of
those files, built here by the same code.

The output is deterministic: the same input gives the same bytes, so re-running
the script leaves no diff (fixed Parquet writer options, sorted keys, no build
timestamps).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

# The builder and the replay hub must write an export's Parquet with the same
# code: use this repository's `llmsync`, whatever is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import leaderboard_history as history

from llmsync.replay import rowstore

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = Path("..") / "shared" / "hub-data"  # relative to the repository root
DEFAULT_OUT = REPO_ROOT / "src" / "llmsync" / "replay" / "recordings"

LEADERBOARD_FILE = "data/train-00000-of-00001.parquet"


# -- where every card and API body came from (copied from SOURCES.md) ----------


@dataclass(frozen=True)
class Upstream:
    repo: str
    path: str
    commit: str
    what: str


# Hub cards of the curated repos beyond the article models (see SOURCES.md).
CURATED_CARD_SOURCES: dict[str, Upstream] = {
    "modelcard_tiiuae__falcon-40b.md": Upstream(
        "Decentralised-AI/falcon-40b",
        "README.md",
        "6e61c89591cc7a3328d4010ceaf701dfec03fd18",
        "Hub card of tiiuae/falcon-40b from a GitHub mirror of the Hub git repo, as of "
        "2023-05-26 (still under the TII Falcon LLM License)",
    ),
    "modelcard_tiiuae__falcon-7b-instruct.md": Upstream(
        "WasimAkramShaikh/falcon-7b-instruct-clone",
        "README.md",
        "cf4b3c42ce2fdfe24f753f0f0d179202fea59c99",
        "Hub card of tiiuae/falcon-7b-instruct from a clone of the Hub git repo "
        "(README last changed at Hub commit eb410fb6ffa9028e97adb801f0d6ec46d02f8b07)",
    ),
    "modelcard_lmsys__vicuna-7b-v1.3.md": Upstream(
        "SqueezeAILab/SqueezeLLM",
        "models/vicuna-7b-v1.3/README.md",
        "a5fd71f353bf569feb7b55737c1c1493e78e8f31",
        "vendored Hub card of lmsys/vicuna-7b-v1.3",
    ),
    "modelcard_EleutherAI__pythia-12b.md": Upstream(
        "Wenxin-Jiang/CS577-NLP",
        "project/model_cards/_train/EleutherAI_pythia-12b_README.md",
        "17fb8ca981698024599b423ad140f1ac36608529",
        "Hub card of EleutherAI/pythia-12b as downloaded from the Hub's raw README in spring 2023",
    ),
}

SOURCES: dict[str, Upstream] = {
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
    **CURATED_CARD_SOURCES,
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


# Which column of a table names the model, per shape.
_NAME_COLUMNS = ("fullname", "Model")


# -- article models ------------------------------------------------------------


@dataclass(frozen=True)
class ArticleModel:
    repo_id: str
    card: str | None  # source file of its recorded Hub card, None: no Hub card recorded
    # Files the Hub has but the recordings lack: path -> what is known of them.
    # The replay hub answers them `NotRecorded`, never as missing.
    not_recorded: tuple[tuple[str, str], ...] = ()


# The curated file's other repos (bases and variants of the article models):
# assembled the same way, with their real Hub card where one was found.
CURATED_MODELS: tuple[ArticleModel, ...] = (
    ArticleModel("tiiuae/falcon-40b", "modelcard_tiiuae__falcon-40b.md"),
    ArticleModel("tiiuae/falcon-7b-instruct", "modelcard_tiiuae__falcon-7b-instruct.md"),
    ArticleModel("lmsys/vicuna-7b-v1.3", "modelcard_lmsys__vicuna-7b-v1.3.md"),
    ArticleModel("EleutherAI/pythia-12b", "modelcard_EleutherAI__pythia-12b.md"),
    ArticleModel("huggyllama/llama-13b", None),
    ArticleModel("huggyllama/llama-65b", None),
    ArticleModel("databricks/dolly-v2-7b", None),
    ArticleModel("databricks/dolly-v2-3b", None),
    ArticleModel("tatsu-lab/alpaca-7b-wdiff", None),
)

ARTICLE_MODELS: tuple[ArticleModel, ...] = (
    ArticleModel("tiiuae/falcon-40b-instruct", "modelcard_tiiuae__falcon-40b-instruct.md"),
    ArticleModel("lmsys/vicuna-13b-v1.3", "modelcard_lmsys__vicuna-13b-v1.3.md"),
    ArticleModel("chavinlo/alpaca-native", None),
    ArticleModel(
        "huggyllama/llama-7b",
        None,
        not_recorded=(
            ("README.md", "on the Hub (472 bytes at commit 08637d3), bytes not recorded"),
        ),
    ),
    ArticleModel("EleutherAI/gpt-j-6b", "modelcard_EleutherAI__gpt-j-6b.md"),
    ArticleModel("databricks/dolly-v2-12b", "modelcard_databricks__dolly-v2-12b.md"),
    ArticleModel("lmsys/vicuna-7b-v1.5", "modelcard_lmsys__vicuna-7b-v1.5.md"),
    ArticleModel(
        "NousResearch/Llama-2-7b-chat-hf", "modelcard_NousResearch__Llama-2-7b-chat-hf.md"
    ),
    *CURATED_MODELS,
)


# -- assembled model info --------------------------------------------------------

# The key that labels an assembled /api/models body, as `llmsync_replay_generated`
# labels the population's generated ones: a reader of the raw bytes sees it.
ASSEMBLED_KEY = "llmsync_replay_assembled"

# The Hub's safetensors dtype names for the leaderboard's precisions.
_DTYPES = {"bfloat16": "BF16", "float16": "F16", "float32": "F32"}


# Why a served repo's README.md is answered `NotRecorded` when no card was found:
# the public sources do not say whether the Hub has one, so "no card" would be a
# claim about the Hub that the recordings cannot back.
UNKNOWN_CARD = "no copy found in public sources; whether the Hub has one is not recorded"


def card_gaps(model: ArticleModel) -> dict[str, str]:
    """The files a model's commit answers `NotRecorded`: those known on the Hub
    but not recorded, and the card of a repo whose card was never found."""
    gaps = dict(model.not_recorded)
    if model.card is None:
        gaps.setdefault("README.md", UNKNOWN_CARD)
    return gaps


def assembled_label(model: ArticleModel, export_date: str | None) -> str:
    parts = [f"card: {model.card}" if model.card else "no card recorded"]
    if export_date:
        parts.append(
            f"sha, likes, licence and parameters from the {export_date} leaderboard row "
            "(`#Params (B)` x 1e9, as the leaderboard rounded it)"
        )
    return (
        "assembled by scripts/build_recordings.py from "
        + "; ".join(parts)
        + "; not a recorded Hub response"
    )


def row_facts(row: Mapping[str, Any], card_data: Mapping[str, Any]) -> dict[str, Any]:
    """The leaderboard row's licence (when the card states none) and parameter
    count, under the keys the Hub puts them (`tags` replaces the card's tags)."""
    facts: dict[str, Any] = {}
    licence = row.get("Hub License")
    if isinstance(licence, str) and licence and not card_data.get("license"):
        # The Hub tags a repo `license:<id>` from its card; the row's `Hub License`
        # is that value as the leaderboard read it.
        facts["tags"] = [*hub_tags(card_data), f"license:{licence}"]
    dtype = _DTYPES.get(str(row.get("Precision") or "").lower())
    params = row.get("#Params (B)")
    if isinstance(params, int | float) and params > 0 and dtype is not None:
        total = round(params * 1e9)
        facts["safetensors"] = {"parameters": {dtype: total}, "total": total}
    return facts


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
    not_recorded: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        gaps = dict(sorted(self.not_recorded.items()))
        return {
            "sha": self.sha,
            "date": iso(self.date),
            "title": self.title,
            "files": dict(sorted(self.files.items())),
            "api_info": self.api_info,
            "source": self.source,
            # Only where there are gaps: the other commits keep their bytes.
            **({"not_recorded": gaps} if gaps else {}),
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


@dataclass(frozen=True)
class ServedExport:
    """One export as a commit of its dataset repo (or a partial capture)."""

    repo_id: str
    item: history.ParsedExport
    layout: str
    commit: Commit
    table: pa.Table


class Builder:
    def __init__(self, source: Path) -> None:
        self.source = source
        self.blobs: dict[str, bytes] = {}
        self.histories: list[history.LeaderboardHistory] = []
        self.stores: dict[str, rowstore.RowStore] = {}
        self.exports: list[ServedExport] = []
        self.row_stores: dict[str, dict[str, Any]] = {}
        self.built_files: dict[str, dict[str, Any]] = {}
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
        try:
            self.histories = history.read_histories(self.source)
        except history.HistoryError as exc:
            raise BuildError(str(exc)) from exc
        repos = []
        for board in self.histories:
            rows_blob = rowstore.parquet_bytes(board.rows, compression_level=19)
            index_blob = rowstore.index_bytes(board.index)
            # Decoded from the stored bytes, exactly as the replay hub will.
            store = rowstore.RowStore.from_bytes(rows_blob, index_blob)
            self.stores[board.repo_id] = store
            layouts: dict[tuple[str, ...], str] = {}
            for item in board.exports:
                layouts.setdefault(item.columns, f"{item.format.key}/{item.export.date}")
            self.row_stores[board.repo_id] = {
                "rows": self.add_blob(rows_blob),
                "index": self.add_blob(index_blob),
                "distinct_rows": board.rows.num_rows,
                "layouts": {name: list(columns) for columns, name in layouts.items()},
            }
            commits, partial = [], []
            for item in board.exports:
                served = self.served_export(board.repo_id, store, item, layouts[item.columns])
                self.exports.append(served)
                if item.partial is None:
                    commits.append(served.commit)
                else:
                    partial.append({**served.commit.to_json(), "reason": item.partial})
            extra = {"partial_captures": partial} if partial else {}
            repos.append(Repo("dataset", board.repo_id, commits, extra))
        return repos

    def served_export(
        self, repo_id: str, store: rowstore.RowStore, item: history.ParsedExport, layout: str
    ) -> ServedExport:
        export = item.export
        table = store.export_table(item.key, item.columns)
        if table.num_rows != export.rows or tuple(table.column_names) != item.columns:
            raise BuildError(f"{export.file} of {export.date}: the row store lost rows")
        data = store.export_file(item.key, item.columns)
        digest = sha256_hex(data)
        self.built_files[digest] = {
            "size": len(data),
            "row_store": repo_id,
            "export": item.key,
            "layout": layout,
        }
        card = dataset_card(repo_id, item, table)
        files = {LEADERBOARD_FILE: digest, "README.md": self.add_blob(card.encode("utf-8"))}
        commit = Commit(
            sha=synthetic_sha("dataset", repo_id, export.date, files),
            date=export.date,
            title=f"Leaderboard export of {export.date}"
            + (" (partial capture)" if item.partial else ""),
            files=files,
            api_info=None,
            source=(
                f"{export.file} of bundle commit {export.bundle_commit[:12]}; upstream "
                f"{export.upstream_repo}@{export.upstream_commit[:7]} {export.upstream_path}"
            ),
        )
        return ServedExport(repo_id=repo_id, item=item, layout=layout, commit=commit, table=table)

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
        served = [export for export in self.exports if export.item.partial is None]
        for export in sorted(served, key=lambda e: e.item.export.date, reverse=True):
            table = export.table
            name_column = next(c for c in _NAME_COLUMNS if c in table.column_names)
            found = table.filter(pc.equal(table.column(name_column), repo_id))
            if found.num_rows:
                # Variants (precision, chat template) share the repo: the latest
                # submission is the newest look at it; ties keep table order.
                best = max(
                    enumerate(found.to_pylist()),
                    key=lambda item: (item[1].get("Submission Date") or "", -item[0]),
                )[1]
                return export.item.export.date, best
        return None

    def article_repos(self) -> list[Repo]:
        newest_export = max(
            export.item.export.date for export in self.exports if export.item.partial is None
        )
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
            info.update(row_facts(row, card_data))
            known = sorted({*files, *dict(model.not_recorded)})
            info["siblings"] = [{"rfilename": path} for path in known]
            info[ASSEMBLED_KEY] = assembled_label(model, export_date if row else None)
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
                not_recorded=card_gaps(model),
            )
            repos.append(Repo("model", model.repo_id, [commit], {}))
            self.notes.append(
                f"| `{model.repo_id}` | {model.card or 'none (no card recorded)'} | "
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
            "format": 2,
            # Built files are written by this pyarrow; another version may write
            # other bytes, and the replay hub then computes their digests itself.
            "built_with": {"pyarrow": pa.__version__},
            "row_stores": self.row_stores,
            "built_files": dict(sorted(self.built_files.items())),
            "repos": [repo.to_json() for repo in repos],
            "redirects": dict(sorted(REDIRECTS.items())),
        }
        return manifest, provenance(manifest, self.exports, self.notes, self.api_notes)


def dataset_card(repo_id: str, item: history.ParsedExport, table: pa.Table) -> str:
    export = item.export
    partial = f"\n**Not an ordinary revision.** This is a {item.partial}.\n" if item.partial else ""
    return (
        "---\n"
        f"pretty_name: {repo_id} (export of {export.date})\n"
        "configs:\n"
        "- config_name: default\n"
        "  data_files:\n"
        "  - split: train\n"
        "    path: data/train-*\n"
        "---\n\n"
        f"# {repo_id}: export of {export.date}\n\n"
        "A recording for llmsync's replay hub, not the Hugging Face dataset itself: one\n"
        "real export of the Open LLM Leaderboard's table, stored as Parquet under the\n"
        "leaderboard's display column names.\n"
        f"{partial}\n"
        f"{item.format.note}\n\n"
        f"- Upstream: `{export.upstream_repo}`, `{export.upstream_path}`, "
        f"commit {export.upstream_commit}\n"
        f"- Export file: `{export.file}` of bundle commit {export.bundle_commit}\n"
        f"- Rows: {table.num_rows}; columns: {table.num_columns} ({item.format.label})\n"
        "- Values are as the export had them (numbers as numbers, booleans as booleans,\n"
        "  empty cells as nulls); nothing is rounded or recomputed.\n"
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


def missing_cards_note() -> list[str]:
    """Which served repos have no recorded card, and the files the Hub has but
    the recordings lack (answered `NotRecorded`: a gap, not a missing file)."""
    lines = ["", "Served without a recorded Hub card (no real card was found):", ""]
    lines += [f"- `{model.repo_id}`" for model in ARTICLE_MODELS if model.card is None]
    lines += [
        "",
        "Files the recordings lack (known on the Hub, or unknown either way): the replay",
        "hub answers them 404 with `X-Error-Code: NotRecorded` (never sent by the Hub),",
        "which the client reports as `models.status` `not_recorded`, a gap in the",
        "recordings, never as `no_card` (a fact about the Hub). Only files known on the",
        "Hub are listed in the body's `siblings`:",
        "",
    ]
    lines += [
        f"- `{model.repo_id}` `{path}`: {what}"
        for model in ARTICLE_MODELS
        for path, what in sorted(card_gaps(model).items())
    ]
    return lines


def provenance(
    manifest: Mapping[str, Any],
    exports: list[ServedExport],
    notes: list[str],
    api_notes: list[str],
) -> str:
    served = [export for export in exports if export.item.partial is None]
    partial = [export for export in exports if export.item.partial is not None]
    lines = [
        "# Provenance of the replay hub's recordings",
        "",
        "Built by `scripts/build_recordings.py` from real public files (each copied byte",
        "for byte from the public GitHub repository and commit named below). Re-run",
        "`python scripts/build_recordings.py --source <folder with those files>` to rebuild;",
        "the output is byte-identical for the same input and pyarrow version.",
        "",
        "## Commit ids and dates (generated)",
        "",
        "- Dataset commit ids are **generated** by the replay hub, they are not the Hub's:",
        "  sha1 of the UTF-8 text `{repo_type}/{repo_id}\\n{date}\\n` followed by",
        "  `{path} {sha256}\\n` for each file, sorted by path (for the Parquet file, the",
        "  sha256 of the bytes the replay hub builds, below). Stable, derived from content.",
        "- Model commits carry the real model sha from the data (the recorded API body's",
        "  `sha`, or the leaderboard row's `Model sha`). Where the data has none the id is",
        "  generated, as above, and marked *synthetic* below.",
        "- Dates are `T00:00:00Z` of a day: the export's date (its bundle commit's date),",
        "  or the recording's date.",
        "",
        "## Leaderboard datasets",
        "",
        f"Source: `{history.BUNDLE.as_posix()}`, a git bundle of {len(exports)} real exports of",
        "the Open LLM Leaderboard, one commit each: the commit replaces",
        "`open_llm_leaderboard_v1.csv` or `open_llm_leaderboard_v2.csv` with the export's",
        "bytes as its upstream repository stored them; the commit date is the export's",
        "date and the commit body names the upstream `repo@commit path`.",
        "",
        f"Every export is a commit of its `contents` dataset, in date order ({len(served)}",
        f"commits), except {len(partial)} partial captures (below). Each commit holds",
        "`data/train-00000-of-00001.parquet` (the export's table under the leaderboard's",
        "display column names, its rows in upstream order, every row kept, exact",
        "duplicates too) and a `README.md` dataset card. Empty CSV cells are nulls;",
        "numbers, booleans and strings are the export's text read as such, nothing rounded",
        "or recomputed. A column has one type over a leaderboard's whole history (a",
        "column that is whole in one export and fractional in another is a float in both).",
        "",
        "### How the exports are stored",
        "",
        "Each distinct row is stored once: per leaderboard a *row store* (`row_stores` in",
        "`manifest.json`: a Parquet table over the union of all the exports' columns) and",
        "a *row index* (one row per export, keyed by its bundle commit: its row ids in",
        "upstream order). The replay hub rebuilds an export's Parquet as",
        "`rows.take(row_ids).select(columns)` written with pinned options",
        "(`llmsync.replay.rowstore.parquet_bytes`: format 2.6, data pages v1, zstd level",
        "3, dictionaries, statistics, one row group, no timestamps): the same bytes on",
        "every request and in every process. `built_files` gives each built file's sha256",
        "and size, as written by pyarrow "
        + f"{manifest['built_with']['pyarrow']}; under another pyarrow",
        "version the replay hub builds every file once at start and announces the digests",
        "of what it built.",
        "",
        "| repo | commits | partial captures | distinct rows | rows over all exports |",
        "|---|---|---|---|---|",
    ]
    for repo_id, store in manifest["row_stores"].items():
        mine = [export for export in exports if export.repo_id == repo_id]
        lines.append(
            f"| `{repo_id}` | {sum(1 for e in mine if e.item.partial is None)} | "
            f"{sum(1 for e in mine if e.item.partial is not None)} | "
            f"{store['distinct_rows']} | {sum(e.table.num_rows for e in mine)} |"
        )
    lines += ["", "### Formats and column mapping", ""]
    for fmt in history.FORMATS:
        mine = [export for export in exports if export.item.format is fmt]
        if not mine:
            continue
        dates = f"{mine[0].item.export.date} .. {mine[-1].item.export.date}"
        lines += [f"**{fmt.label}** ({len(mine)} exports, {dates}). {fmt.note}", ""]
        if fmt.rename is not None:
            used = {name for export in mine for name in export.item.columns}
            pairs = [
                f"`{src}` → `{dst}`"
                for src, dst in fmt.rename.items()
                if src != dst and dst in used
            ]
            kept = [f"`{src}`" for src, dst in fmt.rename.items() if src == dst and dst in used]
            lines.append("- Renamed: " + ", ".join(pairs) + ".")
            if kept:
                lines.append("- Kept under the export's own name: " + ", ".join(kept) + ".")
        for layout in dict.fromkeys(export.layout for export in mine):
            first = next(export for export in mine if export.layout == layout)
            count = sum(1 for export in mine if export.layout == layout)
            lines.append(
                f"- Layout `{layout}` ({count} exports): "
                + ", ".join(f"`{name}`" for name in first.item.columns)
            )
        lines.append("")
    lines += [
        "Mapping notes:",
        "",
        "- v1 archive: display names as in open-llm-leaderboard-old/contents' dataset card.",
        "  Observed, not changed: `Merged` is false for most 🤝 merge rows and `MoE` true",
        "  for most dense models, as the leaderboard served them.",
        "- v2 display columns: `Not_Merged` and `Maintainer's Highlight` are the display",
        "  columns of 2024 (the v2 contents dataset's card and the Space's gradio API of",
        "  2024-10 and 2024-11 name them so); they are kept, not inverted or renamed.",
        "- v2 JSON API: `features_is_not_available_on_hub` is misnamed by the API: the",
        "  backend fills it from `Available on the hub`, so it is stored under that name. "
        + availability_note(exports),
        "",
        "### Exports",
        "",
        "| repo | date | rows | layout | upstream repo | upstream commit | upstream path | "
        "bundle commit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for export in served:
        lines.append(export_line(export))
    lines += [
        "",
        "### Partial captures (not served unless asked for)",
        "",
        "Top-of-page scrapes, not the whole table: served as ordinary revisions they would",
        "look like the leaderboard losing 94% of its rows. They are a real example of a bad",
        "upstream day, kept under `partial_captures` of their repo in `manifest.json` (same",
        "shape as a commit, plus `reason`). The replay hub serves them as ordinary commits,",
        "in date order, only when asked: `ReplayHub(serve_partial_captures=True)`,",
        "`RecordingStore.load(..., serve_partial_captures=True)`, `--serve-partial-captures`",
        "of `python -m llmsync.replay.server` and `llmsync replay-hub`, or",
        "`partial_captures: true` in a fault plan.",
        "",
        "| repo | date | rows | layout | upstream repo | upstream commit | upstream path | "
        "bundle commit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for export in partial:
        lines.append(export_line(export))
    lines += [
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
        "## Article models and the curated repos (assembled)",
        "",
        "Every repo of `src/llmsync/curated/article_models.yaml` is served. None of them",
        "has a recorded `/api/models` body: each body is **assembled** by the build, and",
        f"says so under its `{ASSEMBLED_KEY}` key (what it was built from; not a recorded",
        "Hub response).",
        "",
        "Model info built only from facts in the data, in the Hub's `/api/models` shape",
        "(`_id`, `downloads`, `lastModified`, `private`, `gated` and the",
        "like are absent because the data does not have them): `id`, `modelId`, `author`",
        "(the namespace), `sha` (the `Model sha` of the newest leaderboard row naming the",
        "repo; among variants of that export, its latest submission), `likes` (that row's",
        "`Hub ❤️`), `cardData` (the card's YAML front matter), `tags` (derived from the",
        "front matter the way the Hub does: library, pipeline tag, the card's tags,",
        "language codes, `dataset:`, `license:`), `library_name` / `pipeline_tag` only",
        "where the card states them, `license:` from the row's `Hub License` when the",
        "card states no licence, `safetensors` (the row's `#Params (B)` x 1e9 under its",
        "`Precision`'s dtype: the leaderboard's rounding, not an exact count),",
        "`siblings` (the repo's recorded files, and the files listed below as not",
        "recorded). The commit",
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
    lines += missing_cards_note()
    lines += [
        "",
        "The Stanford Alpaca card of the",
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


def export_line(export: ServedExport) -> str:
    up = export.item.export
    return (
        f"| `{export.repo_id}` | {up.date} | {export.table.num_rows} | `{export.layout}` | "
        f"{up.upstream_repo} | {up.upstream_commit} | `{up.upstream_path}` | {up.bundle_commit} |"
    )


def availability_note(exports: list[ServedExport]) -> str:
    """How often the API's `features_is_not_available_on_hub` equals the display
    export's `Available on the hub`, on the rows the last display export and the
    first API export share (same fullname, precision and sha)."""
    display = [e for e in exports if e.item.format is history.V2_DISPLAY]
    api = [e for e in exports if e.item.format is history.V2_API]
    if not display or not api:
        return ""
    key = ("fullname", "Precision", "Model sha")

    def flags(table: pa.Table) -> dict[tuple[Any, ...], Any]:
        rows = table.select([*key, "Available on the hub"]).to_pylist()
        return {tuple(row[k] for k in key): row["Available on the hub"] for row in rows}

    before, after = flags(display[-1].table), flags(api[0].table)
    shared = sorted(set(before) & set(after), key=repr)
    equal = sum(1 for k in shared if before[k] == after[k])
    true = sum(1 for k in shared if after[k] is True)
    return (
        f"On the {len(shared):,} rows the {display[-1].item.export.date} display export and "
        f"the {api[0].item.export.date} API export share (same `fullname`, `Precision` and "
        f"`Model sha`) the two agree on {equal:,} (the API field is true for {true:,})."
    )


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
    """The blobs the recordings need on disk (built files are not among them)."""
    built = manifest.get("built_files", {})
    for store in manifest.get("row_stores", {}).values():
        yield store["rows"]
        yield store["index"]
    for repo in manifest["repos"]:
        for commit in [*repo["commits"], *repo.get("partial_captures", [])]:
            yield from (digest for digest in commit["files"].values() if digest not in built)
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
    started = time.perf_counter()
    try:
        builder = Builder(source)
        manifest, prov = builder.build()
    except BuildError as exc:
        print(f"build_recordings: {exc}", file=sys.stderr)
        return 1
    used = set(referenced_blobs(manifest))
    blobs = {digest: data for digest, data in builder.blobs.items() if digest in used}
    write_output(args.out, manifest, blobs, prov)
    add_eval_recordings(source, args.out)  # the Hub's eval results, on top
    size = sum(len(data) for data in blobs.values())
    total = size + sum(
        len(path.read_bytes()) for path in (args.out / "manifest.json", args.out / "PROVENANCE.md")
    )
    print(
        f"{len(manifest['repos'])} repos, {len(blobs)} blobs, {len(manifest['built_files'])} "
        f"built files; {total:,} bytes in all -> {args.out} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


def add_eval_recordings(source: Path, out: Path) -> None:
    if not (source / "evals").is_dir():  # a source folder without the eval results
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from build_eval_recordings import write

    write(source, out)


if __name__ == "__main__":
    sys.exit(main())
