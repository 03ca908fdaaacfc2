"""The lanes' multipliers: one place that knows the device.

Both engines multiply a signed operand ``a`` by an unsigned ``b`` (the neuron update: weight ×
state, forward and feedback; the weight update: state × state, the two products of a product
difference).  Only one engine runs at a time, so the core owns :data:`PER_LANE` multipliers a
lane and hands them to the busy engine (:class:`MultiplierBank`); the engines present operands
and take products through a :func:`request_signature` port.

A :class:`Multiplier` registers its operands and its product, so its latency is
:data:`LATENCY` cycles on every device.  On the ECP5 it is one ``MULT18X18D`` with its input
and output registers: ``synth_ecp5`` packs no fabric register into an inferred ``*``, which
then runs combinationally between fabric registers.  On the iCE40 it is one ``SB_MAC16`` in
its 16 x 16 mode with its input registers and the register after the multiplier: inferred
(``synth_ice40 -dsp``), the register of an operand narrower than 16 bits, which it must
zero-extend, stayed in the fabric (the states: 9 flip-flops a multiplier, 72 of the
iCEBreaker's 5,280 logic cells at P = 4), and ``-dsp``'s ``ice40_dsp`` pass resets an
instance's registers, so the build synthesises without it (``epfpga/yowasp.py``).  Elsewhere
(Amaranth's simulator, the simulators' Verilog) it is a plain ``*`` between registers.  Every
form computes the same integers.
"""

from __future__ import annotations

from amaranth import ClockSignal, Const, Instance, Module, Shape, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .device import is_ecp5, is_ice40, site

LATENCY = 2      # operands registered at the first edge, the product at the second
PER_LANE = 2
DSP_BITS = 18    # MULT18X18D operands: 18-bit two's complement
MAC16_BITS = 16  # SB_MAC16 operands: 16 bits, each signed or unsigned


def fabric_registers(p) -> bool:
    """Whether the core at ``p`` (a :class:`~epfpga.contract.params.CoreParams`) registers its
    multipliers' products in the fabric (:class:`MultiplierBank`): where the board has the
    timing registers, up to 16 lanes.  There the placer, with no floorplan
    (``boards/floorplan.py``), leaves much of the logic far from the multipliers' rows; from
    32 lanes the floorplan puts each lane's block RAMs beside its multipliers, and 784-128-10
    at P = 32 with the registers (4,400 flip-flops more) had 8,341 arcs left to route after
    30 min, against 761 without (``docs/results.md``)."""
    return p.timing_registers and p.lanes <= 16


def bank_latency(registered: bool) -> int:
    """A :class:`MultiplierBank`'s latency: :data:`LATENCY`, and a cycle more (the product
    register) if ``registered``."""
    return LATENCY + int(registered)


def latency(p) -> int:
    """The neuron update's multipliers' latency for ``p``: :func:`bank_latency` with
    :func:`fabric_registers`."""
    return bank_latency(fabric_registers(p))


def own_banks(p) -> bool:
    """Whether each engine has a :class:`MultiplierBank` of its own, not one shared through a
    multiplexer on every operand bit: where the neuron update's products are registered in the
    fabric (:func:`fabric_registers`, the ECP5 up to 16 lanes: 4P of its 156 ``MULT18X18D``).
    In ``digits`` the operands' multiplexers were 200 LUT4 (``docs/results.md``).  The weight
    update's bank has no fabric register: its products go into the batch sum's carry chains,
    which a register would only move, at 8 × 25 flip-flops.  The iCE40UP5K's eight
    ``SB_MAC16`` are one bank at P = 4, and from 32 lanes the floorplan places one bank."""
    return fabric_registers(p)


def update_shapes(p) -> tuple[Shape, Shape]:
    """The weight update's operands: in a bank of its own (:func:`own_banks`) its signed one is
    a state difference or a state, ``state_bits + 2`` bits (the neuron update's is a weight),
    so its gathers and broadcasts carry no more; a shared bank takes both engines'."""
    a, b = p.multiplier_shapes
    return (signed(p.state_bits + 2), b) if own_banks(p) else (a, b)


def update_latency(p) -> int:
    """The weight update's multipliers' latency: :data:`LATENCY` (its own bank has no product
    register, and a shared one has none where the banks are shared)."""
    return bank_latency(fabric_registers(p) and not own_banks(p))


def product_shape(a: Shape, b: Shape) -> Shape:
    """Exact ``a · b``: wide enough for the product of the extreme values."""
    return (Signal(a) * Signal(b)).shape()


