"""The phase sequencer's instruction set: one 32-bit word per instruction.

Shared by the assembler (``contract/assembler.py``) and the gateware's decoder
(``hdl/sequencer.py``), so the two cannot disagree on a field.  Every instruction is a whole
operation of the core (a drive pass, ``steps`` neuron steps, a weight-update pass, …); the
sequencer starts it and waits until it is done.

===========  =====================================================================
``halt``     end of the program: the core raises ``done``
``drive``    input drive ``D_1`` of the current sample (one pass over ``W_1``)
``relax``    ``imm`` neuron steps with nudge ``nudge``, from slot ``src`` to slot ``dst``
``predict``  prediction of the current sample from the last step's output layer
``next``     next sample of the mini-batch: jump to ``imm`` unless it was the last
``sign``     draw the random sign σ from the sign stream
``update``   weight update of every layer from slots ``a`` → ``b``, sign ``nudge``, divided
             by ``c = imm`` (1, or 2 when ``a`` and ``b`` are ``2β`` apart)
===========  =====================================================================
"""

from __future__ import annotations

import enum

from amaranth.lib import data

WORD_BITS = 32
IMM_BITS = 20


class Op(enum.IntEnum):
    HALT = 0
    DRIVE = 1
    RELAX = 2
    PREDICT = 3
    NEXT = 4
    SIGN = 5
    UPDATE = 6


class Nudge(enum.IntEnum):
    """``β`` of a relaxation (``FREE``: none) or the sign ``σ_u`` of an update."""
    FREE = 0
    PLUS = 1
    MINUS = 2
    SIGMA = 3  # the random sign drawn by ``sign``


class Slot(enum.IntEnum):
    """State slots of every layer: ``ZERO`` reads as all zeros (never written); ``A`` and
    ``B`` are the current sample's saved states of the update's phases ``a`` and ``b``
    (``B`` is a relaxation's destination, never its source: only the update reads it)."""
    ZERO = 0
    STAR = 1
    A = 2
    B = 3


INSTRUCTION = data.StructLayout({
    "op": 3,
    "nudge": 2,
    "src": 2,
    "dst": 2,
    "imm": IMM_BITS,
})


def encode(op: Op, nudge: Nudge = Nudge.FREE, src: Slot = Slot.ZERO, dst: Slot = Slot.ZERO,
           imm: int = 0) -> int:
    """One instruction word (fields at the offsets of :data:`INSTRUCTION`)."""
    if not 0 <= imm < 1 << IMM_BITS:
        raise ValueError(f"immediate {imm} does not fit {IMM_BITS} bits")
    fields = {"op": int(op), "nudge": int(nudge), "src": int(src), "dst": int(dst), "imm": imm}
    word = 0
    for name, value in fields.items():
        word |= value << INSTRUCTION[name].offset
    return word
