"""The packages import one another one way only: no cycle between ``contract``, ``golden``,
``hdl``, ``firmware``, ``verification`` and ``boards``, read from every import in their source
(those inside functions too), and ``contract`` at the bottom."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("contract", "golden", "hdl", "firmware", "verification", "boards")


def imported_packages(package: str) -> dict[str, set[str]]:
    """The other packages ``package`` imports, each with the files that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1 or package == "golden", f"{path}: a relative import out of its package"
                modules = [node.module or ""] if node.level == 0 else []
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] == "epfpga" and len(parts) > 1 and parts[1] in PACKAGES and parts[1] != package:
                    found.setdefault(parts[1], set()).add(str(path.relative_to(ROOT)))
    return found


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph, or None."""
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_package_imports_another_that_imports_it():
    imports = {package: imported_packages(package) for package in PACKAGES}
    graph = {package: set(targets) for package, targets in imports.items()}
    loop = cycle(graph)
    assert loop is None, "import cycle " + " -> ".join(loop) + ": " + "; ".join(
        f"{a} -> {b} in {sorted(imports[a][b])}" for a, b in zip(loop, loop[1:]))
    assert set(imports["contract"]) <= {"golden"}, imports["contract"]
    assert "hdl" not in imports["firmware"] and "firmware" not in imports["hdl"]


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}}) is None

