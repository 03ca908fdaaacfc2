"""Issue 36's bound on a component's ``elaborate``: none over 120 lines (a longer one is split
into helpers), read from the source of every module in ``hdl``."""

from __future__ import annotations

import ast
from pathlib import Path

HDL = Path(__file__).resolve().parent.parent.parent / "hdl"
LONGEST = 120


def test_no_elaborate_is_longer_than_120_lines():
    long = []
    for path in sorted(HDL.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and node.name == "elaborate":
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST:
                    long.append(f"hdl/{path.relative_to(HDL)}:{node.lineno} ({lines} lines)")
    assert not long, long
