"""The lanes' multipliers: one place that knows the device.

Both engines multiply a signed operand ``a`` by an unsigned ``b`` (the neuron update: weight ×
state, forward and feedback; the weight update: state × state, the two products of a product
difference).  Only one engine runs at a time, so the core owns :data:`PER_LANE` multipliers a
lane and hands them to the busy engine (:class:`MultiplierBank`); the engines present operands
and take products through a :func:`request_signature` port.

A :class:`Multiplier` registers its operands and its product, so its latency is
:data:`LATENCY` cycles on every device.  On the ECP5 it is one ``MULT18X18D`` with its input
and output registers: ``synth_ecp5`` packs no fabric register into an inferred ``*``, which
then runs combinationally between fabric registers.  Elsewhere (Amaranth's simulator, the
simulators' Verilog, the iCE40, whose ``synth_ice40 -dsp`` packs the registers itself) it is a
plain ``*`` between registers.  Both forms compute the same integers.
"""

from __future__ import annotations

from amaranth import ClockSignal, Instance, Module, Shape, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .device import is_ecp5, site

LATENCY = 2      # operands registered at the first edge, the product at the second
PER_LANE = 2
DSP_BITS = 18    # MULT18X18D operands: 18-bit two's complement


def product_shape(a: Shape, b: Shape) -> Shape:
    """Exact ``a · b``: wide enough for the product of the extreme values."""
    return (Signal(a) * Signal(b)).shape()


def _fits_dsp(shape: Shape) -> bool:
    return shape.width + (0 if shape.signed else 1) <= DSP_BITS


class Multiplier(wiring.Component):
    """``p = a · b``, operands and product registered.

    Parameters
    ----------
    a_shape, b_shape : Shape
        Operand shapes.
    block : str
        Its name in a floorplan (:func:`.device.site`), ``mul{k}`` in a :class:`MultiplierBank`.

    Attributes
    ----------
    a : In(a_shape)
    b : In(b_shape)
    p : Out(product_shape(a_shape, b_shape))
        ``a · b`` of the operands presented :data:`LATENCY` cycles before.

    The ECP5 gets a ``MULT18X18D`` instance when both operands fit 18 bits two's complement;
    any other platform, or wider operands, a ``*``.
    """

    def __init__(self, a_shape: Shape, b_shape: Shape, block: str = ""):
        self.a_shape, self.b_shape, self.block = Shape.cast(a_shape), Shape.cast(b_shape), block
        super().__init__({"a": In(self.a_shape), "b": In(self.b_shape),
                          "p": Out(product_shape(self.a_shape, self.b_shape))})

    def elaborate(self, platform) -> Module:
        m = Module()
        if is_ecp5(platform) and _fits_dsp(self.a_shape) and _fits_dsp(self.b_shape):
            a, b, p = Signal(signed(DSP_BITS)), Signal(signed(DSP_BITS)), Signal(2 * DSP_BITS)
            m.d.comb += [a.eq(self.a), b.eq(self.b), self.p.eq(p)]   # sign- or zero-extended
            ports = {f"i_A{k}": a[k] for k in range(DSP_BITS)}
            ports |= {f"i_B{k}": b[k] for k in range(DSP_BITS)}
            ports |= {f"i_C{k}": 0 for k in range(DSP_BITS)}
            ports |= {f"o_P{k}": p[k] for k in range(2 * DSP_BITS)}
            for k in range(4):
                ports |= {f"i_CLK{k}": ClockSignal("sync") if k == 0 else 0, f"i_CE{k}": 1,
                          f"i_RST{k}": 0}
            m.submodules.dsp = Instance(
                "MULT18X18D",
                p_REG_INPUTA_CLK="CLK0", p_REG_INPUTB_CLK="CLK0", p_REG_OUTPUT_CLK="CLK0",
                p_RESETMODE="SYNC", p_GSR="DISABLED",
                i_SIGNEDA=1, i_SIGNEDB=1, i_SOURCEA=0, i_SOURCEB=0, **ports, **site(platform, self.block))
        else:
            a, b = Signal(self.a_shape, reset_less=True), Signal(self.b_shape, reset_less=True)
            p = Signal.like(self.p, reset_less=True)
            m.d.sync += [a.eq(self.a), b.eq(self.b), p.eq(a * b)]
            m.d.comb += self.p.eq(p)
        return m


def request_signature(count: int, a_shape: Shape, b_shape: Shape) -> wiring.Signature:
    """An engine's port onto ``count`` multipliers: operands out, products in."""
    return wiring.Signature({"a": Out(data.ArrayLayout(a_shape, count)), "b": Out(data.ArrayLayout(b_shape, count)),
                             "p": In(data.ArrayLayout(product_shape(a_shape, b_shape), count))})


class MultiplierBank(wiring.Component):
    """``count`` :class:`Multiplier` side by side.

    Parameters
    ----------
    count : int
    a_shape, b_shape : Shape

    Attributes
    ----------
    port : In(request_signature(count, a_shape, b_shape))
        Operands in, products out, :data:`LATENCY` cycles apart.
    """

    def __init__(self, count: int, a_shape: Shape, b_shape: Shape):
        self.count, self.a_shape, self.b_shape = count, a_shape, b_shape
        super().__init__({"port": In(request_signature(count, a_shape, b_shape))})

    def elaborate(self, platform) -> Module:
        m = Module()
        for k in range(self.count):
            mul = m.submodules[f"mul{k}"] = Multiplier(self.a_shape, self.b_shape, f"mul{k}")
            m.d.comb += [mul.a.eq(self.port.a[k]), mul.b.eq(self.port.b[k]), self.port.p[k].eq(mul.p)]
        return m
