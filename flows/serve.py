"""Registers the deployments of `schedules.yaml` and executes their runs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from llmsync_flows.sync import sync
from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

DEFAULT_SCHEDULES = Path("schedules.yaml")
SCHEDULES_ENV = "LLMSYNC_SCHEDULES"
_ALLOWED_KEYS = {
    "name",
    "description",
    "cron",
    "timezone",
    "tags",
    "parameters",
    "paused",
    "publish",
}


class ScheduleFileError(ValueError):
    """`schedules.yaml` is not what `llmsync serve` can register."""


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    cron: str | None
    timezone: str = "UTC"
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    paused: bool = False


def default_schedules_path() -> Path:
    """`LLMSYNC_SCHEDULES`, else `schedules.yaml` in the working directory."""
    override = os.environ.get(SCHEDULES_ENV)
    return Path(override) if override else DEFAULT_SCHEDULES


def load_schedules(path: Path = DEFAULT_SCHEDULES) -> list[DeploymentSpec]:
    if not path.is_file():
        raise ScheduleFileError(
            f"no schedules file at {path.resolve()}: pass --schedules PATH or set "
            f"{SCHEDULES_ENV} (the repository's schedules.yaml is an example)"
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScheduleFileError(f"cannot read {path}: {exc}") from exc
    entries = document.get("deployments") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ScheduleFileError(f"{path}: expected a non-empty `deployments:` list")
    specs: list[DeploymentSpec] = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ScheduleFileError(f"{path}: deployment #{position} needs a `name`")
        unknown = set(entry) - _ALLOWED_KEYS
        if unknown:
            raise ScheduleFileError(
                f"{path}: deployment {entry['name']!r} has unknown key(s) {sorted(unknown)}"
            )
        parameters = entry.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ScheduleFileError(f"{path}: {entry['name']!r} parameters must be a mapping")
        publish = entry.get("publish") or []
        if not isinstance(publish, list) or not all(isinstance(url, str) for url in publish):
            raise ScheduleFileError(f"{path}: {entry['name']!r} publish must be a list of URLs")
        if publish:
            # The flow's `publish` parameter: every target gets the snapshots it lacks.
            parameters = {**parameters, "publish": publish}
        specs.append(
            DeploymentSpec(
                name=str(entry["name"]),
                cron=str(entry["cron"]) if entry.get("cron") else None,
                timezone=str(entry.get("timezone") or "UTC"),
                description=entry.get("description"),
                tags=[str(tag) for tag in entry.get("tags") or []],
                # Nulls mean "use the flow's default", which reads the environment
                # of the process that executes the run.
                parameters={k: v for k, v in parameters.items() if v is not None},
                paused=bool(entry.get("paused", False)),
            )
        )
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ScheduleFileError(f"{path}: deployment names repeat: {names}")
    return specs


def to_deployment(spec: DeploymentSpec) -> RunnerDeployment:
    schedules = [Cron(spec.cron, timezone=spec.timezone)] if spec.cron else []
    deployment = sync.to_deployment(
        name=spec.name,
        schedules=schedules,
        parameters=spec.parameters,
        description=spec.description,
        tags=spec.tags,
        paused=spec.paused,
        # Import the flow by module path, so runs work from any folder.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    # `to_deployment` returns a coroutine only when called from async code.
    assert isinstance(deployment, RunnerDeployment)
    return deployment


def serve_schedules(path: Path = DEFAULT_SCHEDULES, *, limit: int | None = 1) -> None:
    """Block, executing scheduled and on-demand runs (`prefect deployment run`)."""
    deployments = [to_deployment(spec) for spec in load_schedules(path)]
    serve(*deployments, limit=limit)
