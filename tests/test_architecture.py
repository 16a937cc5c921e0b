"""The layout is the architecture: these checks keep it true.

Data flows Hub -> tables -> store -> pipeline, and imports follow the same
direction: a module may import its own layer or the ones below it, never one
above. The replay hub is a development tool: production code reaches it
through exactly one module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"llmsync": ROOT / "src" / "llmsync", "llmsync_flows": ROOT / "flows"}

# Lowest first. `replay` sits beside the pipeline: it may use the Hub layer's
# helpers (hashing, ids) but nothing that reads or writes our data.
LAYERS: dict[str, int] = {
    "llmsync": 0,  # the package's own __init__ (version only)
    "llmsync.hub": 1,
    "llmsync.tables": 2,
    "llmsync.store": 3,
    "llmsync.pipeline": 4,
    "llmsync.replay": 4,
    # The HTML report reads published snapshots: above the store, beside the pipeline.
    "llmsync.report": 4,
    # Copies published snapshots to remote targets: reads the store, beside the pipeline.
    "llmsync.publish": 4,
    # Exporters read published snapshots too (Every Eval Ever): beside the report.
    "llmsync.export": 4,
    "llmsync.endpoints": 5,
    # The command line's helpers (its messages, its summary, its Ctrl-C): below it.
    "llmsync.cli_checks": 5,
    "llmsync.cli_interrupt": 5,
    "llmsync.cli_summary": 5,
    "llmsync.cli_exit": 5,
    "llmsync_flows": 6,
    # The thin front over both the library and the Prefect flows.
    "llmsync.cli": 7,
    # The program: the command line, then the process's end.
    "llmsync.__main__": 8,
}
REPLAY_DOOR = "llmsync.endpoints"
MAX_LINES = 450


def _modules() -> Iterator[tuple[str, Path]]:
    for package, folder in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join((package, *parts)), path


def _imports(path: Path) -> set[str]:
    """Every `llmsync*` module a file imports, at any depth (lazy imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from llmsync.pipeline import stages` imports a module, not a name.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    known = {name for name, _ in _modules()}
    return {name for name in found if name in known}


GRAPH: dict[str, set[str]] = {name: _imports(path) for name, path in _modules()}


def _layer(module: str) -> tuple[str, int]:
    best = max((key for key in LAYERS if module == key or module.startswith(key + ".")), key=len)
    return best, LAYERS[best]


def test_every_module_has_a_layer() -> None:
    assert set(GRAPH) >= {
        "llmsync.hub.client",
        "llmsync.tables.schemas",
        "llmsync.store.snapshots",
        "llmsync.pipeline.run",
        "llmsync.replay.server",
        "llmsync_flows.sync",
    }
    for module in GRAPH:
        assert _layer(module)[0] in LAYERS


def test_no_module_imports_a_layer_above_it() -> None:
    upward = []
    for module, imported in GRAPH.items():
        name, rank = _layer(module)
        for target in imported:
            target_name, target_rank = _layer(target)
            if target_rank > rank or (target_rank == rank and target_name != name):
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_the_import_graph_has_no_cycles() -> None:
    # Package __init__ files re-export their modules; an edge into a package
    # counts as edges into what it re-exports, which the walk below follows.
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(GRAPH.get(node, ())):
            if target == node:
                continue
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_replay_has_exactly_one_importer_in_production_code() -> None:
    importers = {
        module
        for module, imported in GRAPH.items()
        if not module.startswith("llmsync.replay")
        and any(target.startswith("llmsync.replay") for target in imported)
    }
    assert importers == {REPLAY_DOOR}


def test_the_library_never_imports_prefect() -> None:
    offenders = []
    for module, path in _modules():
        if not module.startswith("llmsync."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{module}: {n}" for n in names if n.split(".")[0] == "prefect"]
    assert offenders == []


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_modules_stay_small(module: str) -> None:
    path = dict(_modules())[module]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    # The replay hub's HTTP handler serves one protocol; it may be longer.
    limit = 800 if module == "llmsync.replay.server" else MAX_LINES
    assert lines <= limit, f"{module} has {lines} lines"
