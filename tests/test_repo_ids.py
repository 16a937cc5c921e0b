"""Which model names are Hub repo ids: the vectorised check (RE2, over many names
at once) and the Python one read one rule and agree, hostile names included."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from llmsync.hub.ids import InvalidIdError, is_commit_sha, is_valid_repo_id, require_revision
from llmsync.tables.intervals import Export, empty_scores, extend
from llmsync.tables.leaderboards import parse_leaderboard
from llmsync.tables.repo_ids import is_namespaced_repo_id, namespaced_repo_ids

_PART_96 = "a" * 96
# Names as an export could hold them (generated, not recorded).
HOSTILE = [
    "tiiuae/falcon-40b-instruct",
    "llama-7b",  # no namespace: any of several repos
    "tiiuae/falcon-40b\n",  # Python's `$` matches before a trailing newline
    "tiiuae/falcon-40b\r",
    "\ntiiuae/falcon-40b",
    "tiiuae/falcon-40b\n\n",
    "tiiuae/falcon\n-40b",
    "tiiuae/falcon-40b ",
    " tiiuae/falcon-40b",
    "tiiuae/falcon 40b",
    "tiiuae/falcon-40b\x00",
    "../../etc/passwd",
    "/etc/passwd",
    "a/b/c",
    "a/",
    "/b",
    "/",
    "",
    "a--b/c",
    "a/b..c",
    "a/b.c",
    "a_b/c-d.e",
    "-a/b",
    "a/b-",
    ".a/b",
    "a/b.",
    "ä/b",
    "a/ｂ",  # a fullwidth letter
    "a/١",  # an Arabic-Indic digit
    f"{_PART_96}/{_PART_96}",
    f"{_PART_96}a/b",  # 97 characters
    f"a/{_PART_96}a",
    "x" * 100_000,
]


def test_the_vectorised_check_agrees_with_the_python_one() -> None:
    found = namespaced_repo_ids(pa.array(HOSTILE, pa.string())).to_pylist()
    expected = [name if is_namespaced_repo_id(name) else None for name in HOSTILE]
    assert found == expected
    assert [name for name in found if name is not None] == [
        "tiiuae/falcon-40b-instruct",
        "a/b.c",
        "a_b/c-d.e",
        f"{_PART_96}/{_PART_96}",
    ]


def test_a_trailing_newline_is_no_repo_id() -> None:
    assert is_valid_repo_id("tiiuae/falcon-40b")
    assert not is_valid_repo_id("tiiuae/falcon-40b\n")
    assert not is_valid_repo_id("falcon-40b\n")


def test_a_trailing_newline_is_no_revision() -> None:
    sha = "0cdda25945bfd8524bd90196e0216b7011f3d1ce"
    assert is_commit_sha(sha) and not is_commit_sha(sha + "\n")
    assert require_revision("main") == "main"
    for bad in ("main\n", sha + "\n", "\nmain"):
        with pytest.raises(InvalidIdError):
            require_revision(bad)


def test_the_parse_and_the_pass_name_the_same_repo_ids() -> None:
    # A v1 export of three rows (generated): the parse's rows and the intervals
    # the pass builds from its columns give each name the same repo id.
    names = ["tiiuae/falcon-40b", "tiiuae/falcon-40b\n", "llama-7b"]
    columns = ["Average ⬆️", "ARC", "HellaSwag", "MMLU", "TruthfulQA", "Winogrande", "GSM8K"]
    table = pa.table({"fullname": names, **{c: [50.0, 51.0, 52.0] for c in columns}})
    parsed = parse_leaderboard(table, leaderboard="open_llm_v1")
    rows = parsed.rows.filter(pa.compute.equal(parsed.rows.column("benchmark"), "average"))
    assert rows.column("repo_id").to_pylist() == ["tiiuae/falcon-40b", None, None]
    export = Export("open_llm_v1", "a" * 40, dt.date(2024, 1, 1), parsed.values)
    scores = extend(empty_scores(), [export])
    pairs = zip(scores["model_name"].to_pylist(), scores["repo_id"].to_pylist(), strict=True)
    assert set(pairs) == {
        ("tiiuae/falcon-40b", "tiiuae/falcon-40b"),
        ("tiiuae/falcon-40b\n", None),
        ("llama-7b", None),
    }
