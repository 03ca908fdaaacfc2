"""Inputs as the data set stores them: a byte a pixel on the link, expanded on the device
through the input table (``docs/protocol.md`` §3, ``docs/fixed-point.md`` §2).

The table holds, for each byte, the quantised input the fixed-point model gives that byte's
pixel, so the device's inputs are the model's whatever ``input_frac`` is.  The host codes a
mini-batch by looking each quantised input up in the table backwards: exact by construction,
and a value the table lacks sends that burst the wide way (``WRITE``), never a wrong byte.
"""

from __future__ import annotations

import numpy as np

from epfpga.contract.protocol import TABLE_ENTRIES
from epfpga.golden.fixed.formats import FixedSpec


def input_table(spec: FixedSpec, levels: int | None) -> np.ndarray | None:
    """The table for pixels ``k / levels`` (``k = 0 … levels ≤ 255``): entry ``k`` is the
    quantised input of the float32 nearest ``k / levels``, as a data set stores it; the
    entries past ``levels`` are 0.  Without ``levels``, the identity where every quantised
    input is a byte (``input_frac`` ≤ 7); otherwise ``None``: the inputs go the wide way."""
    table = np.zeros(TABLE_ENTRIES, dtype=np.int64)
    if levels is not None:
        if not 1 <= levels < TABLE_ENTRIES:
            raise ValueError(f"levels {levels}: a byte's pixels have 1 to {TABLE_ENTRIES - 1}")
        pixels = np.arange(levels + 1, dtype=np.float32) / np.float32(levels)
        table[:levels + 1] = spec.quantise_input(pixels).numpy()
        return table
    top = 1 << spec.fx
    if top >= TABLE_ENTRIES:
        return None
    table[:top + 1] = np.arange(top + 1)
    return table


class InputCoder:
    """Quantised inputs to the bytes whose table entries they are."""

    def __init__(self, table: np.ndarray):
        self.table = np.asarray(table, dtype=np.int64)
        self._byte = np.full(int(self.table.max()) + 1, -1, dtype=np.int64)
        for k in range(TABLE_ENTRIES - 1, -1, -1):   # (the lowest byte of a value wins)
            self._byte[self.table[k]] = k

    def code(self, values) -> bytes | None:
        """The bytes of ``values``, or ``None`` where one is in no entry."""
        values = np.asarray(values, dtype=np.int64)
        if values.size and (values.min() < 0 or values.max() >= len(self._byte)):
            return None
        out = self._byte[values]
        return None if (out < 0).any() else out.astype(np.uint8).tobytes()
