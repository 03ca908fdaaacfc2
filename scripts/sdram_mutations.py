"""Shorten each SDRAM timing of the controller and show which the default suite's bench catches.

    .venv/bin/python scripts/sdram_mutations.py [--only tRCD]

Each mutant runs in a process of its own: ``epfpga.hdl.litedram`` is loaded from its source with
one wait in :func:`controller_timings` shortened by ``k`` clocks (tREFI: lengthened, refreshing
late being the violation), then the default suite's bench
(``tests/verification/test_sdram_sim.py``, LiteDRAM on the chip model at 100 and 133 MHz) runs
against it.  ``k`` grows from 1 until the bench fails naming the parameter, or until the wait is
one clock.  A wait that LiteDRAM's command pipeline already covers is never violated, and the
table says so with the tightest gap the bench saw.  Exits 1 if the unmutated controller fails,
or if a mutant fails without naming its parameter.
"""

from __future__ import annotations

import argparse
import sys

from rail_mutations import ROOT, Mutant, load_mutated, run_child, unmutated_passes

MODULE = "epfpga.hdl.litedram"
TESTS = "tests/verification/test_sdram_sim.py"
TEST = "meets_the_datasheet"
SHORTEST = {"tRCD": 4, "tRP": 4, "tRAS": 5, "tRC": 8, "tRFC": 8, "tRRD": 1, "tWR": 1}   # the most k to try
LONGER = (1, 2, 4, 8)   # tREFI's


def mutants(name: str) -> list[Mutant]:
    if name == "tREFI":
        old = "tREFI=floor(chip.tREFI * clock_hz / 1e9),"
        return [Mutant(f"tREFI + {k}", MODULE, old, old.replace("),", f") + {k},")) for k in LONGER]
    old = f'{name}=cycles("{name}"),'
    return [Mutant(f"{name} - {k}", MODULE, old, f'{name}=max(1, cycles("{name}") - {k}),')
            for k in range(1, SHORTEST[name] + 1)]


def child(name: str | None) -> int:
    import pytest
    if name is not None:
        timing = name.split()[0]
        load_mutated(next(m for m in mutants(timing) if m.name == name))
    return int(pytest.main([TESTS, "-k", TEST, "-q", "-p", "no:cacheprovider", "--no-header", "-W", "ignore"]))


def run(name: str | None) -> tuple[int, str, float]:
    """Exit status, the violation the bench names (if any) and the seconds taken."""
    return run_child(__file__, "--mutant", name, r"AssertionError: (cycle \d+: [^\n]*violated[^\n]*)")


def main() -> int:
    names = [*SHORTEST, "tREFI"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=names, help="one timing")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mutant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        return child(args.mutant)
    if not unmutated_passes(run, "controller", f"{TESTS} -k {TEST}"):
        return 1
    print("| timing | first mutant the bench fails | what it names | s |\n|---|---|---|---|")
    unnamed = 0
    for name in names if args.only is None else [args.only]:
        caught, total = None, 0.0
        for mutant in mutants(name):
            rc, named, seconds = run(mutant.name)
            total += seconds
            if rc != 0:
                caught = (mutant.name, named)
                unnamed += f"{name} violated" not in named
                break
        if caught is None:
            print(f"| {name} | none (down to {mutants(name)[-1].name}): the command pipeline covers it | | {total:.0f} |",
                  flush=True)
        else:
            print(f"| {name} | {caught[0]} | {caught[1] or 'UNNAMED'} | {total:.0f} |", flush=True)
    return 1 if unnamed else 0


if __name__ == "__main__":
    sys.exit(main())
