"""Small configurations for the neuron update's stage benches."""

from __future__ import annotations

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams


def params(sizes=(20, 12, 5), lanes: int = 4, batch: int = 2, board: str = "ulx3s-85f", **options) -> CoreParams:
    """``board`` sizes the timing registers (:attr:`CoreParams.timing_registers`)."""
    return CoreParams.from_config(config_mod.from_dict(dict(sizes=list(sizes), lanes=lanes, batch=batch,
                                                            lrs=[0.1] * (len(sizes) - 1),
                                                            hardware=dict(board=board), **options)))
