"""The replay hub at the leaderboards' scale: `--population`, mutations, the Hub's
rate limits, Hub time, latency and the stats endpoint, through huggingface_hub."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError
from huggingface_hub.utils import parse_ratelimit_headers  # type: ignore[attr-defined]

from llmsync.cli import build_parser
from llmsync.hub.ids import is_valid_repo_id
from llmsync.replay.hubwide import NO_EXTRAS
from llmsync.replay.population_evalops import EVAL_OPS
from llmsync.replay.population_evals import DEFAULT_SHARE, NOTE, REJECTED
from llmsync.replay.recordings import RecordingStore
from llmsync.replay.server import ReplayHub
from llmsync.tables.cards import parse_card
from tests.conftest import LEADERBOARD_FILE, V1, V2

DOLLY = "databricks/dolly-v2-12b"
YI = "01-ai/Yi-1.5-34B"  # generated: a v2 final row, not recorded
NO_SHA = "TheBloke/LongChat-13B-GPTQ"  # only in the 2023-09-04 scrape, which has no shas
AUTHOR = "jaspionjader"
QWEN = "Qwen/Qwen3.5-9B"  # generated from its OpenEvals row, with generated eval results
GEMMA = "google/gemma-4-12B-it"  # recorded eval results (PRs 3-7)
PAGE = 50
MARKER = "llmsync_replay_generated"
EXPAND = ["sha", "lastModified", "cardData", "likes", "downloads"]


def _names(table: Any) -> list[Any]:
    column = next(c for c in ("fullname", "model_name", "Model") if c in table.column_names)
    return list(table.column(column).to_pylist())


@pytest.fixture(scope="module")
def store(recordings_dir: Path) -> RecordingStore:
    return RecordingStore.load(recordings_dir)


@pytest.fixture(scope="module")
def leaderboard_ids(hub: ReplayHub, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every namespaced repo id of every export, each export downloaded from
    the hub at its commit and read straight from the parquet."""
    api = HfApi(endpoint=hub.url, token=False)
    cache = tmp_path_factory.mktemp("exports")
    ids: set[str] = set()
    # The Open LLM Leaderboard's exports and OpenEvals/leaderboard-data's table.
    for dataset in (V1, V2, "OpenEvals/leaderboard-data"):
        for commit in api.list_repo_commits(dataset, repo_type="dataset"):
            path = hf_hub_download(
                dataset,
                LEADERBOARD_FILE,
                repo_type="dataset",
                revision=commit.commit_id,
                endpoint=hub.url,
                token=False,
                cache_dir=cache,
            )
            names = _names(pq.read_table(path))
            ids |= {n for n in names if isinstance(n, str) and "/" in n and is_valid_repo_id(n)}
    return ids


@pytest.fixture(scope="module")
def hub(replay_hub_factory: Callable[..., ReplayHub]) -> ReplayHub:
    # The leaderboards' population alone: the other repos and the churn listed
    # around it (test_replay_hubwide.py) would take ~1,400 pages of 50 here.
    hub = replay_hub_factory(population=True, page_size=PAGE, listing_sizes=NO_EXTRAS)
    assert hub.population is not None
    hub.population.wait()
    return hub


@pytest.fixture(scope="module")
def api(hub: ReplayHub) -> HfApi:
    return HfApi(endpoint=hub.url, token=False)


def _stats(hub: ReplayHub) -> dict[str, Any]:
    data: dict[str, Any] = httpx2.get(f"{hub.url}/_replay/stats").json()
    return data


# -- the population ----------------------------------------------------------------


def test_every_leaderboard_repo_is_served(
    hub: ReplayHub, api: HfApi, leaderboard_ids: set[str], store: RecordingStore
) -> None:
    recorded = {r.repo_id for r in store.repos.values() if r.repo_type == "model"}
    # With every served export (17 of v1, 2023-05-23 .. 2024-07-07; 190 of v2,
    # 2024-07-13 .. 2025-03-21; OpenEvals/leaderboard-data's one, 2026-03-25).
    assert len(leaderboard_ids) == 11_205
    # Ids are case-insensitive on the Hub: 16 names differ from another only
    # in case (`Quazim0t0/ODB-14B-sce`, `Quazim0t0/ODB-14b-sce`): one repo each.
    folded = {i.lower() for i in leaderboard_ids | recorded}
    assert len(leaderboard_ids | recorded) - len(folded) == 16
    listed = [m.id for m in api.list_models(expand=["sha"])]
    # The recorded tatsu-lab/alpaca-7b-wdiff is in no export: one repo more.
    assert len(listed) == len({i.lower() for i in listed}) == len(folded) == 11_195
    assert {i.lower() for i in listed} == folded
    assert recorded <= set(listed)
    summary = httpx2.get(f"{hub.url}/_replay/population").json()
    assert (summary["repos"], summary["recorded"], summary["generated"]) == (11_195, 26, 11_169)
    assert summary["generated_shas"] == 316
    assert summary["leaderboard_case_variants_folded"] == 16


