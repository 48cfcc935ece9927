"""The package's layers import only downward, and no module imports itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "subgen"
LAYERS = {
    "core": 0,
    "audio": 1,
    "subtitles": 1,
    "sources": 2,
    "asr": 2,
    "video": 2,
    "evaluate": 2,
    "pipeline": 3,
    "api": 4,
    "service": 5,
    "distributed": 5,
    "cli": 6,
}
"""Rank of each top-level part of ``subgen``: a module may import its own part or any part of lower rank."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part(module: str) -> str:
    """The top-level part of ``subgen`` a module belongs to (the package itself is the API)."""
    pieces = module.split(".")
    if len(pieces) == 1:
        return "api"
    return "cli" if pieces[1] == "__main__" else pieces[1]


def imports(path: Path) -> set[str]:
    """Every ``subgen`` module ``path`` imports, at the top or inside functions (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "subgen":
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if _is_module(f"{node.module}.{a.name}"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "subgen")
    return found


def _is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {i for i in imports(path) if i in modules and i != name} for name, path in modules.items()}


def upward(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs where a module imports another part of the package at or above its own layer."""
    return sorted(
        (source, target)
        for source, targets in edges.items()
        for target in targets
        if part(target) != part(source) and LAYERS[part(target)] >= LAYERS[part(source)]
    )


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], node, target] if target in path else [node, target]
            if target not in state and (found := visit(target, [*path, node])):
                return found
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_every_part_of_the_package_has_a_layer():
    assert {part(m) for m in graph()} <= set(LAYERS)


def test_imports_go_only_downward():
    assert upward(graph()) == []


def test_no_import_cycles():
    assert find_cycle(graph()) is None


def test_the_checks_catch_an_upward_import_and_a_cycle():
    edges = {
        "subgen.core.types": {"subgen.pipeline.batch"},
        "subgen.pipeline.batch": {"subgen.core.types"},
        "subgen.asr.batching": {"subgen.audio.speech"},
        "subgen.audio.speech": set(),
    }
    assert upward(edges) == [("subgen.core.types", "subgen.pipeline.batch")]
    assert find_cycle(edges) == ["subgen.core.types", "subgen.pipeline.batch", "subgen.core.types"]
    assert find_cycle({"subgen.asr.batching": {"subgen.audio.speech"}, "subgen.audio.speech": set()}) is None
