"""The lane streams' bulk generation against one-step xorshift32, per documented draw order."""

import numpy as np

from epfpga.golden.prng import SIGN_STREAM, LaneStreams, SignStream, stream_seed, xorshift32

CASES = 1000


def test_xorshift32_known_values():
    # Marsaglia (2003), xorshift32 with (13, 17, 5) from 2463534242.
    x, out = 2463534242, []
    for _ in range(3):
        x = xorshift32(x)
        out.append(x)
    assert out == [723471715, 2497366906, 2064144800]


def test_bulk_draws_follow_each_lane_in_order():
    rng = np.random.default_rng(12)
    for case in range(CASES // 10):
        seed, lanes = int(rng.integers(0, 1 << 32)), int(rng.integers(1, 17))
        streams = LaneStreams(seed, lanes)
        state = [stream_seed(seed, i) for i in range(lanes)]
        for block in rng.integers(0, 70, 10):
            got = streams.draw(int(block))
            want = []
            for e in range(int(block)):
                lane = e % lanes
                state[lane] = xorshift32(state[lane])
                want.append(state[lane])
            assert got.tolist() == want, (case, block)


def test_seeds_are_nonzero_and_distinct():
    seeds = {stream_seed(s, i) for s in range(40) for i in range(25)}
    assert 0 not in seeds and len(seeds) == 1000


def test_sign_stream_uses_bit_31():
    s = SignStream(7)
    x = stream_seed(7, SIGN_STREAM)
    for _ in range(CASES):
        x = xorshift32(x)
        assert s.next_sign() == (1 if x >> 31 else -1)
