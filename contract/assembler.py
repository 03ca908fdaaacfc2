"""Assembler for the phase sequencer (instruction set: ``contract/isa.py``).

One instruction a line; ``;`` starts a comment; ``name:`` defines a label that ``next`` may
jump to.  Operands are separated by spaces or commas::

    loop:   drive
            relax   20  free  zero -> star     ; steps, nudge, source slot -> destination slot
            predict
            relax   8   plus  star -> b
            next    loop
            update  plus 2                       ; sign (plus or sigma), c (1 or 2)
            halt

Nudges: ``free``, ``plus``, ``minus``, ``sigma``.  Slots: ``zero`` (source only), ``star``,
``a``, ``b``.  Errors raise :class:`~epfpga.errors.UserError` naming the line.
"""

from __future__ import annotations

from epfpga.errors import UserError

from .isa import IMM_BITS, Nudge, Op, Slot, encode

PROGRAM_DEPTH = 32


def _operands(line: str) -> list[str]:
    return line.replace(",", " ").replace("->", " ").split()


def assemble(text: str) -> list[int]:
    """Instruction words of a program (at most :data:`PROGRAM_DEPTH`)."""
    lines: list[tuple[int, list[str]]] = []
    labels: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        while ":" in line:
            label, line = (part.strip() for part in line.split(":", 1))
            if not label.isidentifier() or label in labels:
                raise UserError(f"line {number}: bad or repeated label '{label}'")
            labels[label] = len(lines)
        if line:
            lines.append((number, _operands(line)))
    words = [_encode(number, ops, labels) for number, ops in lines]
    if len(words) > PROGRAM_DEPTH:
        raise UserError(f"program has {len(words)} instructions, the program memory holds {PROGRAM_DEPTH}")
    if not words or Op(words[-1] & 7) != Op.HALT:
        raise UserError("a program must end with 'halt'")
    return words


def _enum(kind: type, text: str, number: int):
    try:
        return kind[text.upper()]
    except KeyError:
        choices = ", ".join(m.name.lower() for m in kind)
        raise UserError(f"line {number}: '{text}' is not a {kind.__name__.lower()} ({choices})") from None


def _int(text: str, number: int) -> int:
    if not text.isdigit() or not 1 <= int(text) < 1 << IMM_BITS:
        raise UserError(f"line {number}: '{text}' is not a step count in [1, {(1 << IMM_BITS) - 1}]")
    return int(text)


def _encode(number: int, ops: list[str], labels: dict[str, int]) -> int:
    op = _enum(Op, ops[0], number)
    arity = {Op.RELAX: 4, Op.NEXT: 1, Op.UPDATE: 2}.get(op, 0)
    if len(ops) - 1 != arity:
        raise UserError(f"line {number}: '{ops[0]}' takes {arity} operands, got {len(ops) - 1}")
    if op == Op.RELAX:
        src, dst = _enum(Slot, ops[3], number), _enum(Slot, ops[4], number)
        if dst == Slot.ZERO or src == dst:
            raise UserError(f"line {number}: a relaxation writes a slot other than its source, never 'zero'")
        if src == Slot.B:   # (phase b's slots are a bank of their own, which only the update reads)
            raise UserError(f"line {number}: a relaxation cannot start from slot 'b': only the update reads it")
        return encode(op, _enum(Nudge, ops[2], number), src, dst, _int(ops[1], number))
    if op == Op.NEXT:
        if ops[1] not in labels:
            raise UserError(f"line {number}: unknown label '{ops[1]}'")
        return encode(op, imm=labels[ops[1]])
    if op == Op.UPDATE:
        nudge = _enum(Nudge, ops[1], number)
        if nudge not in (Nudge.PLUS, Nudge.SIGMA):
            raise UserError(f"line {number}: an update's sign is 'plus' or 'sigma'")
        if ops[2] not in ("1", "2"):
            raise UserError(f"line {number}: an update's divisor c is 1 or 2, not '{ops[2]}'")
        return encode(op, nudge, imm=int(ops[2]))
    return encode(op)