def test_ids_are_case_insensitive(hub: ReplayHub, api: HfApi) -> None:
    """Any spelling of an id answers the one repo, with one sha, as on the Hub."""
    listed = {m.id.lower(): m for m in api.list_models(author="Quazim0t0", expand=["sha"])}
    canonical = listed["quazim0t0/odb-14b-sce"]
    for spelling in ("Quazim0t0/ODB-14B-sce", "Quazim0t0/ODB-14b-sce", "quazim0t0/odb-14b-sce"):
        info = api.model_info(spelling)
        assert (info.id, info.sha) == (canonical.id, canonical.sha)
    # The author filter is case-insensitive too.
    lower = {m.id for m in api.list_models(author="quazim0t0", expand=["sha"])}
    assert lower == {m.id for m in listed.values()}


def test_an_authors_listing_spans_pages(
    hub: ReplayHub, api: HfApi, leaderboard_ids: set[str]
) -> None:
    # The Hub matches `author` case-insensitively; so does the expectation.
    mine = {i for i in leaderboard_ids if i.split("/")[0].lower() == AUTHOR}
    assert len(mine) == 196
    before = _stats(hub)["kinds"].get("list", 0)
    models = list(api.list_models(author=AUTHOR, expand=EXPAND))
    pages = _stats(hub)["kinds"]["list"] - before
    assert pages == math.ceil(196 / PAGE) == 4
    assert len(models) == len({m.id for m in models}) == 196
    assert {m.id for m in models} == mine
    assert all(m.sha and len(m.sha) == 40 and m.last_modified for m in models)


def test_listing_sorted_by_last_modified_is_newest_first(api: HfApi) -> None:
    models = list(api.list_models(sort="last_modified", limit=3 * PAGE, expand=["lastModified"]))
    dates = [m.last_modified for m in models]
    assert len(dates) == 3 * PAGE and all(dates)
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    # Nothing in the data is newer than the newest model commit's day (the
    # deletion of Ternary-Bonsai's PR-28 result: recordings/PROVENANCE.md).
    assert dates[0] is not None and dates[0].date().isoformat() == "2026-07-19"


def test_listing_projects_like_the_hub(hub: ReplayHub) -> None:
    url = f"{hub.url}/api/models"
    plain = httpx2.get(url, params={"search": "Yi-1.5-34B", "author": "01-ai"}).json()
    (item,) = [i for i in plain if i["id"] == YI]
    assert set(item) == {"_id", "id", "likes", "private", "tags", "modelId", MARKER}
    expanded = httpx2.get(url, params={"author": "01-ai", "expand[]": ["sha", "cardData"]})
    (item,) = [i for i in expanded.json() if i["id"] == YI]
    assert set(item) == {"_id", "id", "sha", "cardData", MARKER}
    assert item["cardData"] == {"license": "apache-2.0"}
    full = httpx2.get(url, params={"author": "01-ai", "full": "true"}).json()
    (item,) = [i for i in full if i["id"] == YI]
    assert "cardData" not in item and item["siblings"] == [{"rfilename": "README.md"}]
    bad = httpx2.get(url, params={"expand": "nonsense"})
    assert bad.status_code == 400


