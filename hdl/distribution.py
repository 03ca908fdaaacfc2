"""Registered trees between one value and many lanes: :class:`Gather` picks one lane's word,
:class:`Broadcast` carries one value to every lane.

A net from one register to every lane of a wide core spans the die: at 784-128-10, P = 32 the
weight update's operand broadcast was the critical path, 11.6 of its 13.6 ns routing.  Here no
register drives more than :data:`FANOUT` lanes or copies: a level of the tree is a register
beside each group, so each hop stays short, and a value that is the same for a word's whole
pass costs the pipeline only the levels' cycles.

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


def gather_levels(lanes: int) -> int:
    """Registered levels of a gather from ``lanes`` lanes (at least one: the root)."""
    levels, width = 1, lanes
    while width > FANOUT:
        width, levels = groups(width), levels + 1
    return levels


def broadcast_levels(lanes: int) -> int:
    """Registered levels below a root register to ``lanes`` lanes (none up to :data:`FANOUT`)."""
    return gather_levels(lanes) - 1


class GatherSignature(wiring.Signature):
    """The lanes' ``words`` and the ``select``ed lane, or ``constant`` instead where
    ``use_constant``, all in one cycle; that lane's word (or the constant) ``LATENCY`` cycles
    later, in a register."""

    def __init__(self, lanes: int, shape):
        super().__init__({"words": In(shape).array(lanes), "select": In(range(max(2, lanes))),
                          "use_constant": In(1), "constant": In(shape), "value": Out(shape)})


class Gather(wiring.Component):
    """One lane's word of ``lanes``: each level a :data:`FANOUT`-to-1 multiplexer per group into
    a register beside it, by the next bits of the select; the constant enters at the root.
    Latency :func:`gather_levels`."""

    def __init__(self, lanes: int, shape):
        self.width, self.shape = lanes, shape
        self.LATENCY = gather_levels(lanes)
        super().__init__(GatherSignature(lanes, shape))

    def elaborate(self, platform) -> Module:
        m = Module()
        bits = FANOUT.bit_length() - 1
        select = delay_line(m, self.select, self.LATENCY - 1, "select")
        use_constant = delay_line(m, self.use_constant, self.LATENCY - 1, "use_constant")[-1]
        constant = delay_line(m, self.constant, self.LATENCY - 1, "constant", reset_less=True)[-1]
        level = list(self.words)
        for k in range(self.LATENCY):
            root = k == self.LATENCY - 1
            picked = []
            for j in range(groups(len(level))):
                group = level[j * FANOUT:(j + 1) * FANOUT]
                at = select[k][bits * k:bits * (k + 1)]
                word = Signal(self.shape, name=f"gather{k}_{j}", reset_less=True)
                choice = Array(group)[at] if len(group) > 1 else group[0]
                m.d.sync += word.eq(Mux(use_constant, constant, choice) if root else choice)
                picked.append(word)
            level = picked
        m.d.comb += self.value.eq(level[0])
        return m


class BroadcastSignature(wiring.Signature):
    """A ``value``; each lane's copy of it ``LATENCY`` cycles later."""

    def __init__(self, lanes: int, shape):
        super().__init__({"value": In(shape), "lanes": Out(shape).array(lanes)})


class Broadcast(wiring.Component):
    """``value`` (a register's, which drives at most :data:`FANOUT` copies) to ``lanes`` lanes
    through :func:`broadcast_levels` levels of copies, the last beside each group of
    :data:`FANOUT` lanes: latency :func:`broadcast_levels` (0 up to :data:`FANOUT` lanes: the
    value's register drives them)."""

    def __init__(self, lanes: int, shape):
        self.width, self.shape = lanes, shape
        self.LATENCY = broadcast_levels(lanes)
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
