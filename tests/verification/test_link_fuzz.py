"""The link fuzzer against the simulated board, on a short seed (``scripts/fuzz_link.py`` runs
10,000 frames): every answer as the model says, no hang, nothing changed by a bad frame."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams
from epfpga.firmware.board import CheckedBoardTrainer
from epfpga.verification.board_sim import SIM_BAUD, SimulatedBoard
from epfpga.verification.link_fuzz import fuzz

from tests.helpers_data import random_batches


# (the iCEBreaker's system is built without the timing registers: CoreParams.timing_registers)
@pytest.mark.parametrize("seed, board", [(1, "ulx3s-85f"), (2, "icebreaker")])
def test_fuzzed_frames_are_answered_as_documented_and_change_nothing(seed, board):
    cfg = config_mod.from_dict(dict(sizes=[5, 6, 3], lanes=4, batch=2, lrs=[0.5, 0.5], t1=3, t2=2,
                                    estimator="random-sign", seed=3, hardware=dict(board=board)))
    params = CoreParams.from_config(cfg)
    board = SimulatedBoard(params)
    try:
        report = fuzz(params, board.port, SIM_BAUD, 1000, seed)
        assert report.frames == 1000 and report.syncs >= 10
        assert {"BAD_CRC", "BAD_LENGTH", "OVERFLOW", "FRAMING", "ADDRESS", "BAD_VERSION",
                "UNKNOWN_COMMAND", "BAD_CODE", "OK"} <= set(report.statuses)
        # pixels of 255 levels: the inputs cross as bytes, through the table the trainer loads
        # over whatever the fuzz wrote into it
        trainer = CheckedBoardTrainer(cfg, port=board.port, baud=SIM_BAUD, input_levels=255)
        for x, y in random_batches(cfg, 3):
            trainer.train_batch(np.round(x * 255) / 255, y)
        trainer.link.close()
        assert trainer.mismatches == 0
    finally:
        board.close()


def test_fuzzing_a_build_with_the_sdram_leaves_its_guarded_words_as_they_were():
    """Bad frames aim at the SDRAM too; good ones write, read back and checksum it: every answer
    as the model says, and the guarded words' checksum unchanged."""
    cfg = config_mod.from_dict(dict(sizes=[5, 6, 3], lanes=4, batch=2, lrs=[0.5, 0.5], t1=3, t2=2,
                                    estimator="random-sign", seed=3, hardware={"sdram": True}))
    params = CoreParams.from_config(cfg)
    board = SimulatedBoard(params)
    try:
        report = fuzz(params, board.port, SIM_BAUD, 600, 3)
        assert {"sdram_write", "sdram_read", "sdram_crc"} <= set(report.kinds)
        assert {"BAD_CRC", "OK", "ADDRESS"} <= set(report.statuses)
    finally:
        assert board.close()["sdram_error"] == ""
