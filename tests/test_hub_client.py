"""HubClient against the replay hub: landing, typed errors, retries, secrets."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from llmsync.hub.bodies import BodyCheck, announcement
from llmsync.hub.client import HubClient
from llmsync.hub.errors import (
    FileNotFound,
    Gated,
    HubUnavailable,
    NotRecorded,
    RepoNotFound,
    RevisionNotFound,
    TooLarge,
    UnverifiedAnswer,
)
from llmsync.hub.hashing import git_blob_oid
from llmsync.hub.ids import InvalidIdError
from llmsync.hub.listing import LISTING_EXPAND
from llmsync.hub.pacing import Pacer
from llmsync.hub.retry import IncompleteBody, RetryPolicy
from llmsync.replay.faults import FaultPlan, FaultRule
from llmsync.replay.recordings import RecordingStore
from llmsync.replay.server import ReplayHub
from llmsync.store.raw import RawStore
from tests.conftest import LEADERBOARD_FILE, V2, V2_DATES

DOLLY = "databricks/dolly-v2-12b"
ALPACA = "chavinlo/alpaca-native"
CANARY = "hf_CanaryCanaryCanaryCanary0123456789"
FAST = RetryPolicy(max_attempts=4, jitter=0.0)
SHA = "b" * 40  # a commit sha of the unit tests' own making
CAP = 100_000_000  # over any recorded file: the caps are tested on their own


@pytest.fixture(scope="module")
def store(recordings_dir: Path) -> RecordingStore:
    return RecordingStore.load(recordings_dir)


class Recorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def _client(hub: ReplayHub, root: Path) -> tuple[HubClient, Recorder]:
    sleep = Recorder()
    client = HubClient(endpoint=hub.url, raw_store=RawStore(root), policy=FAST, sleep=sleep)
    return client, sleep


def _faulty(factory: Callable[..., ReplayHub], *rules: FaultRule) -> ReplayHub:
    return factory(faults=FaultPlan(rules))


def test_commits_and_landing(replay_hub: ReplayHub, store: RecordingStore, tmp_path: Path) -> None:
    client, _ = _client(replay_hub, tmp_path)
    commits = client.list_commits(V2, repo_type="dataset")
    assert [c.date.date().isoformat() for c in commits] == list(reversed(V2_DATES))
    repo = store.repos[f"dataset/{V2}"]
    # The newest, the oldest and one between (every commit: test_replay_hub).
    sample = [commits[0], commits[len(commits) // 2], commits[-1]]
    for commit in sample:
        landed = client.file_at(
            V2, LEADERBOARD_FILE, repo_type="dataset", sha=commit.sha, max_bytes=CAP
        )
        recorded = repo.resolve(commit.sha)
        assert recorded is not None
        expected = recorded.files[LEADERBOARD_FILE]
        assert landed.path == tmp_path / "datasets" / V2 / commit.sha / LEADERBOARD_FILE
        assert landed.sha256 == expected.sha256 == hashlib.sha256(landed.read_bytes()).hexdigest()
        assert landed.read_bytes() == store.file_bytes(expected)
    # Immutable commits already landed are not asked for again.
    replay_hub.clear_requests()
    for commit in sample:
        client.file_at(V2, LEADERBOARD_FILE, repo_type="dataset", sha=commit.sha, max_bytes=CAP)
    assert replay_hub.requests == []
    assert not (tmp_path / ".incoming").exists() or not any((tmp_path / ".incoming").iterdir())


def test_a_file_is_fetched_at_a_commit_only(replay_hub: ReplayHub, tmp_path: Path) -> None:
    # A branch moves: what landed under it would be a lie by the next commit.
    client, _ = _client(replay_hub, tmp_path)
    with pytest.raises(InvalidIdError, match="at a commit sha"):
        client.file_at(V2, LEADERBOARD_FILE, repo_type="dataset", sha="main", max_bytes=CAP)
    assert replay_hub.requests == [] or all(
        "/resolve/main/" not in r.path for r in replay_hub.requests
    )


def test_model_info_lands_exact_bytes(
    replay_hub: ReplayHub, store: RecordingStore, tmp_path: Path
) -> None:
    client, _ = _client(replay_hub, tmp_path)
    info = client.model_info(DOLLY)
    head = store.repos[f"model/{DOLLY}"].head
    assert head.api_info is not None
    # The recorded body as the Hub answers `expand[]=...`: `_id`, `id` and the
    # properties asked, byte for byte as the replay hub sent them.
    recorded = json.loads(store.blob_bytes(head.api_info))
    expected = {k: recorded[k] for k in ("_id", "id", *LISTING_EXPAND) if k in recorded}
    assert json.loads(info.raw) == {**expected, "evalResults": []}
    assert info.path.read_bytes() == info.raw
    # Named by its hash under its commit, in a tree of its own: a repo file
    # of any name can never clash with it.
    digest = hashlib.sha256(info.raw).hexdigest()
    assert info.sha256 == digest
    assert info.path == tmp_path / "api-info" / "models" / DOLLY / info.revision / f"{digest}.json"
    assert info.path.read_bytes() == info.raw
    assert info.info.id == DOLLY and info.revision == json.loads(info.raw)["sha"]
    # Likes and downloads change at the same commit: info is asked for each time,
    # and the same body lands as the same object.
    replay_hub.clear_requests()
    assert client.model_info(DOLLY).path == info.path
    assert [r.path for r in replay_hub.requests] == [f"/api/models/{DOLLY}"]

    renamed = client.model_info("bert-base-uncased")
    assert json.loads(renamed.raw)["id"] == "google-bert/bert-base-uncased"
    assert renamed.info.id == "google-bert/bert-base-uncased"


def test_cards(replay_hub: ReplayHub, tmp_path: Path) -> None:
    client, _ = _client(replay_hub, tmp_path)
    info = client.model_info(DOLLY)
    card = client.card_at(DOLLY, sha=info.revision, max_bytes=1_000_000)
    assert card is not None and b"license: mit" in card.read_bytes()
    alpaca = client.model_info(ALPACA).revision
    # The replay hub has no recording of its card: not "no card".
    with pytest.raises(NotRecorded, match="HTTP 404 NotRecorded"):
        client.card_at(ALPACA, sha=alpaca, max_bytes=1_000_000)
    # A card lands under the commit it was read at: never under a branch.
    with pytest.raises(InvalidIdError):
        client.card_at(DOLLY, sha="main", max_bytes=1_000_000)

    (tmp_path / "small").mkdir()
    small, _ = _client(replay_hub, tmp_path / "small")
    replay_hub.clear_requests()
    with pytest.raises(TooLarge):
        small.card_at(DOLLY, sha=info.revision, max_bytes=10)
    # One GET, and nothing landed.
    assert [r.method for r in replay_hub.requests] == ["GET"]
    assert (
        small.raw_store.get(DOLLY, "README.md", repo_type="model", revision=info.revision) is None
    )


def _checked(body: bytes, headers: dict[str, str], path: Path) -> str:
    """`body` through the checks `file_at` makes, its answer's `headers` both
    the announcement and the body's own (a file the Hub serves itself)."""
    said = announcement(headers, sha=SHA, linked=False, max_bytes=None, what="card")
    check = BodyCheck(said, headers, max_bytes=None, what="card")
    check.feed(body)
    path.write_bytes(body)
    return check.finish(path)


