"""The Open LLM Leaderboard's real history, read from the exports' git bundle.

Used by `build_recordings.py`. The bundle holds one commit per real export: the
commit date is the export's date, the commit replaces `open_llm_leaderboard_v1.csv`
or `open_llm_leaderboard_v2.csv` with the export's bytes, and the body names
where upstream had it (`source: {repo}@{commit} {path}`).

Each export is mapped to the leaderboard's display column names (`FORMATS`),
typed once per leaderboard (a column has one type across its whole history)
and stored as distinct rows plus, per export, its row ids in upstream order.
Nothing is rounded or recomputed: a cell is the export's text read as a
number, a boolean or a string, and an empty cell is a null.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

BUNDLE = Path("history") / "leaderboard-history.bundle"  # inside the source folder

LEADERBOARD_REPOS: dict[str, str] = {
    "open_llm_leaderboard_v1.csv": "open-llm-leaderboard-old/contents",
    "open_llm_leaderboard_v2.csv": "open-llm-leaderboard/contents",
}

# Top-of-page scrapes, not the whole table (2023-09-15 has 1,240 rows): served as
# ordinary revisions they would look like the leaderboard losing 94% of its rows.
# Kept in the recordings as partial captures, served only on request.
PARTIAL_CAPTURES: dict[tuple[str, str], str] = {
    ("open-llm-leaderboard-old/contents", date): (
        "partial capture: a scrape of the top of the leaderboard page, not the whole "
        "table (the export before it, 2023-09-15, has 1,240 rows)"
    )
    for date in ("2023-10-04", "2023-10-13", "2023-10-31")
}


class HistoryError(RuntimeError):
    pass


# -- column names --------------------------------------------------------------

# v1's archive exporter (fboulnois/llm-leaderboard-csv) lower-cased and
# snake_cased the Space's headers ("Average ⬆️" -> average, "Hub ❤️" ->
# hub_hearts, "#Params (B)" -> params_b) and split the HTML `Model` cell into its
# link text (`model`) and its href (`url`). Display names checked against
# open-llm-leaderboard-old/contents' dataset card.
V1_ARCHIVE_COLUMNS: dict[str, str] = {
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

# v2 2024-07-13 .. 2024-12-10: the same exporter's snake_case names of the page's
# display columns. Display names as the v2 contents dataset's card and the
# Space's gradio API of 2024-10 and 2024-11 spell them (`Not_Merged` and
# `Maintainer's Highlight` were display columns then; `Merged` and `Official
# Providers` replaced them later).
V2_DISPLAY_COLUMNS: dict[str, str] = {
    "t": "T",
    "model": "Model",
    "average": "Average ⬆️",
    "ifeval": "IFEval",
    "ifeval_raw": "IFEval Raw",
    "bbh": "BBH",
    "bbh_raw": "BBH Raw",
    "math_lvl_5": "MATH Lvl 5",
    "math_lvl_5_raw": "MATH Lvl 5 Raw",
    "gpqa": "GPQA",
    "gpqa_raw": "GPQA Raw",
    "musr": "MUSR",
    "musr_raw": "MUSR Raw",
    "mmlupro": "MMLU-PRO",
    "mmlupro_raw": "MMLU-PRO Raw",
    "type": "Type",
    "architecture": "Architecture",
    "weight_type": "Weight type",
    "precision": "Precision",
    "not_merged": "Not_Merged",
    "hub_license": "Hub License",
    "params_b": "#Params (B)",
    "hub_hearts": "Hub ❤️",
    "available_on_the_hub": "Available on the hub",
    "model_sha": "Model sha",
    "flagged": "Flagged",
    "moe": "MoE",
    "submission_date": "Submission Date",
    "upload_to_hub_date": "Upload To Hub Date",
    "chat_template": "Chat Template",
    "maintainers_highlight": "Maintainer's Highlight",
    "official_providers": "Official Providers",
    "fullname": "fullname",
    "generation": "Generation",
    "base_model": "Base Model",
    "co_cost_kg": "CO₂ cost (kg)",
    # The exporter's own column (the href it took out of `Model`): no display twin.
    "url": "url",
}

# v2 2024-12-11 .. 2025-03-21: the leaderboard's JSON API flattened.
# `_normalized_score` is the displayed 0-100 score, `_value` the raw 0-1 one.
# The `features_*` and `metadata_*` fields are read by the leaderboard backend
# from the contents columns named here; their values agree with the display
# exports' columns row for row (see PROVENANCE.md).
V2_API_COLUMNS: dict[str, str] = {
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
    # its values match that column (true for ~97% of the rows).
    "features_is_not_available_on_hub": "Available on the hub",
    "features_is_merged": "Merged",
    "features_is_moe": "MoE",
    "features_is_flagged": "Flagged",
    "features_is_highlighted_by_maintainer": "Maintainer's Highlight",
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


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    # source header -> display name; None: the headers are display names already
    rename: Mapping[str, str] | None
    note: str

    def columns(self, header: Sequence[str], where: str) -> list[str]:
        if self.rename is None:
            names = list(header)
        else:
            unknown = [column for column in header if column not in self.rename]
            if unknown:
                raise HistoryError(f"{where}: no display name for columns {unknown}")
            names = [self.rename[column] for column in header]
        if len(set(names)) != len(names):
            raise HistoryError(f"{where}: duplicate column names after mapping")
        return names


V1_SCRAPE_SPACED = Format(
    "v1-scrape-spaced",
    "v1 page scrape, spaced headers",
    None,
    "Scrape of the v1 leaderboard page (dsdanielpark/open-llm-leaderboard-report), four "
    "benchmarks. Headers kept as written (`ARC (25-shot)` ...); the UTF-8 BOM is removed. "
    "`Parameters` is not a parameter count. No precision column: a model can be listed "
    "twice with different values, and every row is kept.",
)
V1_SCRAPE = Format(
    "v1-scrape",
    "v1 page scrape, headers without the space",
    None,
    "Scrape of the v1 leaderboard page, four benchmarks, headers kept as written "
    "(`ARC(25-shot)` ...); the UTF-8 BOM is removed. `Parameters` is not a parameter "
    "count. No precision column: a model can be listed twice with different values, and "
    "every row (exact duplicates too) is kept.",
)
V1_ARCHIVE = Format(
    "v1-archive",
    "v1 archive export (snake_case)",
    V1_ARCHIVE_COLUMNS,
    "The archived v1 table (six benchmarks and their average) as exported by "
    "fboulnois/llm-leaderboard-csv; its snake_case headers mapped back to the display names. "
    "`Model` is the link text the exporter took out of the HTML cell, `url` its href; "
    "`date` is the eval request's submission time.",
)
V2_DISPLAY = Format(
    "v2-display",
    "v2 display columns (snake_case)",
    V2_DISPLAY_COLUMNS,
    "The v2 table's display columns as exported by fboulnois/llm-leaderboard-csv, "
    "snake_case headers mapped back to the display names; values as the page showed them "
    "(scores to 2 decimals, `#Params (B)` whole). `Model` is the link text, `url` its href.",
)
V2_API = Format(
    "v2-api",
    "v2 JSON API, flattened",
    V2_API_COLUMNS,
    "The v2 leaderboard's JSON API flattened by fboulnois/llm-leaderboard-csv; fields mapped "
    "to the display names (`_normalized_score` -> the 0-100 column, `_value` -> its `Raw` "
    "column). Scores and averages unrounded. `Type` keeps the API's spelling (`chatmodels`). "
    "`id` and `evaluations_*_name` have no display twin and keep their names.",
)
FORMATS = (V1_SCRAPE_SPACED, V1_SCRAPE, V1_ARCHIVE, V2_DISPLAY, V2_API)


def detect_format(file: str, header: Sequence[str], where: str) -> Format:
    if file.endswith("_v1.csv"):
        if header[:1] == ["Model"] and "ARC (25-shot)" in header:
            return V1_SCRAPE_SPACED
        if header[:1] == ["Model"] and "ARC(25-shot)" in header:
            return V1_SCRAPE
        if header[:2] == ["t", "model"] and "gsm8k" in header:
            return V1_ARCHIVE
    else:
        if header[:2] == ["t", "model"] and "ifeval" in header:
            return V2_DISPLAY
        if header[:2] == ["id", "model_name"]:
            return V2_API
    raise HistoryError(f"{where}: unknown header {list(header)[:6]}...")


# -- types ---------------------------------------------------------------------

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

_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_BOOLS = {"True": True, "TRUE": True, "true": True, "False": False, "FALSE": False, "false": False}


def column_type(name: str, values: set[str]) -> tuple[pa.DataType, Callable[[str], Any]]:
    """The Arrow type of one column over its whole history, and the cell reader.

    Booleans, integers and floats are recognised only when every value the
    column ever holds has that shape.
    """
    if name in SCORE_COLUMNS:
        bad = sorted(value for value in values if not _FLOAT.fullmatch(value))
        if bad:
            raise HistoryError(f"score column {name!r} holds a non-number: {bad[0]!r}")
        return pa.float64(), float
    if name in STRING_COLUMNS or not values:
        return pa.string(), str
    if all(value in _BOOLS for value in values):
        return pa.bool_(), _BOOLS.__getitem__
    if all(_INT.fullmatch(value) for value in values):
        return pa.int64(), int
    if all(_FLOAT.fullmatch(value) for value in values):
        return pa.float64(), float
    return pa.string(), str


# -- the bundle ----------------------------------------------------------------

_SOURCE = re.compile(r"source: (?P<repo>\S+)@(?P<commit>[0-9a-f]{40}) (?P<path>\S+)")
_SUBJECT = re.compile(r"(?P<board>v[12]) export of (?P<date>\d{4}-\d{2}-\d{2}): (?P<rows>\d+) rows")


@dataclass(frozen=True)
class HistoryExport:
    """One commit of the bundle: one real export."""

    bundle_commit: str
    date: str  # YYYY-MM-DD
    file: str
    rows: int  # as the commit message says; checked against the file
    upstream_repo: str
    upstream_commit: str
    upstream_path: str
    data: bytes

    @property
    def repo_id(self) -> str:
        return LEADERBOARD_REPOS[self.file]


def read_bundle(bundle: Path) -> list[HistoryExport]:
    """Every export of the bundle, oldest first."""
    if not bundle.is_file():
        raise HistoryError(f"missing source file: {bundle.name}")
    with tempfile.TemporaryDirectory(prefix="lb-history-") as tmp:
        clone = Path(tmp) / "history.git"
        _git("clone", "-q", "--bare", str(bundle), str(clone))
        log = _git(
            "-C",
            str(clone),
            "log",
            "--reverse",
            "--date=short",
            "--name-only",
            "--format=%x1e%H%x1f%ad%x1f%s%x1f%b%x1f",
        ).decode("utf-8")
        heads = []
        for record in log.split("\x1e")[1:]:
            sha, date, subject, body, names = record.split("\x1f")
            files = names.split()
            if len(files) != 1 or files[0] not in LEADERBOARD_REPOS:
                raise HistoryError(f"bundle commit {sha[:12]} changes {files}, not one export")
            heads.append((sha, date, subject, body, files[0]))
        wanted = "".join(f"{sha}:{file}\n" for sha, _, _, _, file in heads).encode()
        contents = _cat_files(clone, wanted, len(heads))
    exports = []
    for (sha, date, subject, body, file), data in zip(heads, contents, strict=True):
        where = f"bundle commit {sha[:12]} ({date})"
        source = _SOURCE.search(body)
        title = _SUBJECT.fullmatch(subject.strip())
        if source is None or title is None or title["date"] != date:
            raise HistoryError(f"{where}: unexpected message {subject!r} / {body!r}")
        exports.append(
            HistoryExport(
                bundle_commit=sha,
                date=date,
                file=file,
                rows=int(title["rows"]),
                upstream_repo=source["repo"],
                upstream_commit=source["commit"],
                upstream_path=source["path"],
                data=data,
            )
        )
    dates = [(export.repo_id, export.date) for export in exports]
    if len(set(dates)) != len(dates):
        raise HistoryError("two exports of one leaderboard on one day")
    return sorted(exports, key=lambda export: (export.date, export.file))


def _git(*args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], input=stdin, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise HistoryError(f"git {args[0]} failed: {exc}") from exc
    return done.stdout


def _cat_files(clone: Path, wanted: bytes, count: int) -> list[bytes]:
    out = _git("-C", str(clone), "cat-file", "--batch", stdin=wanted)
    contents, offset = [], 0
    for _ in range(count):
        end = out.index(b"\n", offset)
        _, kind, size = out[offset:end].decode().split()
        if kind != "blob":
            raise HistoryError(f"bundle object is a {kind}, not a file")
        start = end + 1
        contents.append(out[start : start + int(size)])
        offset = start + int(size) + 1
    return contents


def read_csv(data: bytes, where: str) -> tuple[list[str], list[list[str]]]:
    # utf-8-sig drops the BOM the 2023 scrapes start with.
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    if any(len(row) != len(header) for row in body):
        raise HistoryError(f"{where}: ragged rows")
    return header, body


# -- one leaderboard's history as a row store ----------------------------------


@dataclass(frozen=True)
class ParsedExport:
    export: HistoryExport
    format: Format
    columns: tuple[str, ...]  # display names, in the export's order
    row_ids: tuple[int, ...]  # into the row store, in the export's order
    partial: str | None  # why it is a partial capture; None: an ordinary export

    @property
    def key(self) -> str:
        """The export's key in the row index: its bundle commit."""
        return self.export.bundle_commit