def test_a_generated_repo_holds_its_rows_facts(hub: ReplayHub, api: HfApi, tmp_path: Path) -> None:
    # 01-ai/Yi-1.5-34B's row of the v2 final export (2025-03-21).
    info = api.model_info(YI)
    assert info.sha == "4b486f81c935a2dadde84c6baa1e1370d40a098f"
    assert info.card_data is not None and info.card_data.license == "apache-2.0"
    assert info.likes == 46
    assert info.last_modified is not None and info.last_modified.date().isoformat() == "2024-05-11"
    assert info.safetensors is not None and info.safetensors.total == 34_389_000_000
    raw = httpx2.get(f"{hub.url}/api/models/{YI}").json()
    assert raw[MARKER].startswith(
        f"built by the replay hub from {V2}@a3af2b91ae9bad9991d4fd0700e12589e365ccc8 "
        "(export of 2025-03-21"
    )
    assert raw[MARKER].endswith("not a Hub response")
    by_sha = api.model_info(YI, revision=info.sha)
    assert by_sha.sha == info.sha

    path = hf_hub_download(YI, "README.md", endpoint=hub.url, token=False, cache_dir=tmp_path)
    card = Path(path).read_bytes()
    text = card.decode()
    assert f"# {MARKER}: generated card, built by the replay hub from {V2}@" in text
    assert f"<!-- {MARKER}: built by the replay hub" in text
    assert "| #Params (B) | 34.389 |" in text
    parsed = parse_card(card)
    assert parsed.status == "ok" and parsed.front_matter == {"license": "apache-2.0"}
    # The same bytes on every run: the card is a function of the row.
    again = httpx2.get(f"{hub.url}/{YI}/resolve/main/README.md")
    assert again.content == card
    assert again.headers["X-Repo-Commit"] == info.sha
    assert api.list_repo_files(YI) == ["README.md"]
    (entry,) = api.get_paths_info(YI, ["README.md", "config.json"], expand=True)
    assert entry.size == len(card)
    assert entry.last_commit is not None and entry.last_commit.oid == info.sha


def test_a_row_without_a_sha_gets_a_labelled_one(api: HfApi, hub: ReplayHub) -> None:
    info = api.model_info(NO_SHA)
    assert info.sha is not None and len(info.sha) == 40
    raw = httpx2.get(f"{hub.url}/api/models/{NO_SHA}").json()
    assert raw[MARKER].endswith("sha generated: the row has no commit sha")
    # The newest export listing it is the 2023-09-15 scrape.
    assert f"{V1}@6af1176cfed8342de7b9847148decf5eb8c302bd (export of 2023-09-15" in raw[MARKER]
    assert raw["lastModified"] == "2023-09-15T00:00:00.000Z"
    assert "likes" not in raw and "cardData" not in raw  # the scrape has neither


def test_recorded_repos_stay_as_recorded(
    hub: ReplayHub, api: HfApi, store: RecordingStore, tmp_path: Path
) -> None:
    head = store.repos[f"model/{DOLLY}"].head
    assert head.api_info is not None
    body = httpx2.get(f"{hub.url}/api/models/{DOLLY}").content
    assert body == store.blob_bytes(head.api_info)
    assert MARKER.encode() not in body
    path = hf_hub_download(DOLLY, "README.md", endpoint=hub.url, token=False, cache_dir=tmp_path)
    assert Path(path).read_bytes() == head.files["README.md"].blob.read_bytes()
    assert api.model_info("bert-base-uncased").id == "google-bert/bert-base-uncased"


# -- mutations -------------------------------------------------------------------------


