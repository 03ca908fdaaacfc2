"""The training set as it lives in the board's SDRAM (``docs/protocol.md`` §9).

Every sample is a record of its label and its inputs as the data set stores them, one byte a
pixel, zero runs coded (:attr:`~epfpga.contract.protocol.Coding.ZERO_RUNS`), so that the device
expands them through the input table exactly as it expands an ``INPUTS`` frame.  An index gives
each record's first word, so any order of the samples (an epoch's permutation) reaches them
directly.  In 16-bit words, bytes low first:

    header   8 words   "EPDS" (0x5045 0x5344), layout 1, inputs a sample, samples (2 words, low
                       first), 0, 0
    index    2 words a sample: the record's word address (low first)
    records  label, code bytes, then the code bytes two a word (the last padded with 0)

:func:`unpack` is the twin the device's reader will follow.
"""

from __future__ import annotations

import numpy as np

from epfpga.contract.protocol import Coding, expand, zero_runs
from epfpga.errors import UserError
from epfpga.golden.fixed.formats import FixedSpec

from .input_code import InputCoder, input_table

MAGIC = (0x5045, 0x5344)   # b"EPDS", low byte first
LAYOUT = 1
HEADER_WORDS = 8


def _bytes_to_words(data: bytes) -> np.ndarray:
    return np.frombuffer(data + b"\0" * (len(data) & 1), dtype="<u2")


def pack(codes: list[bytes], labels, inputs: int) -> np.ndarray:
    """The SDRAM image of samples whose coded inputs are ``codes`` (of ``inputs`` bytes each)
    and whose labels are ``labels``."""
    n = len(codes)
    records, index, at = [], np.zeros(2 * n, dtype=np.uint32), HEADER_WORDS + 2 * n
    for k, (code, label) in enumerate(zip(codes, labels, strict=True)):
        record = np.concatenate([np.array([int(label), len(code)], dtype=np.uint16), _bytes_to_words(code)])
        index[2 * k:2 * k + 2] = (at & 0xFFFF, at >> 16)
        records.append(record)
        at += len(record)
    header = np.array([*MAGIC, LAYOUT, inputs, n & 0xFFFF, n >> 16, 0, 0], dtype=np.uint16)
    return np.concatenate([header, index.astype(np.uint16), *records]).astype(np.uint16)


def unpack(words: np.ndarray) -> tuple[list[bytes], list[int], int]:
    """The input bytes (expanded), labels and inputs a sample of an SDRAM image."""
    words = np.asarray(words, dtype=np.uint16)
    if tuple(words[:2]) != MAGIC or words[2] != LAYOUT:
        raise ValueError(f"not a layout-{LAYOUT} data set image (header {words[:3].tolist()})")
    inputs, n = int(words[3]), int(words[4]) | int(words[5]) << 16
    samples, labels = [], []
    for k in range(n):
        at = int(words[HEADER_WORDS + 2 * k]) | int(words[HEADER_WORDS + 2 * k + 1]) << 16
        label, length = int(words[at]), int(words[at + 1])
        codes = words[at + 2:at + 2 + (length + 1) // 2].astype("<u2").tobytes()[:length]
        samples.append(expand(Coding.ZERO_RUNS, codes))
        labels.append(label)
    return samples, labels, inputs


def dataset_image(spec: FixedSpec, levels: int | None, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The SDRAM image of training inputs ``x`` (floats, one row a sample) and labels ``y``:
    each input as the byte whose table entry its quantised value is."""
    table = input_table(spec, levels)
    if table is None:
        raise UserError("the data set's inputs are not bytes: it cannot live in the SDRAM as bytes "
                        "(a data set with byte pixels, or input_frac <= 7)")
    coder = InputCoder(table)
    quantised = spec.quantise_input(np.asarray(x, dtype=np.float32)).numpy()
    codes = []
    for k, values in enumerate(quantised):
        raw = coder.code(values)
        if raw is None:
            raise UserError(f"training sample {k} has an input that no byte's table entry gives: "
                            f"the data set's inputs are not bytes")
        codes.append(zero_runs(raw))
    return pack(codes, y, x.shape[1])
