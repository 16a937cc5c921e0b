"""The leaderboard history bundle (a git bundle of 210 real CSV exports) read as
the tables the parser takes: each export's columns renamed to the leaderboard's
display names, as the replay hub's recordings store them.

    from bundle_exports import bundle_exports  # from a script in bench/
    for export in bundle_exports(Path("leaderboard-history.bundle")): ...

For benchmarks only: the replay hub's own recordings are built by
`scripts/build_recordings.py`; this is a small stand-in that needs only git.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

# Exporter snake_case -> display name, for the columns the parser reads.
_V1_FINAL = {
    "average": "Average ⬆️",
    "arc": "ARC",
    "hellaswag": "HellaSwag",
    "mmlu": "MMLU",
    "truthfulqa": "TruthfulQA",
    "winogrande": "Winogrande",
    "gsm8k": "GSM8K",
    "precision": "Precision",
    "model_sha": "Model sha",
    "fullname": "fullname",
}
_V2_DISPLAY = {
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
    "precision": "Precision",
    "model_sha": "Model sha",
    "fullname": "fullname",
}
_V2_API = {
    "model_name": "fullname",
    "model_sha": "Model sha",
    "model_precision": "Precision",
    "model_average_score": "Average ⬆️",
    **{
        f"evaluations_{api}_{kind}": f"{display}{suffix}"
        for api, display in (
            ("ifeval", "IFEval"),
            ("bbh", "BBH"),
            ("math", "MATH Lvl 5"),
            ("gpqa", "GPQA"),
            ("musr", "MUSR"),
            ("mmlu_pro", "MMLU-PRO"),
        )
        for kind, suffix in (("value", " Raw"), ("normalized_score", ""))
    },
}


@dataclass(frozen=True)
class BundleExport:
    leaderboard: str
    date: dt.date
    revision: str  # a stand-in commit id: sha1 of the export's bytes
    table: pa.Table


def _rename(table: pa.Table) -> pa.Table:
    columns = set(table.column_names)
    if "model_name" in columns:
        mapping = _V2_API
    elif "ifeval" in columns:
        mapping = _V2_DISPLAY
    elif "arc" in columns:
        mapping = _V1_FINAL
    else:
        return table  # the 2023 scrapes: display names already
    keep = [name for name in table.column_names if name in mapping]
    return table.select(keep).rename_columns([mapping[name] for name in keep])


def read_export(data: bytes) -> pa.Table:
    """One CSV export as the parser's display-named table."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    header = data.split(b"\n", 1)[0].decode().strip().split(",")
    # Names and shas are text even where one looks like a number.
    text = {"Model", "model", "fullname", "model_name", "model_sha", "precision", "model_precision"}
    types = {name: pa.string() for name in header if name in text}
    options = pcsv.ConvertOptions(column_types=types, strings_can_be_null=True)
    table = pcsv.read_csv(io.BytesIO(data), convert_options=options)
    return _rename(table)


def bundle_exports(bundle: Path) -> Iterator[BundleExport]:
    """Every export of the bundle, oldest first."""
    with tempfile.TemporaryDirectory() as folder:
        clone = Path(folder) / "history"
        subprocess.run(["git", "clone", "-q", str(bundle), str(clone)], check=True)
        log = subprocess.run(
            ["git", "-C", str(clone), "log", "--reverse", "--format=%H %ad", "--date=short"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for line in log.splitlines():
            commit, day = line.split()
            names = subprocess.run(
                ["git", "-C", str(clone), "show", "--name-only", "--format=", commit],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            for name in names:
                data = subprocess.run(
                    ["git", "-C", str(clone), "show", f"{commit}:{name}"],
                    check=True,
                    capture_output=True,
                ).stdout
                leaderboard = "open_llm_v2" if "v2" in name else "open_llm_v1"
                yield BundleExport(
                    leaderboard,
                    dt.date.fromisoformat(day),
                    hashlib.sha1(data).hexdigest(),
                    read_export(data),
                )
