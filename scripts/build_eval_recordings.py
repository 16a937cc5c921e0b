"""Add the Hub's eval results to the replay hub's recordings.

Reads the real files of `<source>/evals/` (their commits and dates are in its
SOURCES.md) and adds, to `recordings/manifest.json` and `recordings/blobs/`:

- the model repos `google/gemma-4-12B-it` and `prism-ml/Ternary-Bonsai-27B-gguf`,
  their `.eval_results/*.yaml` on main as merged, and their pull requests
  (`recordings/evals.json`) along the real timeline;
- the official benchmarks' dataset repos, each with an `eval.yaml` assembled from
  the facts `evals/OFFICIAL-BENCHMARKS.md` gives (labelled assembled in the file);
- `OpenEvals/leaderboard-data` as one commit of a Parquet rebuilt from the 93
  real rows of `evals/openevals/` (labelled rebuilt).

Run after scripts/build_recordings.py (which writes the manifest anew):
    python scripts/build_eval_recordings.py --source <hub-data folder>
The output is the same for the same input and pyarrow version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa

from llmsync.replay.rowstore import parquet_bytes

OUT = Path(__file__).resolve().parent.parent / "src" / "llmsync" / "replay" / "recordings"
MARK = "evals"  # manifest repos this script owns carry `"added_by": "evals"`
PROVENANCE_START = "<!-- eval recordings: start -->"
PROVENANCE_END = "<!-- eval recordings: end -->"
GEMMA = "google/gemma-4-12B-it"
BONSAI = "prism-ml/Ternary-Bonsai-27B-gguf"
OPENEVALS = "OpenEvals/leaderboard-data"
OPENEVALS_FILE = "data/train-00000-of-00001.parquet"
OPENEVALS_DUMP = "infer-explore_huggingface_openevals_models.json"
# The day the OpenEvals rows were fetched: the benchmarks they name existed then.
BENCHMARKS_DATE = "2026-03-25"
# PR 28's file was deleted from main on a day no source gives: the replay
# places the deletion on the day after its merge, the earliest it can be.
DELETION_DATE = "2026-07-19"

# (dataset id, display name, evaluation_framework or None, task ids): the facts
# of OFFICIAL-BENCHMARKS.md. Names are the OpenEvals dump's column headers (AIME
# and HLE as hub-docs' eval.yaml examples name them); None where no source says.
BENCHMARKS: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    ("MathArena/aime_2026", "MathArena AIME 2026", "math-arena", ("MathArena/aime_2026",)),
    ("MathArena/hmmt_feb_2026", "HMMT 2026", "math-arena", ("MathArena/hmmt_feb_2026",)),
    ("ScaleAI/SWE-bench_Pro", "SWE-Pro", "swe-bench-pro", ("SWE_Bench_Pro",)),
    ("FutureMa/EvasionBench", "EvasionBench", "inspect-ai", ("evasion_bench",)),
    (
        "allenai/olmOCR-bench",
        "OlmOCR",
        None,
        (
            "overall",
            "arxiv_math",
            "headers_footers",
            "long_tiny_text",
            "multi_column",
            "old_scans",
            "old_scans_math",
            "table_tests",
            "baseline",
        ),
    ),
    ("Idavidrein/gpqa", "GPQA", None, ("diamond", "main", "extended")),
    ("cais/hle", "Humanity's Last Exam", "inspect-ai", ("hle",)),
    ("TIGER-Lab/MMLU-Pro", "MMLU-Pro", None, ("mmlu_pro",)),
    ("openai/gsm8k", "GSM8K", None, ("gsm8k",)),
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def generated_sha(repo_type: str, repo_id: str, date: str, files: dict[str, str]) -> str:
    """The recordings' rule for a commit id no source gives (see PROVENANCE.md)."""
    text = f"{repo_type}/{repo_id}\n{date}\n"
    text += "".join(f"{path} {files[path]}\n" for path in sorted(files))
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class Blobs:
    def __init__(self, out: Path) -> None:
        self.out = out / "blobs"

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        target = self.out / digest
        if not target.exists():
            target.write_bytes(data)
        return digest


def _commit(sha: str, date: str, title: str, files: dict[str, str], source: str) -> dict[str, Any]:
    return {
        "sha": sha,
        "date": f"{date}T00:00:00Z",
        "title": title,
        "files": files,
        "api_info": None,
        "source": source,
    }


