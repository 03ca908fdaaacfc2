"""The packages stand in layers: each imports only those below it (``docs/architecture.md``).

The imports are read from the source with :mod:`ast`, those inside functions included, so a
cycle that Python tolerates at run time (an import deferred into a function) still fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Bottom first: a package may import those before it, never one after it.
LAYERS = ["golden", "contract", "hdl", "firmware", "verification", "boards"]


def imported(root: Path, package: str) -> dict[str, set[str]]:
    """For each module of ``package`` under ``root``, the packages of :data:`LAYERS` it imports."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        here = list(path.relative_to(root).parts[:-1])     # the module's package, as folders
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".") for alias in node.names]
                found.update(n[1] for n in names if n[0] == "epfpga" and len(n) > 1)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                name = node.module.split(".")
                if name[0] == "epfpga":
                    found.update(name[1:2] or [alias.name for alias in node.names])
            elif isinstance(node, ast.ImportFrom):
                base = here[:len(here) - (node.level - 1)]
                found.add(base[0] if base else (node.module or "").split(".")[0])
        out[str(path.relative_to(root))] = found & set(LAYERS)
    return out


@pytest.mark.parametrize("package", LAYERS)
def test_a_package_imports_only_the_layers_below_it(package):
    allowed = set(LAYERS[:LAYERS.index(package) + 1])
    wrong = {module: sorted(found - allowed) for module, found in imported(ROOT, package).items() if found - allowed}
    assert not wrong, f"'{package}' may import only {sorted(allowed - {package})}; these import more: {wrong}"


def test_every_form_of_import_is_seen(tmp_path):
    (tmp_path / "hdl" / "sub").mkdir(parents=True)
    sources = {"a.py": "from epfpga.firmware import x\n",
               "b.py": "def f():\n    import epfpga.verification.sim\n",
               "c.py": "from ..boards import build\n",
               "d.py": "from epfpga import contract\nfrom . import core\n",
               "sub/e.py": "from .. import params\nfrom ...golden import y\n"}
    for name, text in sources.items():
        (tmp_path / "hdl" / name).write_text(text)
    assert imported(tmp_path, "hdl") == {"hdl/a.py": {"firmware"}, "hdl/b.py": {"verification"}, "hdl/c.py": {"boards"},
                                         "hdl/d.py": {"contract", "hdl"}, "hdl/sub/e.py": {"hdl", "golden"}}
