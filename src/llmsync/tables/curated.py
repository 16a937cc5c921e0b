"""Loads and validates the curated article metadata (`llmsync/curated/*.yaml`).

The file is reviewed by hand, so mistakes are typos: a misspelt key, a role
that does not exist, a repo listed twice. Each is refused on load with the
model and field named, rather than silently producing an odd catalog.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from llmsync.hub.ids import is_valid_repo_id

ROLES: tuple[str, ...] = ("primary", "variant", "base")
COMMERCIAL_USE: tuple[str, ...] = ("allowed", "not_allowed")
ENV_VAR = "LLMSYNC_CURATED"

# Every model states each fact explicitly, null included, so silence is a decision.
_STRING_FACTS = (
    "developer",
    "base_model",
    "finetuning_data",
    "training_cost",
    "training_hardware",
    "license",
)
_REQUIRED_KEYS = frozenset(
    {"name", "source", "params_b", "commercial_use", "claims", "repos", *_STRING_FACTS}
)
_TOP_LEVEL_KEYS = frozenset({"models", "aliases"})


class CuratedError(ValueError):
    """The curated file is invalid; the message names the file, model and field."""


@dataclass(frozen=True)
class CuratedRepo:
    repo_id: str
    role: str


@dataclass(frozen=True)
class CuratedModel:
    name: str
    source_title: str
    source_author: str
    developer: str | None
    params_b: float | None
    base_model: str | None
    finetuning_data: str | None
    training_cost: str | None
    training_hardware: str | None
    license: str | None
    commercial_use: str | None
    claims: tuple[str, ...]
    repos: tuple[CuratedRepo, ...]

    @property
    def primary_repo(self) -> str:
        return next(repo.repo_id for repo in self.repos if repo.role == "primary")


class CuratedRepoRow(NamedTuple):
    """One (article model, repo) pair; unpacks as a plain 3-tuple."""

    article_model: str
    repo_id: str
    role: str


@dataclass(frozen=True)
class Curated:
    models: tuple[CuratedModel, ...]
    aliases: dict[str, str]
    # Of the file's bytes: snapshots record which curated text they were built from.
    sha256: str
    # Where it was read from (a path, or the copy bundled with llmsync) and its
    # exact bytes, which a sync lands in `data/raw/` so that a snapshot can be
    # rebuilt offline even after the file is edited or moved.
    origin: str = "parsed in memory"
    source: bytes = field(default=b"", repr=False, compare=False)

    def repos(self) -> list[CuratedRepoRow]:
        """(article_model, repo_id, role) for every curated repo, in file order."""
        return [
            CuratedRepoRow(model.name, repo.repo_id, repo.role)
            for model in self.models
            for repo in model.repos
        ]

    def model(self, name: str) -> CuratedModel:
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)


BUNDLED = "bundled with llmsync"


def bundled_path() -> Path:
    # The reviewed file ships inside the package, so an installed llmsync
    # finds it wherever it runs.
    return Path(__file__).resolve().parents[1] / "curated" / "article_models.yaml"


def default_path() -> Path:
    """A user's own reviewed copy (`LLMSYNC_CURATED`), else the bundled one."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    return bundled_path()