def _mutate(hub: ReplayHub, seed: int, ops: list[dict[str, Any]]) -> dict[str, Any]:
    response = httpx2.post(f"{hub.url}/_replay/population", json={"seed": seed, "ops": ops})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_mutations_show_in_the_next_sync(
    replay_hub_factory: Callable[..., ReplayHub], tmp_path: Path
) -> None:
    # No churn: the newest changes listed are the mutations' own.
    hub = replay_hub_factory(population=True, listing_sizes=NO_EXTRAS)
    assert hub.population is not None
    hub.population.wait()  # built (seconds on a busy machine), not within a GET's timeout
    api = HfApi(endpoint=hub.url, token=False)
    old_card = httpx2.get(f"{hub.url}/{YI}/resolve/main/README.md").content

    done = _mutate(hub, 7, [{"op": "new_sha", "count": 4}, {"op": "new_sha", "ids": [YI]}])
    moved = [c["id"] for c in done["changes"]]
    assert len(moved) == 5 and moved[-1] == YI
    newest = list(api.list_models(sort="last_modified", limit=5, expand=["sha", "lastModified"]))
    assert {m.id for m in newest} == set(moved)
    hub_day = done["hub_time"][:10]
    assert all(m.last_modified and m.last_modified.date().isoformat() == hub_day for m in newest)
    info = api.model_info(YI)
    assert info.sha == done["changes"][-1]["sha"] != "4b486f81c935a2dadde84c6baa1e1370d40a098f"
    new_card = httpx2.get(f"{hub.url}/{YI}/resolve/main/README.md").content
    assert new_card != old_card and b"Revision 2 of this card" in new_card
    # The old commit is still there, as on the Hub.
    old = httpx2.get(f"{hub.url}/{YI}/resolve/4b486f81c935a2dadde84c6baa1e1370d40a098f/README.md")
    assert old.content == old_card
    commits = api.list_repo_commits(YI)
    assert [c.commit_id for c in commits] == [info.sha, "4b486f81c935a2dadde84c6baa1e1370d40a098f"]

    counted = _mutate(hub, 8, [{"op": "counts", "ids": [YI], "likes": 1000, "downloads": 5}])
    assert counted["changes"] == [{"op": "counts", "id": YI, "likes": 1000, "downloads": 5}]
    after = api.model_info(YI)
    assert (after.sha, after.likes, after.downloads) == (info.sha, 1000, 5)

    renamed = _mutate(hub, 9, [{"op": "rename", "ids": [YI], "to": ["01-ai/Yi-1.5-34B-moved"]}])
    assert renamed["changes"] == [{"op": "rename", "id": "01-ai/Yi-1.5-34B-moved", "old_id": YI}]
    redirect = httpx2.get(f"{hub.url}/api/models/{YI}")
    assert redirect.status_code == 307
    assert redirect.headers["Location"] == "/api/models/01-ai/Yi-1.5-34B-moved"
    assert httpx2.head(f"{hub.url}/{YI}/resolve/main/README.md").status_code == 307
    assert api.model_info(YI).id == "01-ai/Yi-1.5-34B-moved"
    listed = {m.id for m in api.list_models(author="01-ai")}
    assert "01-ai/Yi-1.5-34B-moved" in listed and YI not in listed

    gone = _mutate(hub, 10, [{"op": "delete", "ids": ["01-ai/Yi-1.5-34B-moved"]}])
    assert gone["changes"] == [{"op": "delete", "id": "01-ai/Yi-1.5-34B-moved"}]
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("01-ai/Yi-1.5-34B-moved")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(YI)  # its old name goes with it
    denied = httpx2.get(
        f"{hub.url}/api/models/01-ai/Yi-1.5-34B-moved", headers={"Authorization": "Bearer x"}
    )
    assert denied.status_code == 404
    assert "01-ai/Yi-1.5-34B-moved" not in {m.id for m in api.list_models(author="01-ai")}

    gated = _mutate(hub, 11, [{"op": "gate", "ids": [NO_SHA]}])
    assert gated["changes"] == [{"op": "gate", "id": NO_SHA}]
    assert api.model_info(NO_SHA).gated == "manual"
    with pytest.raises(GatedRepoError):
        hf_hub_download(NO_SHA, "README.md", endpoint=hub.url, token=False, cache_dir=tmp_path)
    refused = httpx2.get(
        f"{hub.url}/{NO_SHA}/resolve/main/README.md", headers={"Authorization": "Bearer x"}
    )
    assert refused.status_code == 403 and refused.headers["X-Error-Code"] == "GatedRepo"
    summary = httpx2.get(f"{hub.url}/_replay/population").json()
    assert (summary["version"], summary["repos"], summary["new_commits"]) == (5, 11_194, 4)
    assert (summary["renamed"], summary["deleted"], summary["gated"]) == (0, 2, 1)


def test_mutations_are_deterministic(replay_hub_factory: Callable[..., ReplayHub]) -> None:
    ops = [
        {"op": "new_sha", "count": 20},
        {"op": "counts", "count": 10},
        {"op": "rename", "count": 3},
        {"op": "delete", "count": 2},
        {"op": "gate", "count": 2},
    ]
    results = []
    for _ in range(2):
        hub = replay_hub_factory(population=True)
        assert hub.population is not None
        first = hub.population.mutate(ops, seed=42)
        second = hub.population.mutate(ops[:1], seed=42)
        strip = [
            [{k: v for k, v in c.items() if k != "lastModified"} for c in r["changes"]]
            for r in (first, second)
        ]
        results.append(strip)
    assert results[0] == results[1]
    changes = results[0][0]
    assert [c["op"] for c in changes].count("new_sha") == 20
    assert len({c["id"] for c in results[0][1]} & {c["id"] for c in changes[:20]}) < 20


