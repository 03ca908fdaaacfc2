"""The sequencer's programs: EP training with each estimator, and inference.

Generated from the one phase table (:data:`epfpga.golden.phases.PHASES`), so the gateware
runs exactly the phases the golden models run (``docs/fixed-point.md`` §9).  The free phase
of every sample ends in slot ``a`` when the estimator subtracts ``s*``, else in ``star``;
the ``+β`` (or ``σβ``) phase ends in ``b`` and the ``−β`` phase in ``a``.
"""

from __future__ import annotations

from epfpga.golden.phases import FREE, PHASES

from .assembler import assemble


def training_source(estimator: str, t1: int, t2: int) -> str:
    """Assembly of one training mini-batch with ``estimator``."""
    phases = PHASES[estimator]
    star = "a" if phases.a == "free" else "star"
    nudged = "sigma" if phases.random_sign else "plus"
    nudges = {0: "free", 1: nudged, -1: "minus"}
    slots = {"free": ("zero", star), "plus": (star, "b"), "minus": ("star", "a")}   # src -> dst
    lines = ["sign"] if phases.random_sign else []
    lines.append("loop: drive")
    for r in phases.relaxations:
        src, dst = slots[r.name]
        lines.append(f"relax {r.steps(t1, t2)} {nudges[r.nudge]} {src} -> {dst}")
        if r is FREE:
            lines.append("predict")
    lines += ["next loop", f"update {nudged} {phases.c}", "halt"]
    return "\n".join(lines)


def inference_source(t1: int) -> str:
    """Assembly of the free phase and prediction of every sample of a mini-batch."""
    return f"loop: drive\nrelax {t1} free zero -> star\npredict\nnext loop\nhalt"


def training(estimator: str, t1: int, t2: int) -> list[int]:
    return assemble(training_source(estimator, t1, t2))


def inference(t1: int) -> list[int]:
    return assemble(inference_source(t1))
