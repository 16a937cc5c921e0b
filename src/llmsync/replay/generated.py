"""Bodies and cards the replay hub generates for the population's repos.

A repo with no recording gets an `/api/models` body and a `README.md` built
from its own leaderboard row (`facts.RowFacts`) and nothing else. Both say so
where a reader of the raw bytes looks: the body's `llmsync_replay_generated`
key, and a YAML comment plus an HTML comment in the card. Facts the data does
not have are left out (no downloads, no creation date, no files but the card),
as the recordings' own article bodies do; see POPULATION.md.

Everything here is a pure function of the facts and the mutation history, so
the same recordings give the same bytes on every run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from llmsync.hub.hashing import git_blob_oid
from llmsync.hub.ids import is_valid_repo_id
from llmsync.replay.facts import RowFacts
from llmsync.replay.replies import iso

MARKER_KEY = "llmsync_replay_generated"
CARD_FILE = "README.md"

# The Hub's safetensors dtype names for the leaderboard's precisions.
_DTYPES = {"bfloat16": "BF16", "float16": "F16", "float32": "F32"}


@dataclass
class Version:
    """One state of a generated repo: revision 1 is the leaderboard's, each
    `new_sha` mutation adds one."""

    sha: str
    last_modified: dt.datetime
    revision: int = 1
    seed: int | None = None  # the mutation's seed (revision > 1)
    generated_sha: bool = False  # the sha is the replay hub's, not the row's
    # `.eval_results/*.yaml` on this commit (population_evals.py); a commit
    # that only changes them keeps the card and has this title.
    eval_files: dict[str, Any] = field(default_factory=dict)
    eval_commit: str | None = None
    _card: bytes | None = field(default=None, repr=False)


@dataclass
class GeneratedRepo:
    """A population repo served from its leaderboard facts."""

    repo_id: str  # the current id (a rename changes it)
    facts: RowFacts
    versions: list[Version]  # oldest first, never empty
    likes: int | None
    downloads: int | None = None
    gated: bool = False
    counts_changed_by: int | None = None  # seed of the mutation that set likes/downloads
    pull_requests: list[Any] = field(default_factory=list)  # eval results' PRs, oldest first
    # A pull request opened or closed moves `lastModified`, not the sha.
    updated: dt.datetime | None = None

    @property
    def head(self) -> Version:
        return self.versions[-1]

    @property
    def object_id(self) -> str:
        # The Hub's `_id` never changes, renames included: from the first id.
        return object_id(self.facts.repo_id)

    def version(self, revision: str) -> Version | None:
        if revision == "main":
            return self.head
        return next((v for v in reversed(self.versions) if v.sha == revision), None)


def modified(repo: GeneratedRepo, version: Version) -> dt.datetime:
    """`lastModified` of a version: the head's moves with a pull request too."""
    if version is repo.head and repo.updated is not None:
        return max(version.last_modified, repo.updated)
    return version.last_modified


def object_id(repo_id: str) -> str:
    """A stable 24-hex `_id` (the Hub's are Mongo ObjectIds)."""
    return hashlib.sha1(f"llmsync replay _id\n{repo_id}".encode()).hexdigest()[:24]


def generated_sha(*parts: str) -> str:
    """A commit id made up by the replay hub: sha1 of a labelled text."""
    text = "llmsync replay generated commit\n" + "\n".join(parts)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def first_version(facts: RowFacts) -> Version:
    if facts.sha is not None:
        sha, made_up = facts.sha, False
    else:
        sha, made_up = generated_sha(facts.repo_id, facts.export.label), True
    return Version(sha=sha, last_modified=last_modified(facts), generated_sha=made_up)


def last_modified(facts: RowFacts) -> dt.datetime:
    """The row's `Upload To Hub Date`, else its submission date, else the
    export's date: the newest date the data ties to that sha."""
    return facts.upload_date or facts.submission_date or facts.export.date


def base_model(facts: RowFacts) -> str | None:
    """`Base Model` when it names another repo (not `Removed`, not `X (Merge)`)."""
    value = facts.base_model
    if value and value != facts.repo_id and "/" in value and is_valid_repo_id(value):
        return value
    return None


def marker(repo: GeneratedRepo, version: Version, *, counts: bool = True) -> str:
    facts = repo.facts
    text = (
        f"built by the replay hub from {facts.export.label} "
        f"(export of {facts.export.date.date().isoformat()}, row {facts.row}); "
        "not a Hub response"
    )
    if version.generated_sha:
        text += "; sha generated: the row has no commit sha"
    if version.revision > 1:
        text += f"; revision {version.revision} made by a population mutation (seed {version.seed})"
    if counts and repo.counts_changed_by is not None:
        text += f"; likes/downloads set by a population mutation (seed {repo.counts_changed_by})"
    if counts and (version.eval_files or repo.pull_requests):
        text += "; eval results generated by the replay hub"
    return text