def test_bad_mutations_change_nothing(hub: ReplayHub) -> None:
    url = f"{hub.url}/_replay/population"
    before = httpx2.get(url).json()["version"]
    for body in (
        {"seed": 1, "ops": [{"op": "explode", "count": 1}]},
        {"seed": 1, "ops": [{"op": "new_sha", "count": 1}, {"op": "delete", "ids": ["no/such"]}]},
        {"seed": 1, "ops": [{"op": "rename", "ids": [DOLLY]}]},
        {"seed": "x", "ops": []},
    ):
        response = httpx2.post(url, json=body)
        assert response.status_code == 400, body
    assert httpx2.get(url).json()["version"] == before


def _evals(hub: ReplayHub, repo_id: str) -> dict[str, Any]:
    query = [("expand[]", "sha"), ("expand[]", "lastModified"), ("expand[]", "evalResults")]
    body: dict[str, Any] = httpx2.get(f"{hub.url}/api/models/{repo_id}", params=query).json()
    return body


def _board(hub: ReplayHub, dataset_id: str) -> dict[str, Any]:
    url = f"{hub.url}/api/datasets/{dataset_id}/leaderboard"
    return {row["modelId"]: row for row in httpx2.get(url).json()}


def test_generated_eval_results_are_labelled_and_on_the_leaderboards(hub: ReplayHub) -> None:
    summary = httpx2.get(f"{hub.url}/_replay/population").json()["eval_results"]
    # 3% of the generated repos by default (a chosen density, POPULATION.md).
    assert summary == {"share": 0.03, "repos": 343, "results": 773}
    body = _evals(hub, QWEN)
    (item,) = body["evalResults"]
    assert item["filename"] == ".eval_results/mmlu_pro.yaml" and item["verified"] is False
    assert item["data"]["dataset"] == {"id": "TIGER-Lab/MMLU-Pro", "task_id": "mmlu_pro"}
    assert item["data"]["value"] == 28.1
    assert item["data"]["source"]["name"] == "generated by the llmsync replay hub"
    assert "eval results generated by the replay hub" in body[MARKER]
    assert MARKER in item
    row = _board(hub, "TIGER-Lab/MMLU-Pro")[QWEN]
    assert (row["value"], row["filename"], MARKER in row) == (28.1, item["filename"], True)
    # A recorded repo's results stay as recorded, on the same leaderboard.
    assert _board(hub, "TIGER-Lab/MMLU-Pro")[GEMMA]["pullRequest"] == 4


def test_the_eval_share_is_an_option() -> None:
    args = build_parser().parse_args(["replay-hub", "--population"])
    assert args.eval_results_share == DEFAULT_SHARE == 0.03
    asked = build_parser().parse_args(["replay-hub", "--eval-results-share", "0.5"])
    assert asked.eval_results_share == 0.5
    with pytest.raises(SystemExit):
        build_parser().parse_args(["replay-hub", "--eval-results-share", "2"])