def _fits_dsp(shape: Shape) -> bool:
    return shape.width + (0 if shape.signed else 1) <= DSP_BITS


def _fits_mac16(shape: Shape) -> bool:
    return shape.width <= MAC16_BITS


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

    The ECP5 gets a ``MULT18X18D`` instance when both operands fit 18 bits two's complement,
    the iCE40 an ``SB_MAC16`` when both fit 16 bits; any other platform, or wider operands, a
    ``*``.
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
        elif is_ice40(platform) and _fits_mac16(self.a_shape) and _fits_mac16(self.b_shape):
            self._mac16(m)
        else:
            a, b = Signal(self.a_shape, reset_less=True), Signal(self.b_shape, reset_less=True)
            p = Signal.like(self.p, reset_less=True)
            m.d.sync += [a.eq(self.a), b.eq(self.b), p.eq(a * b)]
            m.d.comb += self.p.eq(p)
        return m

    def _mac16(self, m: Module) -> None:
        """One ``SB_MAC16``: the operands into its A and B registers (sign- or zero-extended to
        16 bits, as the operand is), the 32-bit product into the register after the
        multiplier (``PIPELINE_16x16_MULT_REG2``), and that register out on both halves of O."""
        signed_out = self.a_shape.signed or self.b_shape.signed
        a = Signal(signed(MAC16_BITS) if self.a_shape.signed else MAC16_BITS)
        b = Signal(signed(MAC16_BITS) if self.b_shape.signed else MAC16_BITS)
        o = Signal(signed(2 * MAC16_BITS) if signed_out else 2 * MAC16_BITS)
        m.d.comb += [a.eq(self.a), b.eq(self.b), self.p.eq(o)]
        zero = {f"i_{name}": 0 for name in ("AHOLD", "BHOLD", "CHOLD", "DHOLD", "IRSTTOP", "IRSTBOT", "ORSTTOP",
                                            "ORSTBOT", "OLOADTOP", "OLOADBOT", "ADDSUBTOP", "ADDSUBBOT",
                                            "OHOLDTOP", "OHOLDBOT", "CI", "ACCUMCI", "SIGNEXTIN")}
        m.submodules.mac16 = Instance(
            "SB_MAC16",
            p_A_REG=Const(1, 1), p_B_REG=Const(1, 1), p_PIPELINE_16x16_MULT_REG2=Const(1, 1),
            p_TOPOUTPUT_SELECT=Const(3, 2), p_BOTOUTPUT_SELECT=Const(3, 2),
            p_A_SIGNED=Const(int(self.a_shape.signed), 1), p_B_SIGNED=Const(int(self.b_shape.signed), 1),
            i_CLK=ClockSignal("sync"), i_CE=1, i_A=a, i_B=b, i_C=Const(0, MAC16_BITS), i_D=Const(0, MAC16_BITS),
            o_O=o, **zero)


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
    registered : bool
        The products go through a fabric register as well: the adder tree starts from it, not
        from the multiplier's output (a ``MULT18X18D`` sits in a row of its own, across the die
        from much of the logic: that path was a ``digits`` build's critical path, 9.36 ns, of
        which the product's way out of the multiplier 3.31).  The operands had a fabric
        register too, until the engines' operand selects no longer limited the build: without
        it ``digits`` has 265 flip-flops fewer and the same Fmax (``docs/results.md``).

    Attributes
    ----------
    port : In(request_signature(count, a_shape, b_shape))
        Operands in, products out, :attr:`latency` cycles apart: :data:`LATENCY`, one more
        if ``registered``.
    """

    def __init__(self, count: int, a_shape: Shape, b_shape: Shape, registered: bool = False):
        self.count, self.a_shape, self.b_shape, self.registered = count, a_shape, b_shape, registered
        self.latency = bank_latency(registered)
        super().__init__({"port": In(request_signature(count, a_shape, b_shape))})

    def elaborate(self, platform) -> Module:
        m = Module()
        a, b = self.port.a, self.port.b
        products = Signal.like(self.port.p, reset_less=True)
        for k in range(self.count):
            mul = m.submodules[f"mul{k}"] = Multiplier(self.a_shape, self.b_shape, f"mul{k}")
            m.d.comb += [mul.a.eq(a[k]), mul.b.eq(b[k]), products[k].eq(mul.p)]
        if self.registered:
            m.d.sync += self.port.p.eq(products)
        else:
            m.d.comb += self.port.p.eq(products)
        return m
