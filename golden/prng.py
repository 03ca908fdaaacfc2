"""The trainer's pseudo-random streams: xorshift32, one stream per hardware lane.

``docs/fixed-point.md`` §7.  One step of xorshift32 (Marsaglia's 13, 17, 5 triple) is

    x ^= x << 13;  x ^= x >> 17;  x ^= x << 5        (all modulo 2**32)

and each draw returns the new state.  Stream ``i`` starts from :func:`stream_seed`.  The step
is linear over GF(2), so ``n`` draws of every lane can be generated in ``log2(n)`` doublings
of 32x32 bit-matrix products: that is how :meth:`LaneStreams.draw` stays fast, and
:func:`xorshift32` is the one-step reference it is tested against.
"""

from __future__ import annotations

import numpy as np

PRNG_BITS = 32
MASK = (1 << PRNG_BITS) - 1
SIGN_STREAM = 0xFFFF


def xorshift32(x: int) -> int:
    x ^= (x << 13) & MASK
    x ^= x >> 17
    x ^= (x << 5) & MASK
    return x


def stream_seed(seed: int, index: int) -> int:
    """Initial state of stream ``index``: ``(seed·0x9E3779B1) xor ((index+1)·0x85EBCA77)``
    modulo 2**32, and 1 where that is 0 (xorshift's one forbidden state)."""
    s = ((seed * 0x9E3779B1) ^ ((index + 1) * 0x85EBCA77)) & MASK
    return s or 1


class _BitMatrix:
    """A 32x32 matrix over GF(2), applied a byte at a time through four 256-entry tables."""

    def __init__(self, columns: np.ndarray):
        self.columns = columns  # images of the 32 unit vectors
        values = np.arange(256, dtype=np.uint64)
        self.tables = np.zeros((4, 256), dtype=np.uint64)
        for b in range(32):
            self.tables[b // 8] ^= ((values >> np.uint64(b % 8)) & np.uint64(1)) * columns[b]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        t = self.tables
        byte = np.uint64(0xFF)
        return (t[0][x & byte] ^ t[1][(x >> np.uint64(8)) & byte]
                ^ t[2][(x >> np.uint64(16)) & byte] ^ t[3][x >> np.uint64(24)])

    def squared(self) -> _BitMatrix:
        return _BitMatrix(self(self.columns))


_STEP = _BitMatrix(np.array([xorshift32(1 << b) for b in range(32)], dtype=np.uint64))


class LaneStreams:
    """``lanes`` independent xorshift32 streams; :meth:`draw` hands element ``e`` of a block
    the next output of lane ``e mod lanes``, each lane in increasing ``e``."""

    def __init__(self, seed: int, lanes: int, first_index: int = 0):
        self.lanes = lanes
        self.state = np.array([stream_seed(seed, first_index + i) for i in range(lanes)], dtype=np.uint64)
        self._powers = [_STEP]  # STEP**(2**t)

    def _power(self, t: int) -> _BitMatrix:
        while len(self._powers) <= t:
            self._powers.append(self._powers[-1].squared())
        return self._powers[t]

    def draw(self, n: int) -> np.ndarray:
        """Draws for a block of ``n`` elements (uint64 array holding 32-bit values)."""
        rows = -(-n // self.lanes)
        if rows == 0:
            return np.zeros(0, dtype=np.uint64)
        seq = _STEP(self.state)[None, :]
        t = 0
        while len(seq) < rows:
            seq = np.concatenate([seq, self._power(t)(seq)])
            t += 1
        seq = seq[:rows]
        per_lane = np.full(self.lanes, rows)
        per_lane[n - (rows - 1) * self.lanes:] -= 1
        used = per_lane > 0
        self.state[used] = seq[per_lane[used] - 1, np.flatnonzero(used)]
        return seq.reshape(-1)[:n]


class SignStream:
    """The sequencer's stream for the random-sign estimator: one draw per mini-batch, ``+β``
    when bit 31 of the draw is 1."""

    def __init__(self, seed: int):
        self.state = stream_seed(seed, SIGN_STREAM)

    def next_sign(self) -> int:
        self.state = xorshift32(self.state)
        return 1 if self.state >> 31 else -1
