"""The core in Amaranth's simulator against the fixed-point golden model, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga import config as config_mod
from epfpga import data as data_mod
from epfpga.contract import programs
from epfpga.contract.address_map import READ_LATENCY, Reg, address, layer_region
from epfpga.firmware.driver import to_signed
from epfpga.golden.fixed.formats import FixedSpec
from epfpga.golden.fixed.trainer import FixedTrainer
from epfpga.hdl import schedule
from epfpga.trace import compare
from epfpga.verification.trainer import RtlTrainer

from .helpers import random_data, random_gateware_config, traces

SEEDS = range(6)   # (the slow suite runs 44 more: 6 to 49)


def assert_identical(fixed, rtl) -> None:
    result = compare(fixed, rtl)
    assert result.first is None, f"{result.mismatches} mismatches, first: {result.first}"


def assert_exact_and_on_schedule(cfg, x, y):
    """Train ``cfg`` on ``x, y`` in the core and the fixed-point model: the traces are identical,
    and every mini-batch took exactly the cycles of the schedule model.  Returns the model's."""
    rtl = RtlTrainer(cfg)
    fixed, got = traces(cfg, x, y, rtl)
    assert_identical(fixed, got)
    model = schedule.program_cycles(rtl.hw, programs.training(cfg.estimator, cfg.t1, cfg.t2))
    for counters in rtl.cycles:   # (and the core waited between runs: WAIT_CYCLES, not scheduled)
        assert {k: counters[k] for k in model.counters()} == model.counters()
    return fixed


@pytest.mark.parametrize("seed", SEEDS)
def test_random_config_trace_is_bit_exact_and_on_schedule(seed):
    rng = np.random.default_rng(1000 + seed)
    cfg = random_gateware_config(rng)
    x, y = random_data(cfg, rng, batches=2)
    fixed = assert_exact_and_on_schedule(cfg, x, y)
    # the updates moved weights (a trace of frozen weights would prove little)
    moved = sum(int(np.sum(fixed.arrays[f"W{n}"][-1] != fixed.arrays[f"init_W{n}"])) for n in range(1, len(cfg.sizes)))
    assert moved > 0


def test_a_random_config_on_the_icebreaker_is_bit_exact_and_on_schedule():
    """The iCEBreaker's gateware (no timing registers: shorter pipelines, the activation a cycle
    sooner, the sequencer's instruction the program memory's word), with pairs (without:
    :func:`test_one_sample_at_a_time_is_bit_exact_and_on_schedule`)."""
    rng = np.random.default_rng(3001)
    cfg = random_gateware_config(rng, hardware={"board": "icebreaker", "pairs": True})
    x, y = random_data(cfg, rng, batches=2)
    assert_exact_and_on_schedule(cfg, x, y)


@pytest.mark.parametrize("inputs, batch", [(3, 2), (4, 8), (3, 1)])
def test_a_drive_row_of_one_group_is_bit_exact_and_on_schedule(inputs, batch):
    """At most P inputs: a drive row is one word, and a pair's odd row end waits a cycle
    (``neuron_timing.drive_issue_cycles``); without a pair it does not."""
    cfg = config_mod.from_dict(dict(sizes=[inputs, 6, 3], lanes=4, batch=batch, t1=3, t2=2, lrs=[0.5, 0.5]))
    x, y = random_data(cfg, np.random.default_rng(inputs + batch), batches=2)
    assert_exact_and_on_schedule(cfg, x, y)


@pytest.mark.parametrize("sizes, lanes, batch, board, label_block_ram", [([9, 13, 5], 4, 4, "ulx3s-85f", True),
                                                                          ([9, 13, 5], 2, 4, "icebreaker", True),
                                                                          ([5, 7, 3], 1, 2, "icebreaker", False)])
def test_one_sample_at_a_time_is_bit_exact_and_on_schedule(sizes, lanes, batch, board, label_block_ram):
    """``hardware.pairs = false``: each neuron step runs one sample, ``W_1``'s update one
    sample a cycle, the inputs in one memory; the same traces, and the schedule model's cycles
    (the iCEBreaker's: its sequencer's instruction the program memory's word, its labels read
    a cycle late from a block RAM, or at once from logic cells)."""
    cfg = config_mod.from_dict(dict(sizes=sizes, lanes=lanes, batch=batch, t1=3, t2=2, lrs=[0.5] * (len(sizes) - 1),
                                    fixed={"rounding": "stochastic"},
                                    hardware={"pairs": False, "board": board, "label_block_ram": label_block_ram}))
    x, y = random_data(cfg, np.random.default_rng(batch), batches=2)
    assert_exact_and_on_schedule(cfg, x, y)


