"""The training set as it lives in the board's SDRAM (``docs/protocol.md`` §10).

Every sample is a record of its label and its inputs as the data set stores them, one byte a
pixel, zero runs coded (:attr:`~epfpga.contract.protocol.Coding.ZERO_RUNS`), so that the device
expands them through the input table exactly as it expands an ``INPUTS`` frame.  An index gives
each record's first word, so any order of the samples (an epoch's permutation) reaches them
directly.  The layout is :mod:`epfpga.contract.resident`'s; :func:`unpack` is the golden twin
of the device's reader (:mod:`epfpga.hdl.resident_feeder`).
"""

from __future__ import annotations

import numpy as np

from epfpga.contract.address_map import Region, address
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import Coding, expand, zero_runs
from epfpga.contract.resident import INDEX_WORDS, LAYOUT, MAGIC, index_address
from epfpga.errors import UserError
from epfpga.golden.fixed.formats import FixedSpec

from .input_code import InputCoder, input_table



def _bytes_to_words(data: bytes) -> np.ndarray:
    return np.frombuffer(data + b"\0" * (len(data) & 1), dtype="<u2")


def pack(codes: list[bytes], labels, inputs: int) -> np.ndarray:
    """The SDRAM image of samples whose coded inputs are ``codes`` (of ``inputs`` bytes each)
    and whose labels are ``labels``."""
    n = len(codes)
    records, index, at = [], np.zeros(INDEX_WORDS * n, dtype=np.uint32), index_address(n)
    for k, (code, label) in enumerate(zip(codes, labels, strict=True)):
        record = np.concatenate([np.array([int(label), len(code)], dtype=np.uint16), _bytes_to_words(code)])
        index[2 * k:2 * k + 2] = (at & 0xFFFF, at >> 16)
        records.append(record)
        at += len(record)
    header = np.array([*MAGIC, LAYOUT, inputs, n & 0xFFFF, n >> 16, 0, 0], dtype=np.uint16)
    return np.concatenate([header, index.astype(np.uint16), *records]).astype(np.uint16)


def word_bytes(words: np.ndarray, addr: int, count: int) -> bytes:
    """``count`` bytes from word ``addr`` on, each word's low byte first: the golden twin of
    :class:`~epfpga.hdl.sdram_bytes.SDRAMBytes`."""
    return np.asarray(words[addr:addr + (count + 1) // 2]).astype("<u2").tobytes()[:count]


def record(words: np.ndarray, sample: int) -> tuple[int, bytes]:
    """The label and code bytes of ``sample``, reached through the index as the device reaches
    them."""
    at = int(words[index_address(sample)]) | int(words[index_address(sample) + 1]) << 16
    label, length = int(words[at]), int(words[at + 1])
    return label, word_bytes(words, at + 2, length)


def unpack(words: np.ndarray) -> tuple[list[bytes], list[int], int]:
    """The input bytes (expanded), labels and inputs a sample of an SDRAM image."""
    words = np.asarray(words, dtype=np.uint16)
    if tuple(words[:2]) != MAGIC or words[2] != LAYOUT:
        raise ValueError(f"not a layout-{LAYOUT} data set image (header {words[:3].tolist()})")
    inputs, n = int(words[3]), int(words[4]) | int(words[5]) << 16
    samples, labels = [], []
    for k in range(n):
        label, codes = record(words, k)
        samples.append(expand(Coding.ZERO_RUNS, codes))
        labels.append(label)
    return samples, labels, inputs


def permutation_words(order: np.ndarray) -> np.ndarray:
    """An epoch's sample order as the runner reads it: each sample number in
    :data:`~epfpga.contract.resident.INDEX_WORDS` words, low first."""
    order = np.asarray(order, dtype=np.uint32)
    return np.stack([order & 0xFFFF, order >> 16], axis=1).ravel().astype(np.uint16)


def feed(words: np.ndarray, entry: int, bank: int, params: CoreParams, table) -> tuple[list[tuple[int, int]], int | None]:
    """The golden twin of :class:`~epfpga.hdl.resident_feeder.ResidentFeeder`: the host-bus
    writes that put the mini-batch whose permutation entries start at SDRAM word ``entry``
    into input ``bank``, expanded through ``table``; and the first sample whose record is
    damaged (``None``: none), where the writes stop."""
    words = np.asarray(words, dtype=np.uint16)
    inputs, padded = params.sizes[0], params.groups(params.sizes[0]) * params.lanes
    writes: list[tuple[int, int]] = []
    for b in range(params.batch):
        at = entry + INDEX_WORDS * b
        sample = int(words[at]) | int(words[at + 1]) << 16
        label, codes = record(words, sample)
        values = expand(Coding.ZERO_RUNS, codes)
        if values is None or len(values) != inputs or label >= params.classes:
            return writes, sample
        base = ((bank * params.batch + b) * params.input_stride) << params.lane_bits
        writes += [(address(Region.X, base + k), int(table[v]) if k < inputs else 0)
                   for k, v in enumerate(list(values) + [0] * (padded - inputs))]
        writes.append((address(Region.Y, bank * params.batch + b), label))
    return writes, None


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
