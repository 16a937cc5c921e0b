"""Reading the rate-limit headers a server sends (IETF draft
`ratelimit-headers`, in the forms its drafts and the Hub use).

The Hub sends, on every answer of a limited bucket::

    RateLimit: "api";r=489;t=189
    RateLimit-Policy: "fixed window";"api";q=500;w=300

(`r` requests remaining, `t` seconds until the window resets, `q` the quota
per window of `w` seconds). The forms read here:

- draft 08 and later: a list of members `"<name>";<key>=<int>...`, several
  policies separated by commas (`"burst";q=100;w=60,"daily";q=1000;w=86400`);
  the Hub adds the policy's kind as a first name (`"fixed window";"api";...`);
- drafts 03 to 07: `RateLimit: limit=10, remaining=1, reset=7` and a policy
  of bare quotas `10;w=1, 50;w=60`;
- drafts 00 to 02: the separate `RateLimit-Limit`, `RateLimit-Remaining` and
  `RateLimit-Reset` fields.

The member that names the request's bucket is the one read; without one
naming it, the first member that names no bucket (a server's single policy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llmsync.hub.quotas import BUCKETS

# The early drafts' long keys, read as the short ones.
_ALIASES = {"limit": "q", "remaining": "r", "reset": "t", "window": "w"}


@dataclass(frozen=True)
class _Member:
    names: tuple[str, ...]
    params: dict[str, int]

    def bucket(self) -> str | None:
        """The bucket the member names, if it names one (the last such name)."""
        return next((name for name in reversed(self.names) if name in BUCKETS), None)


@dataclass(frozen=True)
class RateLimitNews:
    """What one answer's headers say about a bucket; None where they are silent."""

    bucket: str
    remaining: int | None = None
    reset_seconds: int | None = None
    quota: int | None = None
    window_seconds: int | None = None


def _split(value: str, separator: str) -> list[str]:
    """`value` split at `separator`, except inside double quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _member(text: str) -> _Member:
    names: list[str] = []
    params: dict[str, int] = {}
    for token in (part.strip() for part in _split(text, ";")):
        key, equals, value = token.partition("=")
        value = value.strip().strip('"')
        if equals and value.isdigit():
            name = key.strip().lower()
            params[_ALIASES.get(name, name)] = int(value)
        elif token.isdigit():  # drafts 03-07: a policy's quota stands bare (`10;w=1`)
            params["q"] = int(token)
        elif token and not equals:
            names.append(token.strip('"'))
    return _Member(tuple(names), params)


def parse_field(value: str | None) -> list[_Member]:
    """The members of one `RateLimit` or `RateLimit-Policy` field value."""
    if not value or not value.strip():
        return []
    # A member without a number says nothing (and a name alone is no member).
    members = [m for m in (_member(part) for part in _split(value, ",")) if m.params]
    if members and all(not m.names and len(m.params) == 1 for m in members):
        # drafts 03-07's dictionary `limit=10, remaining=1, reset=7`: one member.
        merged: dict[str, int] = {}
        for member in members:
            merged.update(member.params)
        return [_Member((), merged)]
    return members


def _pick(members: list[_Member], bucket: str, *, name: str | None = None) -> _Member | None:
    """The member for `bucket`: the one called `name` (the policy a `RateLimit`
    member names), else one naming the bucket, else one naming no bucket."""
    tests = (
        lambda m: name is not None and name in m.names,
        lambda m: m.bucket() == bucket,
        lambda m: m.bucket() is None,
    )
    for test in tests:
        found = next((m for m in members if test(m)), None)
        if found is not None:
            return found
    # Members for another bucket only: the server knows the bucket better.
    return members[0] if members else None


def _get(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def read_ratelimit(headers: Mapping[str, str], *, bucket: str) -> RateLimitNews | None:
    """What `headers` say about the window of `bucket` (the bucket the client
    counted the request in); None when they say nothing."""
    limit = _pick(parse_field(_get(headers, "RateLimit")), bucket)
    if limit is None:
        legacy = {
            key: _get(headers, f"RateLimit-{field}")
            for key, field in (("q", "Limit"), ("r", "Remaining"), ("t", "Reset"))
        }
        params = {k: int(v.strip()) for k, v in legacy.items() if v and v.strip().isdigit()}
        limit = _Member((), params) if params else None
    policies = parse_field(_get(headers, "RateLimit-Policy"))
    name = limit.names[-1] if limit and limit.names else None
    policy = _pick(policies, (limit.bucket() if limit else None) or bucket, name=name)
    if limit is None and policy is None:
        return None
    limit_params = limit.params if limit else {}
    policy_params = policy.params if policy else {}
    return RateLimitNews(
        bucket=(limit.bucket() if limit else None)
        or (policy.bucket() if policy else None)
        or bucket,
        remaining=limit_params.get("r"),
        reset_seconds=limit_params.get("t"),
        quota=policy_params.get("q", limit_params.get("q")),
        window_seconds=policy_params.get("w"),
    )
