"""The activation ρ_q in gateware: accumulator → state, twin of
:func:`epfpga.golden.fixed.activation.activation` (``docs/fixed-point.md`` §4)."""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams
from epfpga.golden.fixed.activation import sigmoid_table


def latency(p: CoreParams) -> int:
    """Cycles from ``u`` to ``q``: 3 where the board has the timing registers, else 2 (the input
    register left out: on the iCE40 its flip-flops, which no LUT of theirs feeds, were a logic
    cell each)."""
    return 3 if p.timing_registers else 2


def rshift_round(v, m: int):
    """``round(v, m)`` of §4 on an Amaranth value (nearest, ties up): ``(v + 2^(m-1)) >> m``,
    written as ``(v >> m)`` plus the bit below, so that where only the result's low bits are
    kept, the add is only as wide as they are."""
    if m <= 0:
        return v << -m
    return (v >> m) + v[m - 1]


def clamp(v, lo: int, hi: int):
    return Mux(v < lo, lo, Mux(v > hi, hi, v))


def _at_least(v, c: int):
    """``v >= c`` for a constant ``c`` (a signed ``v`` compared with its sign bit flipped), as
    AND and OR gates from the low bit up, which ABC maps to LUTs: as an add, each compare was a
    carry chain as wide as ``u``, with its start and end cells (``digits`` at P = 4 on the ECP5:
    162 TRELLIS_COMB more for the five activations)."""
    w = len(v)
    if v.shape().signed:
        v, c = Cat(v[:-1], ~v[-1]), c + (1 << (w - 1))
    if c <= 0:
        return Const(1)
    if c >= 1 << w:
        return Const(0)
    ge = Const(1)
    for i in range(w):
        ge = (v[i] & ge) if (c >> i) & 1 else (v[i] | ge)
    return ge


def rounded_bounds(u, m: int, lo: int, hi: int):
    """Whether ``rshift_round(u, m)`` is below ``lo`` and above ``hi``, decided from ``u``
    itself: two compares with constants (:func:`_at_least`), beside the rounding's add rather
    than after it."""
    if m <= 0:     # (u << k below lo, above hi)
        k = -m
        return u < -((-lo) >> k), u > hi >> k
    half = 1 << (m - 1)
    return ~_at_least(u, (lo << m) - half), _at_least(u, ((hi + 1) << m) - half)


class Activation(wiring.Component):
    """ρ_q of the config's activation.

    Parameters
    ----------
    params : CoreParams
        Formats (``fs``, ``fw``) and the activation.

    Attributes
    ----------
    u : In(signed(acc_bits))
        Pre-activation (``fw + fs`` fractional bits).
    q : Out(unsigned(fs + 1))
        State, :attr:`latency` (:func:`latency`) cycles after ``u``: a register holds ``u``
        where the board has the timing registers, the next the rounded pre-activation, the
        last the clamped one, the state (for ``my_sigmoid`` the table's synchronous read port,
        at the clamped index).  The rounding and the clamp take a cycle each (timing).  Where
        ``u`` is registered, whether the rounded value is below or above the clamp's range is
        decided from ``u``, beside the rounding (:func:`rounded_bounds`), so that the clamp's
        stage is a multiplexer (the compare after the rounding, into the state register's
        reset, was the ECP5 ``digits`` build's critical path, 9.4 ns), and only the bits the
        range takes are rounded.  (At 32 lanes the compares as carry chains cost 433 LUT4, but
        without them 784-128-10 did not route in 45 min: ``docs/results.md``.)
    """

    def __init__(self, params: CoreParams):
        self.params = params
        self.latency = latency(params)
        super().__init__({"u": In(signed(params.acc_bits)), "q": Out(unsigned(params.state_bits))})

    round = staticmethod(rshift_round)   # the one rounding of ρ_q (a test replaces it to break the core)

    def elaborate(self, platform) -> Module:
        m = Module()
        spec = self.params.spec
        name = self.params.activation
        if self.latency == 3:
            u = Signal.like(self.u, reset_less=True)
            m.d.sync += u.eq(self.u)
        else:
            u = self.u
        shift = spec.fw + (1 if name == "my_hard_sig" else 0)
        if name == "my_sigmoid":
            z_lo, table = sigmoid_table(spec.fs)
            lo, hi = z_lo, z_lo + len(table) - 1
        else:
            lo, hi = 0, spec.one
        if self.latency == 3:
            # the range decided from u; within it the rounded value fits the range's bits, so
            # only they are rounded (an add as wide as u was a carry chain in each unit)
            early_below, early_above = rounded_bounds(u, shift, lo, hi)
            above, below = Signal(name="above"), Signal(name="below")
            rounded = Signal(signed(max(lo.bit_length(), hi.bit_length()) + 1), reset_less=True)
            m.d.sync += [above.eq(early_above), below.eq(early_below), rounded.eq(self.round(u, shift))]
            clamped = Mux(below, lo, Mux(above, hi, rounded))
        else:
            rounded = Signal(signed(len(u) - shift + 1), reset_less=True)
            m.d.sync += rounded.eq(self.round(u, shift))
            clamped = clamp(rounded, lo, hi)
        if name == "my_sigmoid":
            rom = m.submodules.table = memory.Memory(
                shape=unsigned(self.params.state_bits), depth=len(table), init=[int(v) for v in table])
            port = rom.read_port()
            m.d.comb += [port.addr.eq(clamped - z_lo), self.q.eq(port.data)]
        else:
            q = Signal.like(self.q, reset_less=True)
            m.d.sync += q.eq(clamped)
            m.d.comb += self.q.eq(q)
        return m
