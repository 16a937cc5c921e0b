"""huggingface_hub against the replay hub behaves as against huggingface.co."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import GitCommitInfo, RepoFile

from llmsync.replay.faults import FaultPlan
from llmsync.replay.recordings import RecordingStore
from llmsync.replay.server import ReplayHub, cdn_etag, parse_route
from tests.conftest import LEADERBOARD_FILE, V1, V1_DATES, V2, V2_DATES

DOLLY = "databricks/dolly-v2-12b"
ALPACA = "chavinlo/alpaca-native"
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def store(recordings_dir: Path) -> RecordingStore:
    return RecordingStore.load(recordings_dir)


@pytest.fixture(scope="module")
def api(replay_hub: ReplayHub) -> HfApi:
    return HfApi(endpoint=replay_hub.url, token=False)


def _dates(commits: list[GitCommitInfo]) -> list[str]:
    return [c.created_at.date().isoformat() for c in commits]


def test_commits_of_both_leaderboards(api: HfApi) -> None:
    v2 = api.list_repo_commits(V2, repo_type="dataset")
    assert _dates(v2) == list(reversed(V2_DATES))
    v1 = api.list_repo_commits(V1, repo_type="dataset")
    assert _dates(v1) == list(reversed(V1_DATES))
    # At an older commit, the history stops there.
    older = api.list_repo_commits(V2, repo_type="dataset", revision=v2[1].commit_id)
    assert [c.commit_id for c in older] == [c.commit_id for c in v2[1:]]


def test_download_each_commit_matches_the_blob(
    api: HfApi, replay_hub: ReplayHub, store: RecordingStore, tmp_path: Path
) -> None:
    repo = store.repos[f"dataset/{V2}"]
    for commit in api.list_repo_commits(V2, repo_type="dataset"):
        path = hf_hub_download(
            V2,
            LEADERBOARD_FILE,
            repo_type="dataset",
            revision=commit.commit_id,
            endpoint=replay_hub.url,
            cache_dir=tmp_path,
            token=False,
        )
        data = Path(path).read_bytes()
        recorded = repo.resolve(commit.commit_id)
        assert recorded is not None
        assert data[:4] == b"PAR1"
        assert hashlib.sha256(data).hexdigest() == recorded.files[LEADERBOARD_FILE].sha256


def test_dataset_info_and_files(api: HfApi, store: RecordingStore) -> None:
    head = store.repos[f"dataset/{V2}"].head
    info = api.dataset_info(V2)
    assert info.id == V2
    assert info.sha == head.sha
    assert info.last_modified is not None and info.last_modified.date().isoformat() == V2_DATES[-1]
    assert {s.rfilename for s in info.siblings or []} == set(head.files)
    assert sorted(api.list_repo_files(V2, repo_type="dataset")) == sorted(head.files)

    top = list(api.list_repo_tree(V2, repo_type="dataset"))
    assert "data" in {entry.path for entry in top}
    in_data = list(api.list_repo_tree(V2, repo_type="dataset", path_in_repo="data", expand=True))
    parquet = next(entry for entry in in_data if entry.path == LEADERBOARD_FILE)
    assert isinstance(parquet, RepoFile)
    entry = head.files[LEADERBOARD_FILE]
    assert parquet.size == entry.size
    assert parquet.lfs is not None and parquet.lfs.sha256 == entry.sha256
    # Every export rewrote the table: its last commit is the newest one.
    assert parquet.last_commit is not None
    assert (parquet.last_commit.oid, parquet.last_commit.title) == (head.sha, head.title)
    everything = {e.path for e in api.list_repo_tree(V2, repo_type="dataset", recursive=True)}
    assert set(head.files) <= everything and "data" in everything


def test_model_info_is_the_recorded_body(
    api: HfApi, replay_hub: ReplayHub, store: RecordingStore
) -> None:
    head = store.repos[f"model/{DOLLY}"].head
    assert head.api_info is not None
    body = httpx2.get(f"{replay_hub.url}/api/models/{DOLLY}").content
    assert body == store.blob_bytes(head.api_info)
    info = api.model_info(DOLLY)
    assert info.id == DOLLY
    assert info.sha == json.loads(body)["sha"]
    # The Hub's own sha in the body works as a revision too.
    assert api.model_info(DOLLY, revision=info.sha).id == DOLLY


def test_dolly_card_through_model_card_load(replay_hub: ReplayHub, tmp_path: Path) -> None:
    # HF_ENDPOINT is read when huggingface_hub is imported: a fresh interpreter.
    code = (
        "from huggingface_hub import ModelCard\n"
        f"card = ModelCard.load({DOLLY!r})\n"
        "print(card.data.license)\n"
    )
    env = {
        **os.environ,
        "HF_ENDPOINT": replay_hub.url,
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    env.pop("HF_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "mit"


def test_errors_are_the_hubs(api: HfApi, replay_hub: ReplayHub, tmp_path: Path) -> None:
    def download(
        repo_id: str, filename: str, *, repo_type: str = "model", revision: str = "main"
    ) -> None:
        hf_hub_download(
            repo_id,
            filename,
            repo_type=repo_type,
            revision=revision,
            endpoint=replay_hub.url,
            cache_dir=tmp_path,
            token=False,
        )

    with pytest.raises(RepositoryNotFoundError):
        api.model_info("nobody-here/no-such-model")
    with pytest.raises(RepositoryNotFoundError):
        download("nobody-here/no-such-model", "README.md")
    # No card of the repo was recorded: a gap in the recordings, not a missing
    # file (huggingface_hub, not knowing the code, looks in its cache and says so).
    with pytest.raises(LocalEntryNotFoundError) as gap:
        download(ALPACA, "README.md")
    cause = gap.value.__cause__
    assert isinstance(cause, HfHubHTTPError) and not isinstance(cause, EntryNotFoundError)
    assert cause.response is not None and cause.response.status_code == 404
    assert cause.response.headers["X-Error-Code"] == "NotRecorded"
    with pytest.raises(EntryNotFoundError):
        download(V2, "data/nope.parquet", repo_type="dataset")
    with pytest.raises(RevisionNotFoundError):
        download(DOLLY, "README.md", revision="0" * 40)
    with pytest.raises(RevisionNotFoundError):
        api.model_info(DOLLY, revision="0" * 40)
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_commits(V2, repo_type="dataset", revision="no-such-branch")
    response = httpx2.head(f"{replay_hub.url}/{DOLLY}/resolve/main/nope.md")
    assert response.status_code == 404
    assert response.headers["X-Error-Code"] == "EntryNotFound"
    assert response.headers["X-Repo-Commit"]


def test_as_of_serves_the_past(
    replay_hub_factory: Callable[..., ReplayHub], store: RecordingStore
) -> None:
    hub = replay_hub_factory(as_of=dt.date(2024, 11, 10))
    api = HfApi(endpoint=hub.url, token=False)
    # The newest export on or before the day: 2024-11-09 (none was taken on the 10th).
    past = _dates(api.list_repo_commits(V2, repo_type="dataset"))
    assert (len(past), past[0], past[-1]) == (78, "2024-11-09", "2024-07-13")
    assert api.dataset_info(V2).sha == store.repos[f"dataset/{V2}"].commits[77].sha
    assert _dates(api.list_repo_commits(V1, repo_type="dataset"))[0] == "2024-07-07"
    v1 = HfApi(endpoint=replay_hub_factory(as_of=dt.date(2024, 7, 6)).url, token=False)
    assert _dates(v1.list_repo_commits(V1, repo_type="dataset"))[:2] == ["2024-06-19", "2023-09-15"]
    with pytest.raises(RepositoryNotFoundError):
        v1.dataset_info(V2)  # v2's first export is of 2024-07-13
    # A commit from after the date does not exist yet.
    newest = store.repos[f"dataset/{V2}"].head.sha
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info(V2, revision=newest)

    # v2 began on 2024-07-13: the day before, it does not exist.
    before = HfApi(endpoint=replay_hub_factory(as_of=dt.date(2024, 7, 12)).url, token=False)
    with pytest.raises(RepositoryNotFoundError):
        before.dataset_info(V2)
    # Before the first recording there is nothing to serve, and the hub says so.
    with pytest.raises(ValueError, match="no recordings before 2023-05-23"):
        replay_hub_factory(as_of=dt.date(2023, 1, 1))


def test_renamed_repo_redirects(api: HfApi, replay_hub: ReplayHub) -> None:
    info = api.model_info("bert-base-uncased")
    assert info.id == "google-bert/bert-base-uncased"
    response = httpx2.get(f"{replay_hub.url}/api/models/bert-base-uncased")
    assert response.status_code == 307
    assert response.headers["Location"] == "/api/models/google-bert/bert-base-uncased"


def test_range_requests(replay_hub: ReplayHub, store: RecordingStore) -> None:
    entry = store.repos[f"model/{DOLLY}"].head.files["README.md"]
    data = store.file_bytes(entry)
    url = f"{replay_hub.url}/{DOLLY}/resolve/main/README.md"
    whole = httpx2.get(url)
    assert whole.content == data
    assert whole.headers["ETag"] == f'"{entry.oid}"'
    part = httpx2.get(url, headers={"Range": "bytes=4-9"})
    assert part.status_code == 206
    assert part.content == data[4:10]
    assert part.headers["Content-Range"] == f"bytes 4-9/{len(data)}"
    tail = httpx2.get(url, headers={"Range": "bytes=-5"})
    assert tail.content == data[-5:]
    assert httpx2.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416


def test_built_exports_are_the_same_bytes_every_time(
    replay_hub: ReplayHub, store: RecordingStore
) -> None:
    # A leaderboard export is built from the row store on first request: every
    # request gets the bytes whose sha256 and size were announced.
    entry = store.repos[f"dataset/{V1}"].head.files[LEADERBOARD_FILE]
    url = f"{replay_hub.url}/datasets/{V1}/resolve/main/{LEADERBOARD_FILE}"
    head = httpx2.head(url)
    assert head.headers["X-Linked-Etag"] == f'"{entry.sha256}"'
    assert int(head.headers["X-Linked-Size"]) == entry.size
    first = httpx2.get(url, follow_redirects=True)
    second = httpx2.get(url, follow_redirects=True)
    assert first.content == second.content
    assert hashlib.sha256(first.content).hexdigest() == entry.sha256
    # The CDN's ETag is its own, as the Hub's storage answers: the file's
    # sha256 is announced by the Hub's 302 alone.
    assert first.headers["ETag"] == f'"{cdn_etag(entry.sha256)}"' != f'"{entry.sha256}"'
    assert int(first.headers["Content-Length"]) == entry.size == len(first.content)
    part = httpx2.get(head.headers["Location"], headers={"Range": "bytes=-8"})
    assert part.status_code == 206 and part.content == first.content[-8:]
    assert part.headers["Content-Range"] == f"bytes {entry.size - 8}-{entry.size - 1}/{entry.size}"


def test_partial_captures_are_served_only_when_asked(
    replay_hub_factory: Callable[..., ReplayHub], store: RecordingStore, tmp_path: Path
) -> None:
    october = dt.date(2023, 10, 20)
    plain = HfApi(endpoint=replay_hub_factory(as_of=october).url, token=False)
    assert _dates(plain.list_repo_commits(V1, repo_type="dataset"))[0] == "2023-09-15"
    (capture, *_) = store.partial_captures[f"dataset/{V1}"]
    with pytest.raises(RevisionNotFoundError):
        plain.dataset_info(V1, revision=capture.sha)

    asked = [
        replay_hub_factory(as_of=october, serve_partial_captures=True),
        replay_hub_factory(as_of=october, faults=FaultPlan([], partial_captures=True)),
    ]
    for hub in asked:
        api = HfApi(endpoint=hub.url, token=False)
        dates = _dates(api.list_repo_commits(V1, repo_type="dataset"))
        assert dates[:3] == ["2023-10-13", "2023-10-04", "2023-09-15"]
        path = hf_hub_download(
            V1, LEADERBOARD_FILE, repo_type="dataset", endpoint=hub.url, cache_dir=tmp_path
        )
        assert pq.read_metadata(path).num_rows == 77  # the bad day: 77 of ~1,240 rows
    everything = HfApi(endpoint=replay_hub_factory(serve_partial_captures=True).url, token=False)
    assert len(everything.list_repo_commits(V1, repo_type="dataset")) == len(V1_DATES) + 3


def test_lfs_files_redirect_to_another_origin(replay_hub: ReplayHub, store: RecordingStore) -> None:
    url = f"{replay_hub.url}/datasets/{V2}/resolve/main/{LEADERBOARD_FILE}"
    head = httpx2.head(url)
    assert head.status_code == 302
    assert head.headers["Location"].startswith(replay_hub.cdn_url)
    recorded = store.repos[f"dataset/{V2}"].head.files[LEADERBOARD_FILE]
    assert int(head.headers["X-Linked-Size"]) == recorded.size
    assert head.headers["X-Linked-Etag"].strip('"') in head.headers["Location"]
    assert head.headers["X-Repo-Commit"] == store.repos[f"dataset/{V2}"].head.sha
    assert "ETag" not in head.headers  # the Hub sends X-Linked-Etag, never both


def test_many_clients_at_once(replay_hub: ReplayHub) -> None:
    url = f"{replay_hub.url}/{DOLLY}/resolve/main/README.md"

    def fetch(_: int) -> int:
        with httpx2.Client() as client:
            return sum(client.get(url).status_code == 200 for _ in range(20))

    with ThreadPoolExecutor(max_workers=32) as pool:
        assert sum(pool.map(fetch, range(32))) == 32 * 20


def test_route_parsing() -> None:
    assert parse_route("/api/models/gpt2/revision/main").repo_id == "gpt2"
    route = parse_route("/api/datasets/a/b/tree/main/data%2Fx")
    assert (route.repo_type, route.repo_id, route.tail) == (
        "dataset",
        "a/b",
        ("tree", "main", "data/x"),
    )
    route = parse_route("/datasets/a/b/resolve/main/data/x.parquet")
    assert (route.kind, route.repo_id, route.tail[2:]) == ("resolve", "a/b", ("data", "x.parquet"))
    assert parse_route("/gpt2/resolve/main/config.json").repo_id == "gpt2"
    assert parse_route("/favicon.ico").kind == "other"


def test_hub_script_check(recordings_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(HERE / "hub_script_check.py"), "--recordings", str(recordings_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout


def test_a_date_before_the_recordings_is_refused_with_the_first_date(
    recordings_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from llmsync.cli import main

    assert min(V1_DATES) == "2023-05-23"
    with pytest.raises(ValueError, match=r"no recordings before 2023-05-23 "):
        ReplayHub(as_of=dt.date(2020, 1, 1), recordings=recordings_dir)
    command = ["sync", "--no-prefect", "--hub", "replay", "--as-of", "2020-01-01"]
    assert main([*command, "--data-dir", str(tmp_path)]) == 2
    # After the line that says where the sync was going.
    assert capsys.readouterr().err.splitlines()[-1] == (
        "llmsync: no recordings before 2023-05-23 (the first leaderboard export): "
        "--as-of 2020-01-01 is earlier"
    )
