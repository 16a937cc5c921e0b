"""The fixed facts the Every Eval Ever (EEE) export writes: collection names,
each source's metadata, benchmark display names, and the datastore's path rules.

EEE's schema v0.3.0 and its datastore layout `data/<collection>/<developer>/
<model>/<uuid>.json` are the target (docs/eee.md maps every field).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

SCHEMA_VERSION = "0.3.0"

UNKNOWN = "unknown"

# EEE names a collection after its source (its v2 adapter writes `hfopenllm_v2`);
# v1 follows the same spelling. The two Hub sources have no EEE collection yet.
COLLECTIONS: Mapping[str, str] = {
    "open_llm_v1": "hfopenllm_v1",
    "open_llm_v2": "hfopenllm_v2",
    "openevals": "hf_openevals",
    "eval_results": "hf_community_evals",
}

# The file every leaderboard export is (tables.leaderboards reads the same one).
LEADERBOARD_FILE = "data/train-00000-of-00001.parquet"


@dataclass(frozen=True)
class SourceFacts:
    source_name: str
    # The Hub dataset the values come from; None for the models' eval results.
    dataset: str | None
    # EEE's `source_metadata.evaluator_relationship`: who ran the evaluation.
    relationship: str
    # The harness, where the source documents one (its version is never stated).
    eval_library: str
    # model_info's deployment_type and model_availability, where the source fixes
    # them: the Open LLM Leaderboards ran open-weight Hub repos on their own
    # cluster; the other sources do not say.
    deployment: str = UNKNOWN
    availability: str = UNKNOWN


SOURCES: Mapping[str, SourceFacts] = {
    "open_llm_v1": SourceFacts(
        "Open LLM Leaderboard v1",
        "open-llm-leaderboard-old/contents",
        "third_party",
        "lm-evaluation-harness",
        deployment="self_deployed",
        availability="open_weights",
    ),
    "open_llm_v2": SourceFacts(
        "Open LLM Leaderboard v2",
        "open-llm-leaderboard/contents",
        "third_party",
        "lm-evaluation-harness",
        deployment="self_deployed",
        availability="open_weights",
    ),
    "openevals": SourceFacts(
        "OpenEvals leaderboard data", "OpenEvals/leaderboard-data", "other", UNKNOWN
    ),
    "eval_results": SourceFacts("Hugging Face model eval results", None, "other", UNKNOWN),
}

# Display names of the leaderboards' benchmarks (the v2 ones as EEE's v2 adapter
# spells them, so the two collections join on evaluation_name).
BENCHMARK_NAMES: Mapping[str, str] = {
    "average": "Average",
    "aggregate": "Aggregate score",
    "arc": "ARC",
    "hellaswag": "HellaSwag",
    "mmlu": "MMLU",
    "truthfulqa": "TruthfulQA",
    "winogrande": "Winogrande",
    "gsm8k": "GSM8K",
    "ifeval": "IFEval",
    "bbh": "BBH",
    "math_lvl5": "MATH Level 5",
    "gpqa": "GPQA",
    "musr": "MUSR",
    "mmlu_pro": "MMLU-PRO",
}

# EEE's datastore path rules (its validator's `check_path_structure` and
# `datastore_path_components`): a component is a portable file name.
_INVALID_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{n}" for n in range(1, 10)}
    | {f"LPT{n}" for n in range(1, 10)}
)


def path_component(name: str) -> str | None:
    """`name` as EEE's datastore writes it (colons become underscores), or None
    where no datastore path can hold it."""
    value = name.replace(":", "_")
    if (
        not value
        or value in {".", "..", "data"}
        or _INVALID_CHARS.search(value)
        or value.endswith((".", " "))
        or value.split(".", 1)[0].upper() in _WINDOWS_RESERVED
    ):
        return None
    return value


def stable_uuid(key: str) -> str:
    """A UUID4-shaped id from a record's content key: sha256, with the version
    and variant bits EEE's validator checks set. Never from the clock."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def moment(value: dt.date | dt.datetime) -> dt.datetime:
    """A day or an instant as an aware UTC instant: a day is its 00:00 UTC (the
    tables hold days, or observation times once they do); a naive time is UTC."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)


def epoch(value: dt.date | dt.datetime) -> str:
    """EEE's timestamp form (`retrieved_timestamp`: Unix epoch seconds, a string)."""
    return str(int(moment(value).timestamp()))