def model_repos(evals: Path, blobs: Blobs) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The two model repos (main as merged) and their pull requests."""
    f = {name: blobs.put((evals / name).read_bytes()) for name in _EVAL_FILES}
    gemma_prs = [
        (3, "b5deb5d449cec28d5250a5821b0fd42f96ff5110", "gpqa"),
        (4, "a14eb044821f3b7bd05bdcf524ab4371c3ab3361", "mmlu_pro"),
        (5, "ec1e26f20be580a13af9c21cf428a99b06d0de55", "mmmu_pro"),
        (6, "bcbd89420d274e957edcd2be5f92397f198f9f68", "aime_2026"),
        (7, "13044fac4b760c000d41ee203158580a6fb46e98", "hle"),
    ]
    prs: list[dict[str, Any]] = []
    for number, sha, stem in gemma_prs:
        name = f"gemma-4-12B-it_pr{number}_{stem}.yaml"
        files = {f".eval_results/{stem}.yaml": f[name]}
        prs.append(_pr(GEMMA, number, "2026-06-03", None, [(sha, "2026-06-03", files)], name))
    gemma_main = _commit(
        generated_sha("model", GEMMA, "2026-06-03", {}),
        "2026-06-03",
        "google/gemma-4-12B-it as the recordings know it (synthetic: no files recorded)",
        {},
        "synthetic: the first day the sources show the repo (its PRs 3-7)",
    )
    pr27a = {
        ".eval_results/gsm8k.yaml": f["Ternary-Bonsai-27B-gguf_pr27a_gsm8k.yaml"],
        ".eval_results/aime_2026.yaml": f["Ternary-Bonsai-27B-gguf_pr27a_aime_2026.yaml"],
        ".eval_results/mmmu_pro.yaml": f["Ternary-Bonsai-27B-gguf_pr27a_mmmu_pro.yaml"],
    }
    pr27b = {
        **pr27a,
        ".eval_results/mmmu_pro.yaml": f["Ternary-Bonsai-27B-gguf_pr27b_mmmu_pro.yaml"],
    }
    pr28 = {".eval_results/gpqa_diamond.yaml": f["Ternary-Bonsai-27B-gguf_pr28_gpqa_diamond.yaml"]}
    prs.append(
        _pr(
            BONSAI,
            27,
            "2026-07-17",
            "2026-07-17",
            [
                ("a7dac6ee26435ad1ea38691e0ab1d9f1916e2c35", "2026-07-17", pr27a),
                ("6787a16504f347fb8825687b297d9c637f2a2e72", "2026-07-17", pr27b),
            ],
            "Ternary-Bonsai-27B-gguf_pr27a_*.yaml, _pr27b_mmmu_pro.yaml",
        )
    )
    prs.append(
        _pr(
            BONSAI,
            28,
            "2026-07-18",
            "2026-07-18",
            [("a9dba446da9329c776eb3ccc913f5c476f8bd71c", "2026-07-18", pr28)],
            "Ternary-Bonsai-27B-gguf_pr28_gpqa_diamond.yaml",
        )
    )
    merged28 = {**pr27b, **pr28}
    bonsai_commits = [
        _commit(
            "83b8641cb95a197710d0d6088719fdf47617b0a2",
            "2026-07-17",
            "Merge #27: community evaluation results",
            pr27b,
            "real merge commit of PR 27 (SOURCES.md); other repo files not recorded",
        ),
        _commit(
            generated_sha("model", BONSAI, "2026-07-18", merged28),
            "2026-07-18",
            "Merge #28: GPQA Diamond result (synthetic id)",
            merged28,
            "synthetic id: PR 28 merged on 2026-07-18 (SOURCES.md)",
        ),
        _commit(
            generated_sha("model", BONSAI, DELETION_DATE, pr27b),
            DELETION_DATE,
            "Delete .eval_results/gpqa_diamond.yaml (synthetic id and date)",
            pr27b,
            "synthetic: the deletion is real, its date unknown (placed the day after the merge)",
        ),
    ]
    repos = [
        {"repo_type": "model", "repo_id": GEMMA, "commits": [gemma_main], "added_by": MARK},
        {"repo_type": "model", "repo_id": BONSAI, "commits": bonsai_commits, "added_by": MARK},
    ]
    return repos, prs


_EVAL_FILES = (
    "gemma-4-12B-it_pr3_gpqa.yaml",
    "gemma-4-12B-it_pr4_mmlu_pro.yaml",
    "gemma-4-12B-it_pr5_mmmu_pro.yaml",
    "gemma-4-12B-it_pr6_aime_2026.yaml",
    "gemma-4-12B-it_pr7_hle.yaml",
    "Ternary-Bonsai-27B-gguf_pr27a_gsm8k.yaml",
    "Ternary-Bonsai-27B-gguf_pr27a_aime_2026.yaml",
    "Ternary-Bonsai-27B-gguf_pr27a_mmmu_pro.yaml",
    "Ternary-Bonsai-27B-gguf_pr27b_mmmu_pro.yaml",
    "Ternary-Bonsai-27B-gguf_pr28_gpqa_diamond.yaml",
)


def _pr(
    repo_id: str,
    number: int,
    opened: str,
    merged: str | None,
    heads: list[tuple[str, str, dict[str, str]]],
    source: str,
) -> dict[str, Any]:
    return {
        "repo_id": repo_id,
        "number": number,
        "opened": opened,
        "merged": merged,
        "closed": None,
        "commits": [{"sha": sha, "date": date, "files": files} for sha, date, files in heads],
        "source": source,
    }


def eval_yaml(dataset_id: str, name: str, framework: str | None, tasks: tuple[str, ...]) -> bytes:
    lines = [
        f"# Assembled by llmsync's replay hub for {dataset_id}: no recording of this file",
        "# exists; its fields are the facts of OFFICIAL-BENCHMARKS.md (none where unknown).",
        f"name: {json.dumps(name)}",
    ]
    if framework is not None:
        lines.append(f"evaluation_framework: {framework}")
    lines.append("tasks:")
    lines += [f"  - id: {json.dumps(task)}" for task in tasks]
    return ("\n".join(lines) + "\n").encode("utf-8")


def benchmark_repos(blobs: Blobs) -> list[dict[str, Any]]:
    repos = []
    for dataset_id, name, framework, tasks in BENCHMARKS:
        files = {"eval.yaml": blobs.put(eval_yaml(dataset_id, name, framework, tasks))}
        sha = generated_sha("dataset", dataset_id, BENCHMARKS_DATE, files)
        commit = _commit(
            sha,
            BENCHMARKS_DATE,
            "eval.yaml (assembled)",
            files,
            "assembled from OFFICIAL-BENCHMARKS.md",
        )
        repos.append(
            {
                "repo_type": "dataset",
                "repo_id": dataset_id,
                "commits": [commit],
                "added_by": MARK,
            }
        )
    return repos


def openevals_repo(evals: Path, blobs: Blobs) -> dict[str, Any]:
    """One commit of OpenEvals/leaderboard-data: its Parquet rebuilt from the dump's rows."""
    text = (evals / "openevals" / OPENEVALS_DUMP).read_text(encoding="utf-8")
    dump = json.loads(text.replace("NaN", "null"))
    rows: list[dict[str, Any]] = dump["models"]
    columns = list(rows[0])
    arrays = {}
    for column in columns:
        values = [_clean(row.get(column)) for row in rows]
        arrays[column] = pa.array(values)
    table = pa.table(arrays)
    files = {OPENEVALS_FILE: blobs.put(parquet_bytes(table))}
    date = dump["fetched_at"][:10]
    commit = _commit(
        generated_sha("dataset", OPENEVALS, date, files),
        date,
        "leaderboard data (rebuilt)",
        files,
        f"rebuilt from evals/openevals/{OPENEVALS_DUMP} (93 real rows)",
    )
    return {"repo_type": "dataset", "repo_id": OPENEVALS, "commits": [commit], "added_by": MARK}


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write(source: Path, out: Path) -> None:
    evals = source / "evals"
    blobs = Blobs(out)
    models, prs = model_repos(evals, blobs)
    added = [*models, *benchmark_repos(blobs), openevals_repo(evals, blobs)]
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    kept = [repo for repo in manifest["repos"] if repo.get("added_by") != MARK]
    manifest["repos"] = kept + added
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    manifest_path.write_text(text, encoding="utf-8")
    official = [dataset_id for dataset_id, *_ in BENCHMARKS]
    evals_doc = {"format": 1, "pull_requests": prs, "official_benchmarks": official}
    text = json.dumps(evals_doc, indent=1, sort_keys=True) + "\n"
    (out / "evals.json").write_text(text, encoding="utf-8")
    _provenance(out / "PROVENANCE.md")


def _provenance(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    before = text.split(PROVENANCE_START)[0].rstrip("\n")
    after = text.split(PROVENANCE_END)[1] if PROVENANCE_END in text else ""
    section = (Path(__file__).parent / "eval_provenance.md").read_text(encoding="utf-8")
    path.write_text(
        f"{before}\n\n{PROVENANCE_START}\n{section.rstrip()}\n{PROVENANCE_END}\n{after.lstrip()}",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the hub-data folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    write(args.source, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