@pytest.mark.parametrize("sizes", [[6, 9, 10, 3], [6, 9, 8, 3]])
def test_accumulator_reads_at_the_rows_bound_are_bit_exact_on_the_ulx3s(sizes):
    """Rows of ``W_2`` and ``W_3`` of three words: the accumulators' reads have no bypass
    (``neuron_timing.fresh_accumulator_reads``); ``W_3``'s rows of two words: a read meets the
    write of its word in the same cycle, and takes it through the transparent read (read with
    no bypass, the old word comes and the trace differs)."""
    cfg = config_mod.from_dict(dict(sizes=sizes, lanes=4, batch=2, t1=3, t2=2, lrs=[0.5] * (len(sizes) - 1)))
    x, y = random_data(cfg, np.random.default_rng(len(sizes) + sizes[2]), batches=2)
    assert_exact_and_on_schedule(cfg, x, y)


@pytest.mark.parametrize("sizes", [[40, 36, 10], pytest.param([20, 36, 18, 10], marks=pytest.mark.slow)])
def test_thirty_two_lanes_with_their_trees_are_bit_exact_and_on_schedule(sizes):
    """P = 32: the shared operands read ahead through two-level trees (``distribution.lead``),
    the row ends broadcast to the accumulators; the counters equal the schedule model's."""
    cfg = config_mod.from_dict(dict(sizes=sizes, lanes=32, batch=2, t1=3, t2=2, lrs=[0.5] * (len(sizes) - 1),
                                    fixed={"rounding": "stochastic"}))
    x, y = random_data(cfg, np.random.default_rng(len(sizes)), batches=2)
    assert_exact_and_on_schedule(cfg, x, y)


def test_one_design_runs_every_estimator():
    """One elaborated core trains with each estimator in turn, only its program changing; the
    fixed-point model does the same with its random streams running on."""
    base = config_mod.from_dict(dict(sizes=[9, 13, 5], lanes=4, batch=4, t1=5, t2=3, lrs=[0.6, 0.4],
                                     estimator="symmetric", seed=11))
    rng = np.random.default_rng(5)
    x, y = random_data(base, rng, batches=6)
    rtl, fixed = RtlTrainer(base), FixedTrainer(base)
    for k, estimator in enumerate(("one-sided", "random-sign", "symmetric", "random-sign", "one-sided")):
        cfg = base.replace(estimator=estimator)
        rtl.config = fixed.config = cfg
        fixed.spec = FixedSpec.from_config(cfg)
        rtl.driver.load_program(programs.training(estimator, cfg.t1, cfg.t2))
        batch = slice(4 * k, 4 * k + 4)
        assert np.array_equal(rtl.train_batch(x[batch], y[batch]), fixed.train_batch(x[batch], y[batch]))
        got = rtl.driver.read_weights()
        for name, want in fixed.params.items():
            assert np.array_equal(got[name], want.numpy()), f"{estimator}: {name} differs"


def test_inference_program_predicts_like_the_model():
    cfg = config_mod.from_dict(dict(sizes=[11, 7, 6, 4], lanes=2, batch=4, t1=6, t2=2, lrs=[0.5, 0.5, 0.5],
                                    activation="my_sigmoid"))
    rng = np.random.default_rng(9)
    x, y = random_data(cfg, rng, batches=2)
    rtl, fixed = RtlTrainer(cfg), FixedTrainer(cfg)
    for trainer in (rtl, fixed):
        trainer.train_batch(x[:4], y[:4])
    assert np.array_equal(rtl.predict(x[:7]), fixed.predict(x[:7]))   # 7: the last run is padded
    # and training goes on with the training program reloaded
    assert np.array_equal(rtl.train_batch(x[4:], y[4:]), fixed.train_batch(x[4:], y[4:]))


@pytest.mark.parametrize("rounding", ["nearest", "stochastic"])
def test_a_frozen_layer_keeps_its_weights_and_the_others_train_exactly(rounding):
    """``lr = 0`` (``lr_q = 0``) freezes a layer in the update; the next layer's large rate
    makes the net shift ``S - L`` of the update's rounding negative (a left shift)."""
    cfg = config_mod.from_dict(dict(sizes=[6, 5, 3], lanes=4, batch=2, t1=3, t2=2, lrs=[0.0, 8.0],
                                    fixed={"rounding": rounding}))
    rng = np.random.default_rng(21)
    x, y = random_data(cfg, rng, batches=2)
    rtl, fixed = RtlTrainer(cfg), FixedTrainer(cfg)
    before = rtl.driver.read_weights()
    for k in range(2):
        batch = slice(2 * k, 2 * k + 2)
        assert np.array_equal(rtl.train_batch(x[batch], y[batch]), fixed.train_batch(x[batch], y[batch]))
    got = rtl.driver.read_weights()
    assert np.array_equal(got["W1"], before["W1"]) and np.array_equal(got["b1"], before["b1"])
    assert not np.array_equal(got["W2"], before["W2"])
    for name, want in fixed.params.items():
        assert np.array_equal(got[name], want.numpy()), name