def test_eval_mutations_change_what_a_sync_reads(hub: ReplayHub) -> None:
    ops = [{"op": name, "count": 1} for name in EVAL_OPS]
    before = {}
    assert hub.population is not None
    for repo_id in hub.population.generated:
        before[repo_id] = hub.population.generated[repo_id].head.sha
    changes = _mutate(hub, 21, ops)["changes"]
    assert [c["op"] for c in changes] == list(EVAL_OPS)
    assert len({c["id"] for c in changes}) == len(EVAL_OPS)  # one op a repo
    for change in changes:
        body = _evals(hub, change["id"])
        # A pull request opened or closed moves lastModified only; the rest are commits.
        moved_sha = change["op"] not in ("open_pr", "close_pr")
        assert (body["sha"] != before[change["id"]]) == moved_sha
        assert body["sha"] == change["sha"] and body["lastModified"] == change["lastModified"]
        assert body["lastModified"][:10] == changes[0]["lastModified"][:10]
        items = [i for i in body["evalResults"] if i["filename"] == change["filename"]]
        on_main = [i for i in items if "pullRequest" not in i]
        in_pr = [i for i in items if i.get("pullRequest") == change["pull_request"]]
        dataset_id, task_id = change["results"][0]
        board = _board(hub, dataset_id)
        op = change["op"]
        if op in ("add_result", "merge_pr", "change_value", "flip_verified"):
            (kept,) = on_main
            assert kept["data"]["dataset"] == {"id": dataset_id, "task_id": task_id}
            assert board[change["id"]]["value"] == kept["data"]["value"]
            assert board[change["id"]]["verified"] == kept["verified"]
        if op == "open_pr":
            assert in_pr and board[change["id"]]["pullRequest"] == change["pull_request"]
        if op in ("close_pr", "delete_file"):
            assert not (on_main if op == "delete_file" else in_pr)
            assert change["id"] not in board
        if op == "reject_file":
            assert on_main == [{"filename": change["filename"], "error": REJECTED, MARKER: NOTE}]
            assert change["id"] not in board
    # A commit that only changes eval results keeps the card.
    merged = next(c for c in changes if c["op"] == "merge_pr")
    commits = HfApi(endpoint=hub.url, token=False).list_repo_commits(merged["id"])
    assert commits[0].title == f"Merge pr: {merged['filename']}"
    cards = [
        httpx2.get(f"{hub.url}/{merged['id']}/resolve/{c.commit_id}/README.md").content
        for c in commits[:2]
    ]
    assert cards[0] == cards[1]
    # An op the repo's results do not allow changes nothing.
    response = httpx2.post(
        f"{hub.url}/_replay/population",
        json={"seed": 1, "ops": [{"op": "close_pr", "ids": [merged["id"]]}]},
    )
    assert response.status_code == 400 and "do not allow it" in response.text


# -- rate limits, Hub time, latency, stats ---------------------------------------------


def _burst(url: str, n: int, headers: dict[str, str] | None = None) -> list[httpx2.Response]:
    with httpx2.Client(headers=headers) as client:
        return [client.get(url) for _ in range(n)]


def test_the_501st_anonymous_api_request_gets_429(
    replay_hub_factory: Callable[..., ReplayHub],
) -> None:
    hub = replay_hub_factory(rate_limits="free")
    url = f"{hub.url}/api/models/{DOLLY}"
    responses = _burst(url, 501)
    assert [r.status_code for r in responses[:500]] == [200] * 500
    first = parse_ratelimit_headers(responses[0].headers)
    assert first is not None
    assert (first.resource_type, first.remaining, first.limit, first.window_seconds) == (
        "api",
        499,
        500,
        300,
    )
    last = responses[-1]
    assert last.status_code == 429
    info = parse_ratelimit_headers(last.headers)
    assert info is not None and (info.remaining, info.limit) == (0, 500)
    assert 290 <= info.reset_in_seconds <= 300
    assert last.headers["Retry-After"] == str(info.reset_in_seconds)
    assert last.headers["RateLimit-Policy"] == '"fixed window";"api";q=500;w=300'
    # Another bucket has its own quota.
    resolve = httpx2.get(f"{hub.url}/{DOLLY}/resolve/main/README.md")
    assert resolve.status_code == 200
    assert resolve.headers["RateLimit"].startswith('"resolvers";r=2999;t=')
    # A token gets the free tier, counted on its own.
    token = {"Authorization": "Bearer hf_replay_test"}
    with_token = _burst(url, 1001, token)
    assert [r.status_code for r in with_token[:1000]] == [200] * 1000
    assert with_token[0].headers["RateLimit-Policy"] == '"fixed window";"api";q=1000;w=300'
    assert with_token[-1].status_code == 429
    # The admin endpoints are not limited, and they count what happened.
    stats = httpx2.get(f"{hub.url}/_replay/stats").json()
    assert stats["requests"]["api"] == 501 + 1001
    assert stats["rate_limited"] == {"api": 2, "resolvers": 0, "pages": 0, "cdn": 0}
    assert stats["statuses"] == {"200": 1501, "429": 2}
    assert stats["kinds"] == {"info": 1502, "resolve": 1}


