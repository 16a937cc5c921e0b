"""One model's fetch: its info and its card, and the one mapping from the
Hub's answers to `models.status` (used by the curated fetch and the
population fetch alike)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from llmsync.hub.client import HubClient
from llmsync.hub.errors import Gated, HubError, NotRecorded, RepoNotFound, TooLarge
from llmsync.hub.ids import is_commit_sha
from llmsync.hub.landing import StoredObject
from llmsync.hub.secrets import redact


@dataclass(frozen=True)
class ModelFetch:
    repo_id: str
    info_json: bytes | None
    card: bytes | None
    status: str | None
    detail: str | None
    # The landed objects the bytes above were read from.
    info_object: StoredObject | None = None
    card_object: StoredObject | None = None
    # When the info is an item of a landed listing page (`info_object`): its id there.
    info_item: str | None = None


def fetch_info(client: HubClient, repo_id: str) -> tuple[ModelFetch, str, Any]:
    """A repo's model info (following a rename), with the id and sha its card
    is asked at; or, without info, the status that says why."""
    try:
        info = client.model_info(repo_id)
    except RepoNotFound as exc:
        return ModelFetch(repo_id, None, None, "not_found", redact(str(exc))), repo_id, None
    except Gated as exc:
        return ModelFetch(repo_id, None, None, "gated", redact(str(exc))), repo_id, None
    except NotRecorded as exc:
        return ModelFetch(repo_id, None, None, "not_recorded", redact(str(exc))), repo_id, None
    except HubError as exc:
        return ModelFetch(repo_id, None, None, "unavailable", redact(str(exc))), repo_id, None
    base = ModelFetch(repo_id, info.raw, None, None, None, info_object=info.stored)
    hub_id = info.info.id if isinstance(info.info.id, str) else repo_id
    return base, hub_id, info.revision


def with_card(
    client: HubClient, base: ModelFetch, *, hub_id: str, sha: Any, max_bytes: int
) -> ModelFetch:
    """`base` (a ModelFetch with info) completed with the card at commit `sha`
    (one resolver GET, none when landed before). Without a commit sha there is
    no immutable card to land, and `base` is returned as it is."""
    if not (isinstance(sha, str) and is_commit_sha(sha)):
        return base
    try:
        card = client.card_at(hub_id, sha=sha, max_bytes=max_bytes)
    except TooLarge as exc:
        return replace(base, status="card_too_large", detail=redact(str(exc)))
    except NotRecorded as exc:
        # The replay hub lacks the card's bytes: a gap in its recordings.
        return replace(base, status="not_recorded", detail=redact(str(exc)))
    except Gated as exc:
        # The info is public, the files are not: the repo's state, not a failure.
        return replace(base, status="card_gated", detail=redact(str(exc)))
    except HubError as exc:
        # Failing or gone after the info came back: the card alone is lost, this time.
        return replace(base, status="card_unavailable", detail=redact(str(exc)))
    if card is None:
        return base
    stored = StoredObject(card.path, card.sha256, card.size)
    return replace(base, card=card.read_bytes(), card_object=stored)
