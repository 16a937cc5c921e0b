"""The Hub's eval results as the replay hub serves them (see recordings/PROVENANCE.md).

- `expand[]=evalResults` on `/api/models/{id}`: one item per entry of each
  `.eval_results/*.yaml` on main and in each pull request open on the date
  served, `{filename, verified, data, pullRequest?}`; a file that does not parse
  as entries gives `{filename, error}`.
- `GET /api/datasets?filter=benchmark:official` and
  `GET /api/datasets/{id}/leaderboard`: assembled from the served results,
  the population's generated ones included (`population_evals.py`).

No public recording of these answers exists: each is labelled assembled
(`X-Replay-Assembled: true`). With `expand`, a body holds `_id`, `id` and the
properties asked only, as the Hub answers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml

from llmsync.replay.generated import MARKER_KEY
from llmsync.replay.odd_evals import odd_items, odd_leaderboard_entries
from llmsync.replay.recordings import Repo
from llmsync.replay.replies import JSON_TYPE, Reply, dump_json, error_reply, iso
from llmsync.replay.view import HubView

EVAL_DIR = ".eval_results/"
ASSEMBLED = ("X-Replay-Assembled", "true")


@dataclass(frozen=True)
class PullRequest:
    repo_id: str
    number: int
    opened: dt.date
    merged: dt.date | None
    closed: dt.date | None
    heads: tuple[tuple[dt.date, dict[str, str]], ...]  # (date, files), oldest first

    def files_on(self, day: dt.date | None) -> dict[str, str] | None:
        """The PR's files while it is open on `day` (None: today), else None."""
        ends = [d for d in (self.merged, self.closed) if d is not None]
        if day is None:
            return None if ends else dict(self.heads[-1][1])
        if self.opened > day or any(end <= day for end in ends):
            return None
        heads = [files for date, files in self.heads if date <= day]
        return dict(heads[-1]) if heads else None


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