def test_an_encoded_body_is_checked_by_its_decoded_bytes(tmp_path: Path) -> None:
    """Content-Length counts the bytes on the wire: a gzip answer's body,
    decoded, is longer, and that is no truncation. The ETag still decides."""
    body = b"---\nlicense: mit\n---\n" * 50
    headers = {
        "Content-Length": "60",
        "Content-Encoding": "gzip",
        "ETag": f'"{git_blob_oid(body)}"',
        "X-Repo-Commit": SHA,
    }
    path = tmp_path / "body"
    assert _checked(body, headers, path) == hashlib.sha256(body).hexdigest()
    with pytest.raises(IncompleteBody):
        _checked(body, {**headers, "Content-Encoding": "identity"}, path)
    with pytest.raises(IncompleteBody):
        _checked(body[:-1], headers, path)


def test_an_announcement_is_checked_before_any_body() -> None:
    """The commit, a checkable ETag and the size: whatever the answer lacks
    or contradicts is refused by name (hostile, odd and huge values too)."""
    sha256 = "ab" * 32
    good = {"X-Repo-Commit": SHA, "X-Linked-Etag": f'"{sha256}"', "X-Linked-Size": "10"}
    said = announcement(good, sha=SHA, linked=True, max_bytes=10, what="f")
    assert (said.commit, said.etag, said.size) == (SHA, sha256, 10)
    # huggingface_hub's reading: X-Linked-Etag, else ETag (weak or not).
    weak = {"X-Repo-Commit": SHA, "ETag": f'W/"{sha256.upper()}"'}
    assert announcement(weak, sha=SHA, linked=True, max_bytes=None, what="f").etag == sha256
    refused: list[tuple[dict[str, str], bool, str]] = [
        ({**good, "X-Repo-Commit": "c" * 40}, True, "answered for commit"),
        ({k: v for k, v in good.items() if k != "X-Repo-Commit"}, True, "lacks X-Repo-Commit"),
        ({**good, "X-Linked-Etag": ""}, True, "no X-Linked-Etag"),
        ({**good, "X-Linked-Etag": '"' + "d" * 40 + '"'}, True, "no X-Linked-Etag"),
        ({**good, "X-Linked-Etag": '"../../etc"'}, True, "no X-Linked-Etag"),
        ({"X-Repo-Commit": SHA, "ETag": '"md5-of-something"'}, False, "no ETag"),
    ]
    for headers, linked, message in refused:
        with pytest.raises(UnverifiedAnswer, match=message):
            announcement(headers, sha=SHA, linked=linked, max_bytes=None, what="f")
    with pytest.raises(TooLarge, match="over the cap"):
        announcement(
            {**good, "X-Linked-Size": str(10**18)}, sha=SHA, linked=True, max_bytes=10, what="f"
        )
    # An unreadable size is no size: the sha256 still decides.
    odd = announcement(
        {**good, "X-Linked-Size": "-1"}, sha=SHA, linked=True, max_bytes=10, what="f"
    )
    assert odd.size is None


