"""The input table and its coder: exact for every byte data set, whatever ``input_frac``."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga import config as config_mod
from epfpga import data as data_mod
from epfpga.contract.params import CoreParams
from epfpga.firmware.input_code import InputCoder, input_table


def spec(input_frac: int = 8):
    cfg = config_mod.from_dict(dict(sizes=[5, 6, 3], lanes=4, batch=2, lrs=[0.1, 0.1],
                                    fixed={"input_frac": input_frac}))
    return CoreParams.from_config(cfg).spec


def test_mnist_bytes_quantise_to_p_plus_p_shifted_by_7():
    p = np.arange(256)
    assert np.array_equal(input_table(spec(), 255), p + (p >> 7))


@pytest.mark.parametrize("input_frac", [3, 8])
def test_every_byte_of_a_data_set_codes_to_the_byte_and_back_to_its_quantised_input(input_frac):
    s = spec(input_frac)
    digits = data_mod.load_digits()
    table = input_table(s, digits.levels)
    xq = s.quantise_input(digits.train_x).numpy()
    codes = InputCoder(table).code(xq)
    assert codes is not None
    assert np.array_equal(table[np.frombuffer(codes, dtype=np.uint8)].reshape(xq.shape), xq)
    if input_frac == 8:     # (the table is one-to-one: the byte is the pixel's; at 3 bits pixels share values)
        assert np.array_equal(np.frombuffer(codes, dtype=np.uint8), np.rint(digits.train_x.ravel() * 16))


def test_without_levels_the_identity_where_inputs_are_bytes_and_none_where_not():
    assert np.array_equal(input_table(spec(7), None)[:129], np.arange(129))
    assert input_table(spec(8), None) is None          # 257 input values: no byte holds them all
    with pytest.raises(ValueError, match="levels 256"):
        input_table(spec(), 256)


def test_a_value_in_no_entry_is_not_coded():
    table = input_table(spec(), 16)                    # entries 0, 16, 32, … 256
    coder = InputCoder(table)
    assert coder.code([0, 16, 256]) == bytes([0, 1, 16])
    assert coder.code([0, 17]) is None and coder.code([-1]) is None and coder.code([4096]) is None