# (at 32, a region's words (64 with two banks) are gathered in groups; the iCEBreaker's b_2
# follows b_1 in one memory)
@pytest.mark.parametrize("lanes, board", [(4, "ulx3s-85f"), (32, "ulx3s-85f"), (4, "icebreaker")])
def test_host_port_reads_back_every_memory_it_writes(lanes, board):
    cfg = config_mod.from_dict(dict(sizes=[5, 6, 3], lanes=lanes, batch=2, lrs=[0.1, 0.1], hardware={"board": board},
                                    fixed={"weight_bits": 12, "weight_frac": 8}))
    rtl = RtlTrainer(cfg)
    rng = np.random.default_rng(2)
    weights = {name: rng.integers(-2048, 2048, v.shape) for name, v in rtl.params.items()}
    # the unused lanes of each row's last word (W1: 5 of 8) go as zeros, over what was there
    # (an SPRAM powers up with no defined words)
    padding = rtl.driver.weight_addresses(1, padded=True)[:, 5:].ravel().tolist()
    rtl.driver.transport.write([(a, 0x7FF) for a in padding])
    rtl.driver.load_weights(weights)
    assert rtl.driver.transport.read(padding) == [0] * len(padding)
    got = rtl.driver.read_weights()
    for name in weights:
        assert np.array_equal(got[name], weights[name]), name
    xq = rng.integers(0, 257, (2, 5))
    rtl.driver.load_batch(xq, np.array([2, 0]))
    assert np.array_equal(rtl.driver.read_inputs(), xq)
    assert rtl.driver.register(Reg.STATUS) == 0   # idle, not done: nothing ran yet
    # the weights sign-extend through the 32-bit bus
    assert to_signed(rtl.driver.transport.read([address(layer_region(1, "W"), 0)])[0]) == weights["W1"][0, 0]


@pytest.mark.slow
def test_core_runs_the_digits_preset_on_schedule():
    """One mini-batch of the real preset (digits, P = 16): predictions, weights and cycles.
    Board-sized: 265 s in Amaranth's simulator, a third of the default suite's 2-core time, so
    slow; the random configs are the default suite's cases of the same checks."""
    cfg = config_mod.load("digits").replace(lanes=16)
    data = data_mod.load("digits")
    rtl, fixed = RtlTrainer(cfg), FixedTrainer(cfg)
    x, y = data.train_x[:16], data.train_y[:16]
    assert np.array_equal(rtl.train_batch(x, y), fixed.train_batch(x, y))
    got = rtl.driver.read_weights()
    for name, want in fixed.params.items():
        assert np.array_equal(got[name], want.numpy()), name
    model = schedule.program_cycles(rtl.hw, rtl.training_program)
    assert rtl.cycles[0]["cycles"] == model.cycles
    assert rtl.driver.register(Reg.STATUS) == 2   # done, idle


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6, 50))
def test_more_random_configs(seed):
    """The slow suite's 44 more seeds (50 in all with the default suite's)."""
    test_random_config_trace_is_bit_exact_and_on_schedule(seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_more_random_icebreaker_configs(seed):
    """The iCEBreaker's gateware on random configs, half of them one sample at a time (its
    direct accumulators, counted sweep addresses, narrow counters, labels in a block RAM or in
    logic cells): bit-exact and on schedule."""
    rng = np.random.default_rng(4000 + seed)
    hardware = {"board": "icebreaker", "pairs": bool(seed % 2), "label_block_ram": seed % 4 != 0}
    cfg = random_gateware_config(rng, hardware=hardware)
    if not cfg.hardware.pairs:     # (the SPRAM's one port: a cycle for each write)
        cfg = cfg.replace(batch=max(cfg.batch, 2))
    elif cfg.batch < 4:
        cfg = cfg.replace(batch=4)
    x, y = random_data(cfg, rng, batches=2)
    assert_exact_and_on_schedule(cfg, x, y)


@pytest.mark.slow
def test_digits_trace_of_32_samples_is_bit_exact(tmp_path):
    """Two updates of the digits preset (P = 4), through the CLI, decided by ``epfpga compare``."""
    import subprocess
    import sys
    for backend in ("fixed", "rtl"):
        proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "trace", "--config", str(_digits_p4(tmp_path)),
                               "--backend", backend, "--samples", "32", "--out", str(tmp_path / f"{backend}.npz")],
                              capture_output=True, text=True, timeout=3000)
        assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "compare", str(tmp_path / "fixed.npz"),
                           str(tmp_path / "rtl.npz")], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("identical"), proc.stdout


