"""Which phases each estimator runs, in which order, and which two it subtracts: one table for
every backend.

The float and fixed-point trainers, the sequencer's programs (``contract/programs.py``), the
RTL trainer, the beat checker, the trace format and the schedule model all read
:data:`PHASES`, so an estimator and the order of a sample's relaxations are defined once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Relaxation:
    """One relaxation of a sample: ``name`` (as traces call it), the config key of its step
    count (``t1`` or ``t2``) and the sign of its nudge (0: free; the random sign multiplies
    the ``+1``).  Every nudged relaxation starts from the free phase's last state ``s*``."""

    name: str
    steps_key: str
    nudge: int

    def steps(self, t1: int, t2: int) -> int:
        return t1 if self.steps_key == "t1" else t2


FREE, PLUS, MINUS = Relaxation("free", "t1", 0), Relaxation("plus", "t2", 1), Relaxation("minus", "t2", -1)
RELAXATIONS = (FREE, PLUS, MINUS)   # every relaxation a trace may hold, in the order they run


@dataclass(frozen=True)
class EstimatorPhases:
    """The weight update of an estimator is ``σ_u · (Φ-gradient at b − at a) / (c·β)``.

    Attributes
    ----------
    a : str
        Phase whose last-step state is subtracted: ``"free"`` (``s*``) or ``"minus"``.
    random_sign : bool
        The nudged phase runs at ``σβ`` with σ drawn once per mini-batch, and ``σ_u = σ``.
    c : int
        ``1``, or ``2`` when ``a`` and ``b`` are ``2β`` apart.
    """

    a: str
    random_sign: bool
    c: int

    b = "plus"

    @property
    def minus(self) -> bool:
        """Whether a ``−β`` phase runs (from ``s*``, after the ``+β`` phase)."""
        return self.a == "minus"

    @property
    def relaxations(self) -> tuple[Relaxation, ...]:
        """A sample's relaxations, in the order they run."""
        return (FREE, PLUS, MINUS) if self.minus else (FREE, PLUS)

    def steps(self, t1: int, t2: int) -> int:
        """Neuron steps a sample: all its relaxations."""
        return sum(r.steps(t1, t2) for r in self.relaxations)


PHASES: dict[str, EstimatorPhases] = {
    "one-sided": EstimatorPhases(a="free", random_sign=False, c=1),
    "random-sign": EstimatorPhases(a="free", random_sign=True, c=1),
    "symmetric": EstimatorPhases(a="minus", random_sign=False, c=2),
}