def load_curated(path: Path | None = None) -> Curated:
    path = path if path is not None else default_path()
    try:
        data = path.read_bytes()
        raw = yaml.safe_load(data.decode("utf-8"))
    except OSError as exc:
        raise CuratedError(f"{path}: cannot read curated file: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise CuratedError(f"{path}: not UTF-8: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CuratedError(f"{path}: not valid YAML: {exc}") from exc
    try:
        curated = parse_curated(raw, sha256=hashlib.sha256(data).hexdigest())
    except CuratedError as exc:
        raise CuratedError(f"{path}: {exc}") from None
    origin = BUNDLED if path.resolve() == bundled_path() else str(path)
    return replace(curated, origin=origin, source=data)


def parse_curated(raw: Any, *, sha256: str | None = None) -> Curated:
    """Validate already-loaded YAML; raises CuratedError on the first problem.

    `sha256` is the source file's; without one, a hash of the content stands in.
    """
    if not isinstance(raw, dict):
        raise CuratedError("top level must be a mapping with `models` and `aliases`")
    _reject_unknown(raw, allowed=_TOP_LEVEL_KEYS, where="top level")
    entries = raw.get("models")
    if not isinstance(entries, list) or not entries:
        raise CuratedError("`models` must be a non-empty list")
    models = tuple(_parse_model(entry, index) for index, entry in enumerate(entries))
    _check_unique_models(models)
    aliases = _parse_aliases(raw.get("aliases") or {}, models)
    if sha256 is None:
        canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
        sha256 = hashlib.sha256(canonical.encode()).hexdigest()
    return Curated(models=models, aliases=aliases, sha256=sha256)


def _parse_model(entry: Any, index: int) -> CuratedModel:
    if not isinstance(entry, dict):
        raise CuratedError(f"models[{index}] must be a mapping")
    where = f"model {entry.get('name')!r}" if entry.get("name") else f"models[{index}]"
    missing = sorted(_REQUIRED_KEYS - entry.keys())
    if missing:
        raise CuratedError(f"{where}: missing required field(s) {', '.join(missing)}")
    _reject_unknown(entry, allowed=_REQUIRED_KEYS, where=where)
    name = _required_text(entry["name"], where=where, key="name")
    source = _parse_source(entry["source"], where=where)
    commercial_use = _optional_text(entry["commercial_use"], where=where, key="commercial_use")
    if commercial_use is not None and commercial_use not in COMMERCIAL_USE:
        raise CuratedError(
            f"{where}: commercial_use {commercial_use!r} is not one of {COMMERCIAL_USE} or null"
        )
    facts = {key: _optional_text(entry[key], where=where, key=key) for key in _STRING_FACTS}
    return CuratedModel(
        name=name,
        source_title=source[0],
        source_author=source[1],
        params_b=_params(entry["params_b"], where=where),
        commercial_use=commercial_use,
        claims=_claims(entry["claims"], where=where),
        repos=_parse_repos(entry["repos"], where=where),
        **facts,
    )


def _parse_source(value: Any, *, where: str) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise CuratedError(f"{where}: source must be a mapping with title and author")
    _reject_unknown(value, allowed=frozenset({"title", "author"}), where=f"{where} source")
    title = _required_text(value.get("title"), where=where, key="source.title")
    author = _required_text(value.get("author"), where=where, key="source.author")
    return title, author


def _parse_repos(value: Any, *, where: str) -> tuple[CuratedRepo, ...]:
    if not isinstance(value, list) or not value:
        raise CuratedError(f"{where}: repos must be a non-empty list")
    repos: list[CuratedRepo] = []
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise CuratedError(f"{where}: repos[{position}] must be a mapping")
        _reject_unknown(item, allowed=frozenset({"repo_id", "role"}), where=f"{where} repos")
        repo_id = _required_text(item.get("repo_id"), where=where, key=f"repos[{position}].repo_id")
        role = _required_text(item.get("role"), where=where, key=f"repos[{position}].role")
        if not is_valid_repo_id(repo_id):
            raise CuratedError(f"{where}: {repo_id!r} is not a valid Hub repo id")
        if role not in ROLES:
            raise CuratedError(f"{where}: {repo_id} has unknown role {role!r}; use one of {ROLES}")
        if any(repo.repo_id == repo_id for repo in repos):
            raise CuratedError(f"{where}: duplicate repo {repo_id}")
        repos.append(CuratedRepo(repo_id=repo_id, role=role))
    primaries = [repo.repo_id for repo in repos if repo.role == "primary"]
    if len(primaries) != 1:
        raise CuratedError(f"{where}: needs exactly one primary repo, found {len(primaries)}")
    return tuple(repos)


def _check_unique_models(models: tuple[CuratedModel, ...]) -> None:
    names: set[str] = set()
    primary_of: dict[str, str] = {}
    for model in models:
        if model.name in names:
            raise CuratedError(f"duplicate model name {model.name!r}")
        names.add(model.name)
        # A repo may serve several models as base or variant, but one repo cannot
        # be what two different article models mean.
        if model.primary_repo in primary_of:
            raise CuratedError(
                f"duplicate repo {model.primary_repo}: primary of both "
                f"{primary_of[model.primary_repo]!r} and {model.name!r}"
            )
        primary_of[model.primary_repo] = model.name


def _parse_aliases(value: Any, models: tuple[CuratedModel, ...]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise CuratedError("`aliases` must be a mapping of leaderboard model name -> model")
    names = {model.name for model in models}
    aliases: dict[str, str] = {}
    for alias, model_name in value.items():
        if not isinstance(alias, str) or not isinstance(model_name, str):
            raise CuratedError(f"alias {alias!r}: names must be strings")
        if model_name not in names:
            raise CuratedError(f"alias {alias!r} points to unknown model {model_name!r}")
        aliases[alias] = model_name
    return aliases


def _reject_unknown(mapping: Mapping[Any, Any], *, allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(key) for key in mapping if key not in allowed)
    if unknown:
        raise CuratedError(f"{where}: unknown field(s) {', '.join(unknown)}")


def _required_text(value: Any, *, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CuratedError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _optional_text(value: Any, *, where: str, key: str) -> str | None:
    if value is None:
        return None
    return _required_text(value, where=where, key=key)


def _params(value: Any, *, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise CuratedError(f"{where}: params_b must be a positive number (billions) or null")
    return float(value)


def _claims(value: Any, *, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise CuratedError(f"{where}: claims must be a list of strings")
    return tuple(
        _required_text(claim, where=where, key=f"claims[{position}]")
        for position, claim in enumerate(value)
    )