def test_pro_tokens_and_anonymous_mode(replay_hub_factory: Callable[..., ReplayHub]) -> None:
    token = {"Authorization": "Bearer hf_replay_test"}
    pro = replay_hub_factory(rate_limits="pro")
    response = httpx2.get(f"{pro.url}/api/models/{DOLLY}", headers=token)
    assert response.headers["RateLimit"].startswith('"api";r=2499;')
    resolve = httpx2.get(f"{pro.url}/{DOLLY}/resolve/main/README.md", headers=token)
    assert resolve.headers["RateLimit-Policy"] == '"fixed window";"resolvers";q=12000;w=300'
    anonymous = replay_hub_factory(rate_limits="anonymous")
    response = httpx2.get(f"{anonymous.url}/api/models/{DOLLY}", headers=token)
    assert response.headers["RateLimit"].startswith('"api";r=499;')
    plain = replay_hub_factory()
    assert "RateLimit" not in httpx2.get(f"{plain.url}/api/models/{DOLLY}").headers


def test_time_scale_makes_a_window_pass_quickly(
    replay_hub_factory: Callable[..., ReplayHub],
) -> None:
    # 50 Hub seconds per wall second: a 300 s window lasts 6 wall seconds, long
    # enough for the 501 requests of the burst on a loaded machine (3 s was not).
    hub = replay_hub_factory(population=True, rate_limits="anonymous", time_scale=50)
    url = f"{hub.url}/api/models/{DOLLY}"
    responses = _burst(url, 501)
    assert responses[0].headers["RateLimit-Policy"] == '"fixed window";"api";q=500;w=6'
    limited = responses[-1]
    assert limited.status_code == 429
    wait = int(limited.headers["Retry-After"])
    assert 1 <= wait <= 6
    # huggingface_hub's listing obeys the headers (it sleeps `t` + 1 s), then succeeds.
    models = list(HfApi(endpoint=hub.url, token=False).list_models(author="databricks"))
    assert DOLLY in {m.id for m in models}
    after = httpx2.get(url)
    assert after.status_code == 200 and after.headers["RateLimit"].startswith('"api";r=498;')
    clock = httpx2.get(f"{hub.url}/_replay/clock").json()
    assert clock["time_scale"] == 50 and clock["hub_seconds_since_start"] >= 300
    stats = httpx2.get(f"{hub.url}/_replay/stats").json()
    assert stats["rate_limited"]["api"] == 2  # the burst's last, and the listing's first try


def test_latency_leaves_answers_as_they_are(
    replay_hub_factory: Callable[..., ReplayHub],
) -> None:
    # What the latency costs is measured in bench/bench_replay_population.py.
    hub = replay_hub_factory(latency_ms=20)
    url = f"{hub.url}/api/models/{DOLLY}"
    with ThreadPoolExecutor(max_workers=6) as pool:
        bodies = list(pool.map(lambda _: httpx2.get(url).content, range(6)))
    plain = replay_hub_factory()
    assert bodies == [httpx2.get(f"{plain.url}/api/models/{DOLLY}").content] * 6
    stats = httpx2.get(f"{hub.url}/_replay/stats").json()
    assert (stats["latency_ms"], stats["requests"]["api"]) == (20, 6)


def test_stats_reset(hub: ReplayHub) -> None:
    httpx2.get(f"{hub.url}/api/models/{DOLLY}")
    httpx2.get(f"{hub.url}/favicon.ico")
    stats = httpx2.post(f"{hub.url}/_replay/stats/reset").json()
    assert stats["requests_total"] == 0 and stats["kinds"] == {}
    httpx2.get(f"{hub.url}/api/models/{DOLLY}")
    httpx2.get(f"{hub.url}/favicon.ico")
    stats = httpx2.get(f"{hub.url}/_replay/stats", params={"reset": "1"}).json()
    assert stats["requests"] == {"api": 1, "resolvers": 0, "pages": 1, "cdn": 0}
    assert stats["kinds"] == {"info": 1, "other": 1}
    assert stats["statuses"] == {"200": 1, "404": 1}
    assert httpx2.get(f"{hub.url}/_replay/stats").json()["requests_total"] == 0


def test_the_default_hub_is_unchanged(replay_hub: ReplayHub) -> None:
    assert replay_hub.population is None and replay_hub.limiter is None
    assert httpx2.get(f"{replay_hub.url}/api/models").status_code == 404
    response = httpx2.get(f"{replay_hub.url}/api/models/{YI}")
    assert response.status_code == 401 and response.headers["X-Error-Code"] == "RepoNotFound"
    assert "RateLimit" not in response.headers
    assert httpx2.get(f"{replay_hub.url}/_replay/population").status_code == 404
    body = json.loads(httpx2.get(f"{replay_hub.url}/_replay/stats").content)
    assert body["population"] is None and body["rate_limits"] == "none"