class EvalsView:
    """The eval results, official benchmarks and their leaderboards, as of one date."""

    def __init__(self, view: HubView, *, root: Path, as_of: dt.date | None) -> None:
        self.view = view
        self.as_of = as_of
        path = root / "evals.json"
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        self.official: tuple[str, ...] = tuple(doc.get("official_benchmarks", ()))
        self.pull_requests = tuple(
            PullRequest(
                repo_id=raw["repo_id"],
                number=int(raw["number"]),
                opened=dt.date.fromisoformat(raw["opened"]),
                merged=_date(raw.get("merged")),
                closed=_date(raw.get("closed")),
                heads=tuple(
                    (dt.date.fromisoformat(c["date"]), dict(c["files"])) for c in raw["commits"]
                ),
            )
            for raw in doc.get("pull_requests", ())
        )
        # In population mode: (repo id, evalResults) of each generated repo with results.
        self.generated: Callable[[], list[tuple[str, list[dict[str, Any]]]]] | None = None
        # Repos served the generated odd item shapes too (`odd_evals.py`); when
        # any, each leaderboard also ends with the generated odd entries.
        self.odd_repos: frozenset[str] = frozenset()

    # evalResults

    def results(self, repo: Repo) -> list[dict[str, Any]]:
        """The repo's evalResults items: main's files, then each open PR's."""
        items: list[dict[str, Any]] = []
        for path, entry in sorted(repo.head.files.items()):
            items += self._file_items(path, entry.sha256, pull_request=None)
        for pr in self.pull_requests:
            if pr.repo_id != repo.repo_id:
                continue
            files = pr.files_on(self.as_of)
            for path, sha256 in sorted((files or {}).items()):
                items += self._file_items(path, sha256, pull_request=pr.number)
        if repo.repo_id in self.odd_repos:
            items += odd_items()
        return items

    def _file_items(
        self, path: str, sha256: str, *, pull_request: int | None
    ) -> list[dict[str, Any]]:
        if not (path.startswith(EVAL_DIR) and path.endswith((".yaml", ".yml"))):
            return []
        entries, error = parse_entries(self.view.store.blob_bytes(sha256))
        if error is not None:
            return [{"filename": path, "error": error}]
        pr = {"pullRequest": pull_request} if pull_request is not None else {}
        # `verified` needs a valid verifyToken, which only the Hub can check.
        return [{"filename": path, "verified": False, "data": entry, **pr} for entry in entries]

    def project(self, repo: Repo, body: bytes, expand: list[str]) -> bytes:
        """A model body as the Hub answers `expand[]=...`: `_id`, `id`, what was asked."""
        full = json.loads(body)
        projected = {key: full[key] for key in ("_id", "id", *expand) if key in full}
        if "evalResults" in expand:
            projected["evalResults"] = self.results(repo)
        return dump_json(projected)

    # benchmarks

    def official_tasks(self) -> dict[str, list[str]]:
        """Each served official benchmark's task ids, as its `eval.yaml` names them."""
        found: dict[str, list[str]] = {}
        for dataset_id in self.official:
            repo = self.view.repo("dataset", dataset_id)
            entry = repo.head.files.get("eval.yaml") if repo is not None else None
            if entry is None:
                continue
            loaded = yaml.safe_load(self.view.store.file_bytes(entry).decode("utf-8"))
            tasks = loaded.get("tasks") if isinstance(loaded, dict) else None
            ids = [str(t["id"]) for t in tasks or () if isinstance(t, dict) and t.get("id")]
            if ids:
                found[dataset_id] = ids
        return found

    def official_listing(self) -> bytes:
        items = []
        for dataset_id in self.official:
            repo = self.view.repo("dataset", dataset_id)
            if repo is None:
                continue
            items.append(
                {
                    "_id": repo.head.sha[:24],
                    "id": dataset_id,
                    "author": dataset_id.split("/")[0],
                    "sha": repo.head.sha,
                    "lastModified": iso(repo.head.date),
                    "createdAt": iso(repo.commits[0].date),
                    "private": False,
                    "gated": False,
                    "disabled": False,
                    "downloads": 0,
                    "likes": 0,
                    "tags": ["benchmark:official"],
                }
            )
        return dump_json(items)

    def leaderboard(self, dataset_id: str) -> bytes | None:
        """Every served result on `dataset_id`, best first (None: not a benchmark)."""
        if dataset_id not in self.official or self.view.repo("dataset", dataset_id) is None:
            return None
        served = [
            (repo.repo_id, self.results(repo))
            for repo in self.view.repos.values()
            if repo.repo_type == "model"
        ]
        rows: list[dict[str, Any]] = []
        for repo_id, items in served + (self.generated() if self.generated else []):
            for item in items:
                data = item.get("data") if isinstance(item, dict) else None
                dataset = data.get("dataset") if isinstance(data, dict) else None
                if not isinstance(dataset, dict) or dataset.get("id") != dataset_id:
                    continue
                if isinstance(data, dict) and _numeric(data.get("value")):
                    rows.append(_leaderboard_entry(repo_id, item, data))
        rows.sort(key=lambda row: (-float(row["value"]), row["modelId"]))
        ranked: list[Any] = [{"rank": rank, **row} for rank, row in enumerate(rows, start=1)]
        return dump_json(ranked + (odd_leaderboard_entries() if self.odd_repos else []))


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _leaderboard_entry(repo_id: str, item: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    author = repo_id.split("/")[0]
    entry: dict[str, Any] = {
        "modelId": repo_id,
        "value": data["value"],
        "verified": item["verified"],
        "filename": item["filename"],
        "author": {"type": "org", "name": author, "fullname": author},
    }
    if isinstance(data.get("source"), dict):
        entry["source"] = data["source"]
    if "pullRequest" in item:
        entry["pullRequest"] = item["pullRequest"]
    if data.get("notes") is not None:
        entry["notes"] = data["notes"]
    if MARKER_KEY in item:
        entry[MARKER_KEY] = item[MARKER_KEY]
    return entry


def parse_entries(data: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """A `.eval_results` file's entries, or why the Hub would reject it."""
    try:
        loaded = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        return [], f"invalid YAML: {type(exc).__name__}"
    if not isinstance(loaded, list) or not loaded:
        return [], "expected a non-empty list of results"
    for entry in loaded:
        dataset = entry.get("dataset") if isinstance(entry, dict) else None
        if not isinstance(dataset, dict) or not dataset.get("id") or not dataset.get("task_id"):
            return [], "each result needs dataset.id and dataset.task_id"
        if not isinstance(entry.get("value"), (int, float)):
            return [], "each result needs a numeric value"
    # YAML dates (unquoted) become strings, as JSON carries them.
    return json.loads(json.dumps(loaded, default=str)), None


def datasets_listing(evals: EvalsView, *, query: str) -> Reply:
    """`GET /api/datasets`: only the official benchmarks' listing is served."""
    filters = parse_qs(query).get("filter", [])
    if filters != ["benchmark:official"]:
        return error_reply(400, None, "the replay hub lists datasets by filter=benchmark:official")
    return Reply(200, [("Content-Type", JSON_TYPE), ASSEMBLED], evals.official_listing())


def leaderboard_reply(evals: EvalsView, repo: Repo) -> Reply:
    body = evals.leaderboard(repo.repo_id) if repo.repo_type == "dataset" else None
    if body is None:
        return error_reply(404, None, f"{repo.repo_id} is not an official benchmark")
    return Reply(200, [("Content-Type", JSON_TYPE), ASSEMBLED], body)
