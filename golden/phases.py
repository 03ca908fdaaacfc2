"""Which phases each estimator runs and which two it subtracts: one table for every backend.

The float trainer, the fixed-point trainer and the sequencer's programs
(``firmware/programs.py``) all read :data:`PHASES`, so an estimator is defined once.
"""

from __future__ import annotations

from dataclasses import dataclass


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


PHASES: dict[str, EstimatorPhases] = {
    "one-sided": EstimatorPhases(a="free", random_sign=False, c=1),
    "random-sign": EstimatorPhases(a="free", random_sign=True, c=1),
    "symmetric": EstimatorPhases(a="minus", random_sign=False, c=2),
}