def test_a_landed_file_changed_on_disk_is_fetched_again(
    replay_hub: ReplayHub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = _client(replay_hub, tmp_path)
    revision = client.model_info(DOLLY).revision
    replay_hub.clear_requests()
    card = client.card_at(DOLLY, sha=revision, max_bytes=1_000_000)
    assert card is not None
    first_fetch = [(r.method, r.path) for r in replay_hub.requests]
    assert first_fetch == [("GET", f"/{DOLLY}/resolve/{revision}/README.md")]
    original = card.read_bytes()
    edited = original.replace(b"license: mit", b"license: apache-2.0", 1)
    card.path.write_bytes(edited)

    replay_hub.clear_requests()
    with caplog.at_level(logging.WARNING):
        again = client.card_at(DOLLY, sha=revision, max_bytes=1_000_000)
    assert again is not None and again.path == card.path
    assert again.read_bytes() == original and again.sha256 == card.sha256
    assert [(r.method, r.path) for r in replay_hub.requests] == first_fetch
    (aside,) = (tmp_path / ".corrupt").glob(f"*/models/{DOLLY}/{revision}/README.md")
    assert aside.read_bytes() == edited
    assert "no longer has the bytes it landed with" in caplog.text
    # Intact again, it is read from the landing.
    replay_hub.clear_requests()
    client.card_at(DOLLY, sha=revision, max_bytes=1_000_000)
    assert replay_hub.requests == []


def test_typed_errors_are_not_retried(replay_hub: ReplayHub, tmp_path: Path) -> None:
    client, sleep = _client(replay_hub, tmp_path)
    with pytest.raises(RepoNotFound):
        client.model_info("nobody-here/no-such-model")
    with pytest.raises(RepoNotFound):
        client.list_commits("nobody-here/no-such-data", repo_type="dataset")
    head = client.list_commits(V2, repo_type="dataset")[0].sha
    with pytest.raises(FileNotFound):
        client.file_at(V2, "data/nope.parquet", repo_type="dataset", sha=head, max_bytes=CAP)
    with pytest.raises(RevisionNotFound):
        client.file_at(DOLLY, "README.md", repo_type="model", sha="0" * 40, max_bytes=CAP)
    with pytest.raises(InvalidIdError):
        client.file_at(V2, "../../etc/passwd", repo_type="dataset", sha=head, max_bytes=CAP)
    with pytest.raises(InvalidIdError):
        client.model_info("../etc")
    assert sleep.delays == []


def test_429_retry_after_is_honoured(
    replay_hub_factory: Callable[..., ReplayHub], tmp_path: Path
) -> None:
    hub = _faulty(
        replay_hub_factory,
        FaultRule(path="^/api/models/", action="status", status=429, retry_after=7),
        FaultRule(
            path="^/api/models/", action="status", status=429, retry_after=None, ratelimit_reset=3
        ),
    )
    client, sleep = _client(hub, tmp_path)
    assert client.model_info(DOLLY).info.id == DOLLY
    assert sleep.delays == [7.0, 3.0]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(
    replay_hub_factory: Callable[..., ReplayHub],
    tmp_path: Path,
    status: int,
    store: RecordingStore,
) -> None:
    hub = _faulty(
        replay_hub_factory,
        FaultRule(path="/commits/", action="status", status=status, times=2),
        FaultRule(path="/resolve/", action="status", status=status, times=1),
        FaultRule(path="^/cdn-lfs/", action="status", status=status, times=1),
    )
    client, sleep = _client(hub, tmp_path)
    commits = client.list_commits(V2, repo_type="dataset")
    assert len(commits) == len(V2_DATES)
    landed = client.file_at(
        V2, LEADERBOARD_FILE, repo_type="dataset", sha=commits[0].sha, max_bytes=CAP
    )
    recorded = store.repos[f"dataset/{V2}"].head.files[LEADERBOARD_FILE]
    assert (landed.size, landed.sha256) == (recorded.size, recorded.sha256)
    # The resolver's failure and then the CDN's are two attempts of one fetch.
    assert sleep.delays == [0.5, 1.0, 0.5, 1.0]
    assert hub.faults is not None and hub.faults.fired() == [2, 1, 1]


@pytest.mark.parametrize("action", ["reset", "truncate"])
@pytest.mark.parametrize("where", ["^/cdn-lfs/", "/resolve/"])
def test_broken_bodies_are_retried_and_never_landed(
    replay_hub_factory: Callable[..., ReplayHub],
    replay_hub: ReplayHub,
    tmp_path: Path,
    action: str,
    where: str,
) -> None:
    clean, _ = _client(replay_hub, tmp_path / "clean")
    hub = _faulty(replay_hub_factory, FaultRule(path=where, action=action, method="GET", times=2))
    client, _ = _client(hub, tmp_path / "faulty")
    if where == "/resolve/":  # README.md is served from /resolve/ itself, not the CDN
        sha = clean.model_info(DOLLY).revision
        got = client.card_at(DOLLY, sha=sha, max_bytes=1_000_000)
        want = clean.card_at(DOLLY, sha=sha, max_bytes=1_000_000)
    else:
        sha = clean.list_commits(V2, repo_type="dataset")[0].sha
        got = client.file_at(V2, LEADERBOARD_FILE, repo_type="dataset", sha=sha, max_bytes=CAP)
        want = clean.file_at(V2, LEADERBOARD_FILE, repo_type="dataset", sha=sha, max_bytes=CAP)
    assert got is not None and want is not None
    assert got.read_bytes() == want.read_bytes()
    assert got.sha256 == want.sha256
    assert hub.faults is not None and hub.faults.fired() == [2]


def test_persistent_failure_is_unavailable(
    replay_hub_factory: Callable[..., ReplayHub], tmp_path: Path
) -> None:
    hub = _faulty(
        replay_hub_factory, FaultRule(path="^/api/", action="status", status=503, times=None)
    )
    client, sleep = _client(hub, tmp_path)
    with pytest.raises(HubUnavailable, match="gave up after 4 attempts"):
        client.list_commits(V2, repo_type="dataset")
    assert len(sleep.delays) == FAST.max_attempts - 1


@pytest.mark.parametrize("status", [401, 403])
def test_gated_is_typed_and_not_retried(
    replay_hub_factory: Callable[..., ReplayHub], tmp_path: Path, status: int
) -> None:
    hub = _faulty(
        replay_hub_factory,
        FaultRule(path=f"^/api/models/{DOLLY}$", action="gated", status=status),
        FaultRule(path="/resolve/", action="gated", status=status),
    )
    client, sleep = _client(hub, tmp_path)
    with pytest.raises(Gated):
        client.model_info(DOLLY)
    with pytest.raises(Gated):
        client.card_at(DOLLY, sha="a" * 40, max_bytes=1_000_000)
    assert sleep.delays == []
    assert len(hub.requests) == 2


def test_token_stays_secret(
    replay_hub_factory: Callable[..., ReplayHub],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("HF_TOKEN", CANARY)
    hub = _faulty(
        replay_hub_factory,
        FaultRule(path="^/api/models/", action="status", status=503, times=1),
        FaultRule(path=f"^/api/models/{DOLLY}/revision/", action="gated", status=403),
        FaultRule(path="^/cdn-lfs/", action="reset", times=1),
    )
    client, _ = _client(hub, tmp_path)
    assert CANARY not in repr(client)
    errors: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        client.model_info(DOLLY)
        head = client.list_commits(V2, repo_type="dataset")[0].sha
        client.file_at(V2, LEADERBOARD_FILE, repo_type="dataset", sha=head, max_bytes=CAP)
        client.card_at(DOLLY, sha=client.model_info(DOLLY).revision, max_bytes=1_000_000)
        calls: list[Callable[[], object]] = [
            lambda: client.model_info(DOLLY, revision="0" * 40),
            lambda: client.model_info("nobody-here/no-such-model"),
            lambda: client.file_at(V2, "nope.txt", repo_type="dataset", sha=head, max_bytes=CAP),
        ]
        for call in calls:
            with pytest.raises(Exception) as caught:
                call()
            errors.append(caught.value)

    for error in errors:
        current: BaseException | None = error
        while current is not None:
            assert CANARY not in str(current) and CANARY not in repr(current)
            current = current.__cause__ or current.__context__
    assert CANARY not in caplog.text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path

    seen = hub.requests
    assert any(r.authorized for r in seen if r.listener == "hub")
    cdn = [r for r in seen if r.listener == "cdn"]
    assert cdn and not any(r.authorized for r in cdn)


def test_a_file_at_a_commit_costs_one_request(
    replay_hub: ReplayHub, store: RecordingStore, tmp_path: Path
) -> None:
    # The leaderboard's Parquet is an LFS file: one GET of its resolver URL,
    # whose 302 announces it, then the body from the CDN (another host, no
    # quota, not paced). Dolly's card is kept in git: the resolver serves it.
    pacer = Pacer("none")
    client = HubClient(endpoint=replay_hub.url, raw_store=RawStore(tmp_path), pacer=pacer)
    repo = store.repos[f"dataset/{V2}"]
    replay_hub.stats.reset()
    replay_hub.clear_requests()
    landed = client.file_at(
        V2, LEADERBOARD_FILE, repo_type="dataset", sha=repo.head.sha, max_bytes=CAP
    )
    counted = replay_hub.stats.snapshot()["requests"]
    assert (counted["resolvers"], counted["cdn"], counted["api"]) == (1, 1, 0)
    assert pacer.requests()["resolvers"] == 1
    assert [(r.listener, r.method) for r in replay_hub.requests] == [("hub", "GET"), ("cdn", "GET")]
    recorded = repo.head.files[LEADERBOARD_FILE]
    assert landed.read_bytes() == store.file_bytes(recorded)
    assert landed.sha256 == recorded.sha256 and landed.size == recorded.size
    dolly = store.repos[f"model/{DOLLY}"].head.sha
    client.file_at(DOLLY, "README.md", repo_type="model", sha=dolly, max_bytes=CAP)
    counted = replay_hub.stats.snapshot()["requests"]
    assert (counted["resolvers"], counted["cdn"]) == (2, 1)
    assert pacer.requests() == {"api": 0, "resolvers": 2, "pages": 0}


BAD_ANSWERS = {
    # The 302's announcement, wrong or missing: refused before the CDN is asked.
    "no X-Linked-Etag": (
        FaultRule(path="/resolve/", action="header", header="X-Linked-Etag", value=None),
        UnverifiedAnswer,
        "no X-Linked-Etag",
        (1, 0),
    ),
    "another commit": (
        FaultRule(path="/resolve/", action="header", header="X-Repo-Commit", value="0" * 40),
        UnverifiedAnswer,
        "answered for commit '0000000000",
        (1, 0),
    ),
    "a huge X-Linked-Size": (
        FaultRule(path="/resolve/", action="header", header="X-Linked-Size", value=str(10**15)),
        TooLarge,
        "1,000,000,000,000,000 bytes is over the cap",
        (1, 0),
    ),
    # A body that is not the one announced: retried, never landed.
    "a wrong X-Linked-Etag": (
        FaultRule(
            path="/resolve/", action="header", header="X-Linked-Etag", value="0" * 64, times=None
        ),
        HubUnavailable,
        r"sha256 \w+… differs from the ETag 000000000000… \(gave up after 4 attempts\)",
        (4, 4),
    ),
    "a short body": (
        FaultRule(path="^/cdn-lfs/", action="truncate", fraction=0.9, times=None),
        HubUnavailable,
        "gave up after 4 attempts",
        (4, 4),
    ),
    # The CDN's own answer over the cap: refused unread.
    "a huge Content-Length": (
        FaultRule(path="^/cdn-lfs/", action="header", header="Content-Length", value=str(10**15)),
        TooLarge,
        "1,000,000,000,000,000 bytes is over the cap",
        (1, 1),
    ),
}


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
def test_a_file_the_hub_did_not_announce_is_refused_by_name(
    replay_hub_factory: Callable[..., ReplayHub],
    store: RecordingStore,
    tmp_path: Path,
    case: str,
) -> None:
    rule, error, message, (hub_gets, cdn_gets) = BAD_ANSWERS[case]
    hub = _faulty(replay_hub_factory, rule)
    client, sleep = _client(hub, tmp_path)
    sha = store.repos[f"dataset/{V2}"].head.sha
    with pytest.raises(error, match=message):
        client.file_at(V2, LEADERBOARD_FILE, repo_type="dataset", sha=sha, max_bytes=CAP)
    seen = [r.listener for r in hub.requests]
    assert (seen.count("hub"), seen.count("cdn")) == (hub_gets, cdn_gets)
    assert len(sleep.delays) == hub_gets - 1  # retried only when the body was at fault
    assert client.raw_store.get(V2, LEADERBOARD_FILE, repo_type="dataset", revision=sha) is None
    assert not any((tmp_path / ".incoming").glob("*/*"))


def test_a_file_over_the_cap_costs_one_request_and_no_body(
    replay_hub: ReplayHub, store: RecordingStore, tmp_path: Path
) -> None:
    client, _ = _client(replay_hub, tmp_path)
    replay_hub.clear_requests()
    sha = store.repos[f"dataset/{V2}"].head.sha
    with pytest.raises(TooLarge, match="over the cap of 1,000"):
        client.file_at(V2, LEADERBOARD_FILE, repo_type="dataset", sha=sha, max_bytes=1_000)
    assert [r.listener for r in replay_hub.requests] == ["hub"]