def _digits_p4(tmp_path):
    path = tmp_path / "digits-p4.toml"
    path.write_text('preset = "digits"\nlanes = 4\n')
    return path


def _stochastic_config(**changes) -> config_mod.Config:
    cfg = dict(sizes=[6, 7, 3], lanes=4, batch=2, lrs=[0.5, 0.5], t1=3, t2=2, estimator="random-sign",
               fixed={"rounding": "stochastic"}, seed=5)
    return config_mod.from_dict({**cfg, **changes})


@pytest.mark.parametrize("board", ["ulx3s-85f", "icebreaker"])
def test_prng_states_read_back_and_restore_a_run_exactly(board):
    """The streams start from the documented seeds; states written by the host are the ones the
    next mini-batch draws from (a checkpoint's restore), and read back as the model's after it
    (both read a state at the pick, the ULX3S through the streams' own read port: reads back
    to back)."""
    from epfpga.golden.prng import SIGN_STREAM, stream_seed
    cfg = _stochastic_config(hardware={"board": board})
    rng = np.random.default_rng(4)
    x, y = random_data(cfg, rng, 2)
    rtl, model = RtlTrainer(cfg), FixedTrainer(cfg)
    start = rtl.driver.read_prng()
    assert start.tolist() == [*(stream_seed(5, l) for l in range(4)), stream_seed(5, SIGN_STREAM)]
    states = rng.integers(1, 1 << 32, 5, dtype=np.uint64)
    rtl.driver.load_prng(states)
    assert np.array_equal(rtl.driver.read_prng(), states)
    model.streams.state[:] = states[:4]
    model.signs.state = int(states[4])
    for b in range(2):
        batch = slice(2 * b, 2 * b + 2)
        assert np.array_equal(rtl.train_batch(x[batch], y[batch]), model.train_batch(x[batch], y[batch]))
        assert rtl.driver.read_prng().tolist() == [*model.streams.state.tolist(), model.signs.state]
    got = rtl.driver.read_weights()
    for name, value in model.params.items():
        assert np.array_equal(got[name], value.numpy()), name
    rtl.close()


def test_prng_states_are_not_writable_while_the_core_runs():
    from epfpga.contract.address_map import Region
    from epfpga.hdl.core import Core
    from epfpga.contract.params import CoreParams
    from .sim_helpers import simulate
    cfg = _stochastic_config()
    core = Core(CoreParams.from_config(cfg))

    async def bench(ctx):
        ctx.set(core.we, 1)
        ctx.set(core.addr, address(Region.CONTROL, Reg.START))
        ctx.set(core.wdata, 1)
        await ctx.tick()
        ctx.set(core.addr, address(Region.PRNG, 0))
        ctx.set(core.wdata, 12345)
        await ctx.tick()
        ctx.set(core.we, 0)
        assert ctx.get(core.busy)
        ctx.set(core.re, 1)
        await ctx.tick().repeat(READ_LATENCY)
        assert ctx.get(core.rvalid) and ctx.get(core.rdata) != 12345

    simulate(core, bench)


def test_a_prng_read_on_the_ulx3s_gives_the_state_before_a_write_at_its_pick():
    """Reads of every stream back to back, one of them picked in the cycle a write of its
    stream takes effect: that read gives the state before the write, the next one the new."""
    from epfpga.contract.address_map import Region
    from epfpga.contract.params import CoreParams
    from epfpga.golden.prng import SIGN_STREAM, stream_seed
    from epfpga.hdl.core import Core
    from .sim_helpers import simulate
    params = CoreParams.from_config(_stochastic_config(hardware={"board": "ulx3s-85f"}))
    P, core = params.lanes, Core(params)
    seeds = [*(stream_seed(5, l) for l in range(P)), stream_seed(5, SIGN_STREAM)]
    pick = READ_LATENCY - 1                         # the cycle after a request that picks its answer
    requests = {c: c for c in range(P)} | {P + 1: P, P + 2: 1}   # cycle: the stream read
    write_at = 1 + pick                             # stream 1's read is picked as it is written
    got = []

    async def bench(ctx):
        for cycle in range(P + 3 + READ_LATENCY):
            ctx.set(core.re, cycle in requests)
            ctx.set(core.we, cycle == write_at)
            ctx.set(core.wdata, 12345)
            ctx.set(core.addr, address(Region.PRNG, 1 if cycle == write_at else requests.get(cycle, 0)))
            await ctx.tick()
            if ctx.get(core.rvalid):
                got.append(ctx.get(core.rdata))

    assert write_at not in requests
    simulate(core, bench)
    assert got == [*seeds[:P], seeds[P], 12345]