def card_data(facts: RowFacts) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if facts.license:
        data["license"] = facts.license
    base = base_model(facts)
    if base:
        data["base_model"] = base
    return data


def tags(facts: RowFacts) -> list[str]:
    found = []
    base = base_model(facts)
    if base:
        found.append(f"base_model:{base}")
    if facts.license:
        found.append(f"license:{facts.license}")
    return found


def card(repo: GeneratedRepo, version: Version) -> bytes:
    """The generated README.md of one version (cached on the version); a
    commit that changed only eval results has its parent's card."""
    if version.eval_commit is not None:
        older = repo.versions[: repo.versions.index(version)]
        return card(repo, next(v for v in reversed(older) if v.eval_commit is None))
    if version._card is None:
        version._card = _card_text(repo, version).encode("utf-8")
    return version._card


def _yaml_scalar(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML scalar


def _card_text(repo: GeneratedRepo, version: Version) -> str:
    facts = repo.facts
    # Only the facts of the sha, not later likes/downloads changes: a card is
    # a file of a commit and changes only with a new commit.
    note = marker(repo, version, counts=False).replace("--", "-")
    lines = ["---", f"# {MARKER_KEY}: generated card, {note}"]
    lines += [f"{key}: {_yaml_scalar(value)}" for key, value in card_data(facts).items()]
    lines += [
        "---",
        f"<!-- {MARKER_KEY}: {note} -->",
        "",
        f"# {facts.repo_id}",
        "",
        "This card was generated by the llmsync replay hub from the model's row in an "
        "Open LLM Leaderboard export. It is not the model's card on the Hugging Face Hub.",
        "",
        "| leaderboard column | value |",
        "|---|---|",
    ]
    rows = [
        ("Model sha", facts.sha or facts.written_sha),
        ("Hub License", facts.license),
        ("#Params (B)", _number_text(facts.params_b)),
        ("Hub ❤️", None if facts.likes is None else str(facts.likes)),
        ("Precision", facts.precision),
        ("Architecture", facts.architecture),
        ("Type", facts.model_type),
        ("Weight type", facts.weight_type),
        ("Base Model", facts.base_model),
        ("Upload To Hub Date", _day(facts.upload_date)),
        ("Submission Date", _day(facts.submission_date)),
        ("Available on the hub", None if facts.available is None else str(facts.available)),
    ]
    for column, value in rows:
        if value is not None:
            lines.append(f"| {column} | {value.replace('|', '/')} |")
    if version.revision > 1:
        lines += [
            "",
            f"Revision {version.revision} of this card, written by a population mutation "
            f"(seed {version.seed}).",
        ]
    return "\n".join(lines) + "\n"


def _number_text(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if value == int(value) else str(value)


def _day(value: dt.datetime | None) -> str | None:
    return value.date().isoformat() if value is not None else None


def info_body(repo: GeneratedRepo, version: Version, *, blobs: bool) -> dict[str, Any]:
    """The repo's `/api/models/{id}` body at one version, in the Hub's key order."""
    facts = repo.facts
    sibling: dict[str, Any] = {"rfilename": CARD_FILE}
    if blobs:
        readme = card(repo, version)
        sibling.update(blobId=git_blob_oid(readme), size=len(readme))
    body: dict[str, Any] = {
        "_id": repo.object_id,
        "id": repo.repo_id,
        "modelId": repo.repo_id,
        "author": repo.repo_id.split("/")[0],
        "sha": version.sha,
        "lastModified": iso(modified(repo, version)),
        "private": False,
        "disabled": False,
        "gated": "manual" if repo.gated else False,
        "tags": tags(facts),
    }
    if repo.downloads is not None:
        body["downloads"] = repo.downloads
    if repo.likes is not None:
        body["likes"] = repo.likes
    data = card_data(facts)
    if data:
        body["cardData"] = data
    if facts.architecture:
        body["config"] = {"architectures": [facts.architecture]}
    dtype = _DTYPES.get((facts.precision or "").lower())
    if facts.params_b is not None and dtype is not None:
        total = round(facts.params_b * 1e9)
        body["safetensors"] = {"parameters": {dtype: total}, "total": total}
    body["siblings"] = [sibling]
    body[MARKER_KEY] = marker(repo, version)
    return body