@dataclass(frozen=True)
class LeaderboardHistory:
    repo_id: str
    exports: tuple[ParsedExport, ...]  # by date, partial captures included
    rows: pa.Table  # the distinct rows over every export's columns

    @property
    def index(self) -> dict[str, tuple[int, ...]]:
        return {item.key: item.row_ids for item in self.exports}


def build_history(repo_id: str, exports: Sequence[HistoryExport]) -> LeaderboardHistory:
    """The distinct rows of every export of one leaderboard, and each export's ids."""
    # Columns of the row store: every display name, in order of first appearance.
    union: dict[str, int] = {}
    parsed: list[tuple[HistoryExport, Format, list[str], list[list[str]]]] = []
    for export in exports:
        where = f"{export.file} of {export.date}"
        header, body = read_csv(export.data, where)
        if len(body) != export.rows:
            raise HistoryError(f"{where}: {len(body)} rows, its commit message says {export.rows}")
        fmt = detect_format(export.file, header, where)
        columns = fmt.columns(header, where)
        for name in columns:
            union.setdefault(name, len(union))
        parsed.append((export, fmt, columns, body))
    names = list(union)

    # Distinct rows as text, over the union columns (None: the export has no
    # such column, or the cell is empty). Exports of one column set repeat
    # most rows, so rows are matched as text first and typed once.
    text_rows: dict[tuple[str | None, ...], int] = {}
    text_ids: list[list[int]] = []
    for _, _, columns, body in parsed:
        positions = [union[name] for name in columns]
        seen: dict[tuple[str, ...], int] = {}
        ids = []
        for row in body:
            key = tuple(row)
            found = seen.get(key)
            if found is None:
                full: list[str | None] = [None] * len(names)
                for position, value in zip(positions, row, strict=True):
                    full[position] = value if value != "" else None
                found = text_rows.setdefault(tuple(full), len(text_rows))
                seen[key] = found
            ids.append(found)
        text_ids.append(ids)

    # One type per column over the whole history, then the typed distinct rows
    # (two spellings of one value, `TRUE` and `True`, become one row).
    readers: list[Callable[[str], Any]] = []
    fields = []
    for position, name in enumerate(names):
        values = {cell for text in text_rows if (cell := text[position]) is not None}
        kind, reader = column_type(name, values)
        fields.append(pa.field(name, kind))
        readers.append(reader)
    typed: dict[tuple[Any, ...], int] = {}
    text_to_typed = []
    for text in text_rows:
        typed_row = tuple(
            None if cell is None else reader(cell)
            for cell, reader in zip(text, readers, strict=True)
        )
        text_to_typed.append(typed.setdefault(typed_row, len(typed)))

    # Store order: rows of one model together (similar values side by side
    # compress well), then by first appearance.
    name_positions = [union[name] for name in ("fullname", "Model") if name in union]

    def model_of(row: tuple[Any, ...]) -> str:
        return next((str(row[p]) for p in name_positions if row[p] is not None), "")

    distinct = list(typed)
    order = sorted(range(len(distinct)), key=lambda i: (model_of(distinct[i]), i))
    final = [0] * len(distinct)
    for new, old in enumerate(order):
        final[old] = new
    columns_data = [
        pa.array([distinct[i][position] for i in order], fields[position].type)
        for position in range(len(names))
    ]
    rows = pa.Table.from_arrays(columns_data, schema=pa.schema(fields))

    items = []
    for (export, fmt, columns, _), ids in zip(parsed, text_ids, strict=True):
        items.append(
            ParsedExport(
                export=export,
                format=fmt,
                columns=tuple(columns),
                row_ids=tuple(final[text_to_typed[i]] for i in ids),
                partial=PARTIAL_CAPTURES.get((repo_id, export.date)),
            )
        )
    return LeaderboardHistory(repo_id=repo_id, exports=tuple(items), rows=rows)


def read_histories(source: Path) -> list[LeaderboardHistory]:
    """Both leaderboards' histories from the bundle in `source`, v1 first."""
    exports = read_bundle(source / BUNDLE)
    histories = []
    for repo_id in sorted(set(LEADERBOARD_REPOS.values())):
        mine = [export for export in exports if export.repo_id == repo_id]
        if mine:
            histories.append(build_history(repo_id, mine))
    return histories