def test_the_idle_input_bank_loads_while_the_core_trains_on_the_other():
    """Double buffering: mini-batch 1 goes into bank 1 while the core trains on bank 0; the
    running bank refuses writes; the two runs equal the model's two mini-batches."""
    from epfpga.contract.address_map import Region
    from epfpga.firmware.driver import HostDriver
    from epfpga.hdl.core import Core
    from epfpga.contract.params import CoreParams
    from epfpga.verification.bus import AmaranthPins, BusDriver
    from .sim_helpers import simulate
    cfg = _stochastic_config(estimator="symmetric", batch=4)
    hw = CoreParams.from_config(cfg)
    rng = np.random.default_rng(9)
    x, y = random_data(cfg, rng, 2)
    model = FixedTrainer(cfg)
    want = [model.train_batch(x[:4], y[:4]), model.train_batch(x[4:], y[4:])]
    core = Core(hw)
    pairs = {}

    class Record:   # collects the driver's bus writes for the testbench to replay
        def write(self, items):
            pairs.setdefault("now", []).extend(items)

    driver = HostDriver(hw, Record())
    driver.load_weights({k: v.numpy() for k, v in FixedTrainer(cfg).params.items()})
    driver.load_batch(hw.spec.quantise_input(x[:4]).numpy(), y[:4], bank=0)
    first = pairs.pop("now")
    driver.load_batch(hw.spec.quantise_input(x[4:]).numpy(), y[4:], bank=1)
    second = pairs.pop("now")
    driver.load_batch(np.zeros((4, 6), dtype=np.int64), np.zeros(4, dtype=np.int64), bank=0)
    clobber = pairs.pop("now")
    got = []

    async def bench(ctx):
        pins = AmaranthPins(ctx, core)
        bus = BusDriver(pins, hw.layers)
        await bus.write(first)
        for bank, loads in ((0, second + clobber), (1, [])):
            await bus.write([(address(Region.CONTROL, Reg.START), 1 | bank << 1)])
            assert pins.get("busy")
            await bus.write(loads)   # bank 1 (and the refused bank-0 zeros) while bank 0 runs
            assert pins.get("busy")
            assert await pins.until_high("done", 100_000)
            got.append(await bus.read([address(Region.PRED, b) for b in range(4)]))

    simulate(core, bench)
    assert [list(g) for g in got] == [w.tolist() for w in want]


@pytest.mark.parametrize("part", ["relaxation", "update"])
def test_a_reset_during_a_run_leaves_no_state_behind(part):
    """Only the control registers have a reset (the datapath's keep their words, hdl/): a
    run reset halfway through its relaxation or in its update's last cycles, on other weights
    and inputs, changes nothing in the run after it, once the host has reloaded the weights
    and the random streams (a stream's states are in a memory where a unit serves several lanes)."""
    cfg = config_mod.from_dict(dict(sizes=[9, 13, 5], lanes=4, batch=4, t1=5, t2=3, lrs=[0.6, 0.4],
                                    fixed={"rounding": "stochastic"}, seed=3))
    rng = np.random.default_rng(17)
    x, y = random_data(cfg, rng, batches=2)
    rtl, fixed = RtlTrainer(cfg), FixedTrainer(cfg)
    initial, streams = rtl.driver.read_weights(), rtl.driver.read_prng()
    counters = schedule.program_cycles(rtl.hw, programs.training(cfg.estimator, cfg.t1, cfg.t2)).counters()
    cut = counters["cycles"] // 2 if part == "relaxation" else counters["cycles"] - 4
    rtl.driver.load_weights({name: rng.integers(-300, 300, w.shape) for name, w in initial.items()})
    rtl.driver.load_batch(rtl.spec.quantise_input(x[4:]).numpy(), y[4:])
    rtl.driver.transport.start_and_reset(cut)
    assert rtl.driver.register(Reg.STATUS) == 0      # idle again, not done
    rtl.driver.load_weights(initial)
    rtl.driver.load_prng(streams)
    assert np.array_equal(rtl.train_batch(x[:4], y[:4]), fixed.train_batch(x[:4], y[:4]))
    got = rtl.driver.read_weights()
    for name, want in fixed.params.items():
        assert np.array_equal(got[name], want.numpy()), name
