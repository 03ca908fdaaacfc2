"""Move each saturation bound of the gateware by one and show that the rail tests fail.

    .venv/bin/python scripts/rail_mutations.py [--only NAME]

Each mutant runs in a process of its own: the named gateware module is loaded from its
source with one bound changed (the file on disk is not touched), then
``tests/hdl/test_rails.py`` runs against it.  A mutant is killed when a test fails on a
mismatch with the model; one that survives (or fails otherwise) is a rail nobody checks,
and the script then exits 1.  The unmutated gateware must pass first.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = "tests/hdl/test_rails.py"


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str
    old: str
    new: str


MUTANTS = [
    Mutant("weight write-back: w_max - 1", "epfpga.hdl.write_back",
           "Mux(total[-1], spec.w_min, spec.w_max)", "Mux(total[-1], spec.w_min, spec.w_max - 1)"),
    Mutant("weight write-back: w_min + 1", "epfpga.hdl.write_back",
           "Mux(total[-1], spec.w_min, spec.w_max)", "Mux(total[-1], spec.w_min + 1, spec.w_max)"),
    Mutant("hard activation: one - 1", "epfpga.hdl.activation",
           "lo, hi = 0, spec.one", "lo, hi = 0, spec.one - 1"),
    Mutant("hard activation: 0 + 1", "epfpga.hdl.activation",
           "lo, hi = 0, spec.one", "lo, hi = 1, spec.one"),
    Mutant("sigmoid table index: z_hi - 1", "epfpga.hdl.activation",
           "lo, hi = z_lo, z_lo + len(table) - 1", "lo, hi = z_lo, z_lo + len(table) - 2"),
    Mutant("sigmoid table index: z_lo + 1", "epfpga.hdl.activation",
           "lo, hi = z_lo, z_lo + len(table) - 1", "lo, hi = z_lo + 1, z_lo + len(table) - 1"),
    Mutant("nudged output: one - 1", "epfpga.hdl.output_state",
           "spec.k), 0, spec.one)", "spec.k), 0, spec.one - 1)"),
    Mutant("nudged output: 0 + 1", "epfpga.hdl.output_state",
           "spec.k), 0, spec.one)", "spec.k), 1, spec.one)"),
]


def load_mutated(mutant: Mutant) -> None:
    """Put ``mutant.module``, compiled from its source with the one change, into ``sys.modules``."""
    spec = importlib.util.find_spec(mutant.module)
    source = Path(spec.origin).read_text()
    if source.count(mutant.old) != 1:
        raise SystemExit(f"{mutant.name}: {mutant.old!r} is not once in {spec.origin}; update the mutant")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mutant.module] = module
    exec(compile(source.replace(mutant.old, mutant.new), spec.origin, "exec"), module.__dict__)


def child(name: str | None) -> int:
    import pytest
    if name is not None:
        load_mutated(next(m for m in MUTANTS if m.name == name))
    return int(pytest.main([TESTS, "-x", "-q", "-p", "no:cacheprovider", "--no-header", "-W", "ignore"]))


def run_child(script: str, option: str, name: str | None, pattern: str) -> tuple[int, str, float]:
    """Run ``script --child`` (with ``option name`` for a mutant): its exit status, the first
    group of ``pattern`` in what its tests print (or ``""``) and the seconds taken."""
    started = time.monotonic()
    cmd = [sys.executable, script, "--child"] + ([option, name] if name is not None else [])
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    found = re.search(pattern, proc.stdout)
    return proc.returncode, found[1] if found else "", time.monotonic() - started


def run(name: str | None) -> tuple[int, str, float]:
    """Exit status, the first mismatch the tests report (if any) and the seconds taken."""
    return run_child(__file__, "--only", name, r"AssertionError: (\d+ mismatches, first: [^\n]+)")


def unmutated_passes(run, what: str, tests: str) -> bool:
    """Run ``tests`` on the code as it is first; say how it went (on stderr if it failed)."""
    rc, _, seconds = run(None)
    if rc != 0:
        print(f"the unmutated {what} fails {tests} (exit {rc}): fix that first", file=sys.stderr)
        return False
    print(f"unmutated: {tests} passes ({seconds:.0f} s)")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=[m.name for m in MUTANTS], help="one mutant")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        return child(args.only)
    if not unmutated_passes(run, "gateware", TESTS):
        return 1
    print("| mutant | rail tests | first mismatch | s |\n|---|---|---|---|")
    survivors = 0
    for mutant in MUTANTS if args.only is None else [m for m in MUTANTS if m.name == args.only]:
        rc, first, seconds = run(mutant.name)
        killed = rc == 1 and first != ""
        verdict = "fail: killed" if killed else "pass: SURVIVED" if rc == 0 else f"error (exit {rc})"
        survivors += not killed
        print(f"| {mutant.name} | {verdict} | {first} | {seconds:.0f} |", flush=True)
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
