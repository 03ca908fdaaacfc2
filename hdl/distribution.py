"""Registered trees between one value and many lanes: :class:`Gather` picks one lane's word,
:class:`Broadcast` carries one value to every lane.

A net from one register to every lane of a wide core spans the die: at 784-128-10, P = 32 the
weight update's operand broadcast was the critical path, 11.6 of its 13.6 ns routing.  Here no
register drives more than :data:`FANOUT` lanes or copies: a level of the tree is a register
beside each group, so each hop stays short, at the cost of the levels' cycles in the
pipeline (:func:`lead`).

Synthesis merges registers that hold the same value, which would undo the copies: the copies'
signals carry the :data:`REPLICA` attribute, and the build's script
(:data:`epfpga.yowasp.KEEP_REPLICAS`) marks their flip-flops ``keep``.
"""

from __future__ import annotations

from amaranth import Array, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .delay import delay_line

FANOUT = 16            # lanes or copies a register drives at most
REPLICA = "replica"    # the attribute of a copy that synthesis must keep


def groups(count: int) -> int:
    """Registers of :data:`FANOUT` items each that ``count`` items need."""
    return -(-count // FANOUT)


def levels(lanes: int) -> int:
    """Levels of a tree between one value and ``lanes`` lanes, each of at most :data:`FANOUT`
    branches: 1 up to :data:`FANOUT` lanes, 2 up to its square."""
    count, width = 1, lanes
    while width > FANOUT:
        width, count = groups(width), count + 1
    return count


def lead(lanes: int, registered: bool = False) -> int:
    """Cycles from one lane's word, read, to every lane's copy of it: a :class:`Gather` then a
    :class:`Broadcast`, each registered at every level but the root (0 up to :data:`FANOUT`
    lanes: the read word's register drives the multiplexer and the lanes, as a register of
    the lanes' own would; 2 up to its square); 1 up to :data:`FANOUT` lanes where the
    broadcast is ``registered`` (a board's timing registers: the gather's multiplexer and the
    lanes' operand multiplexers then are not in one cycle).  The engines read such a word this
    much before the lanes' own operands."""
    return levels(lanes) - 1 + broadcast_latency(lanes, registered)


def operand_lead(p) -> int:
    """The engines' :func:`lead` for ``p`` (a :class:`~epfpga.contract.params.CoreParams`): their
    shared operands' broadcast registered where the board has the timing registers."""
    return lead(p.lanes, p.timing_registers)


def broadcast_latency(lanes: int, registered: bool = False) -> int:
    """A :class:`Broadcast`'s latency: its levels' registers, at least one if ``registered``."""
    return max(levels(lanes) - 1, int(registered))


class GatherSignature(wiring.Signature):
    """The lanes' ``words`` and the ``select``ed lane, or ``constant`` instead where
    ``use_constant``, all in one cycle; that lane's word (or the constant) ``LATENCY`` cycles
    later, combinational from the last registers."""

    def __init__(self, lanes: int, shape):
        super().__init__({"words": In(shape).array(lanes), "select": In(range(max(2, lanes))),
                          "use_constant": In(1), "constant": In(shape), "value": Out(shape)})


class Gather(wiring.Component):
    """One lane's word of ``lanes``: each level a :data:`FANOUT`-to-1 multiplexer per group by
    the next bits of the select, into a register beside it but at the root, whose multiplexer
    (and the constant's) is the value: latency ``levels − 1``, 0 up to :data:`FANOUT` lanes."""

    def __init__(self, lanes: int, shape):
        self.width, self.shape = lanes, shape
        self.LATENCY = levels(lanes) - 1
        super().__init__(GatherSignature(lanes, shape))

    def elaborate(self, platform) -> Module:
        m = Module()
        bits = FANOUT.bit_length() - 1
        select = delay_line(m, self.select, self.LATENCY, "select")
        use_constant = delay_line(m, self.use_constant, self.LATENCY, "use_constant")[-1]
        constant = delay_line(m, self.constant, self.LATENCY, "constant", reset_less=True)[-1]
        level = list(self.words)
        for k in range(self.LATENCY + 1):
            picked = []
            for j in range(groups(len(level))):
                group = level[j * FANOUT:(j + 1) * FANOUT]
                at = select[k][bits * k:bits * (k + 1)]
                picked.append(Array(group)[at] if len(group) > 1 else group[0])
            if k == self.LATENCY:    # the root
                m.d.comb += self.value.eq(Mux(use_constant, constant, picked[0]))
            else:
                level = [Signal(self.shape, name=f"gather{k}_{j}", reset_less=True) for j in range(len(picked))]
                m.d.sync += [word.eq(choice) for word, choice in zip(level, picked)]
        return m


class BroadcastSignature(wiring.Signature):
    """A ``value``; each lane's copy of it ``LATENCY`` cycles later."""

    def __init__(self, lanes: int, shape):
        super().__init__({"value": In(shape), "lanes": Out(shape).array(lanes)})


class Broadcast(wiring.Component):
    """``value`` to ``lanes`` lanes through ``levels − 1`` levels of registered copies, each
    driving at most :data:`FANOUT`, the last beside each group of :data:`FANOUT` lanes: latency
    ``levels − 1`` (0 up to :data:`FANOUT` lanes: the value drives them, unless
    ``registered``: then one copy a group, latency 1; :func:`broadcast_latency`)."""

    def __init__(self, lanes: int, shape, registered: bool = False):
        self.width, self.shape = lanes, shape
        self.LATENCY = broadcast_latency(lanes, registered)
        super().__init__(BroadcastSignature(lanes, shape))

    def copies(self) -> list[int]:
        """The copies at each level, from the root's side: the last level's one per group."""
        out, width = [], self.width
        for _ in range(self.LATENCY):
            width = groups(width)
            out.insert(0, width)
        return out

    def elaborate(self, platform) -> Module:
        m = Module()
        level = [self.value]
        for k, count in enumerate(self.copies()):
            copies = [Signal(self.shape, name=f"copy{k}_{j}", reset_less=True, attrs={REPLICA: 1})
                      for j in range(count)]
            per = -(-count // len(level))
            m.d.sync += [copy.eq(level[j // per]) for j, copy in enumerate(copies)]
            level = copies
        per = -(-self.width // len(level))
        m.d.comb += [lane.eq(level[l // per]) for l, lane in enumerate(self.lanes)]
        return m
