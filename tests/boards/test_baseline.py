"""The board presets against their committed baselines (``boards/baselines``): a build more
than 5 % slower or bigger fails."""

from __future__ import annotations

import pytest

from epfpga import config as config_mod
from epfpga.boards import baseline
from epfpga.boards.build import BOARDS, build


PRESETS = sorted(name for name, board in BOARDS.items() if board.preset)


def test_every_board_preset_has_a_baseline_of_its_own_arguments():
    """Each board has a preset and its baseline, at the board's default link."""
    assert PRESETS == sorted(BOARDS)
    for board in PRESETS:
        report = baseline.load(board)
        assert report["config"] == BOARDS[board].preset
        assert report["board"] == board and report["baud"] == BOARDS[board].baud
        for key in (*baseline.ARGUMENTS, *baseline.RESOURCES, "fmax_mhz", "critical_path"):
            assert key in report, (board, key)


def test_a_regression_of_more_than_five_percent_is_named():
    base = {"fmax_mhz": 100.0, "lut": 1000, "ff": 1000, "dsp": 8, "bram": 50}
    assert baseline.regressions(base, dict(base, fmax_mhz=95.0, lut=1050)) == []
    assert baseline.regressions(base, dict(base, fmax_mhz=94.9)) == ["Fmax 94.9 MHz, the baseline 100.0 MHz (-5.1%)"]
    assert baseline.regressions(base, dict(base, dsp=9, bram=53)) == ["dsp 9, the baseline 8 (+12.5%)",
                                                                     "bram 53, the baseline 50 (+6.0%)"]


@pytest.mark.slow
@pytest.mark.parametrize("board", PRESETS)
def test_the_board_preset_builds_no_slower_and_no_bigger_than_its_baseline(board, tmp_path):
    """A full synthesis, place and route (minutes)."""
    old = baseline.load(board)
    cfg = config_mod.load(old["config"]).replace(lanes=old["lanes"])
    report = build(cfg, board, tmp_path / "build", old["target_mhz"], old["baud"], log=lambda _: None,
                   seed=old["seed"])
    assert baseline.regressions(old, report) == [], report
