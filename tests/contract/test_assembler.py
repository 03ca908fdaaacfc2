"""The sequencer's assembler and programs."""

import re
from pathlib import Path

import pytest

from epfpga.contract import programs
from epfpga.contract.assembler import PROGRAM_DEPTH, assemble
from epfpga.contract.isa import INSTRUCTION, Nudge, Op, Slot
from epfpga.errors import UserError


def field(word: int, name: str) -> int:
    f = INSTRUCTION[name]
    return word >> f.offset & ((1 << f.width) - 1)


def test_symmetric_program_fields():
    words = programs.training("symmetric", 20, 8)
    ops = [Op(field(w, "op")) for w in words]
    assert ops == [Op.DRIVE, Op.RELAX, Op.PREDICT, Op.RELAX, Op.RELAX, Op.NEXT, Op.UPDATE, Op.HALT]
    free, plus, minus = words[1], words[3], words[4]
    assert (field(free, "imm"), field(free, "src"), field(free, "dst")) == (20, Slot.ZERO, Slot.STAR)
    assert (field(plus, "nudge"), field(plus, "src"), field(plus, "dst")) == (Nudge.PLUS, Slot.STAR, Slot.B)
    assert (field(minus, "nudge"), field(minus, "dst")) == (Nudge.MINUS, Slot.A)
    assert field(words[5], "imm") == 0 and field(words[6], "imm") == 2


def test_random_sign_and_one_sided_programs():
    rs = programs.training("random-sign", 5, 3)
    assert Op(field(rs[0], "op")) == Op.SIGN
    assert field(rs[-2], "nudge") == Nudge.SIGMA and field(rs[-2], "imm") == 1
    one = programs.training("one-sided", 5, 3)
    assert field(one[1], "dst") == Slot.A and field(one[3], "src") == Slot.A


@pytest.mark.parametrize("text, message", [
    ("jump 3\nhalt", "not a op"),
    ("relax 0 free zero -> star\nhalt", "step count"),
    ("relax 3 free zero -> zero\nhalt", "never 'zero'"),
    ("relax 3 plus b -> a\nhalt", "cannot start from slot 'b'"),
    ("relax 3 sideways zero -> star\nhalt", "not a nudge"),
    ("next nowhere\nhalt", "unknown label"),
    ("update minus 1\nhalt", "'plus' or 'sigma'"),
    ("update plus 3\nhalt", "divisor"),
    ("drive", "end with 'halt'"),
    ("a: drive\na: halt", "repeated label"),
    ("drive\n" * PROGRAM_DEPTH + "halt", "holds"),
])
def test_bad_programs_are_clear_errors(text, message):
    with pytest.raises(UserError, match=message):
        assemble(text)


def test_the_documented_encoding_and_example_are_the_assemblers():
    """``docs/protocol.md`` §8 is enough to load a program: its field table gives
    :data:`INSTRUCTION`'s offsets and widths, and its example the words the programs give."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    section = doc.split("## 8. Loading a program")[1].split("\n## ")[0]
    fields = {name: (int(first), int(last))
              for first, last, name in re.findall(r"^\| (\d+) … (\d+) \| `(\w+)` \|", section, re.M)}
    assert fields == {name: (INSTRUCTION[name].offset, INSTRUCTION[name].offset + INSTRUCTION[name].width - 1)
                      for name in ("op", "nudge", "src", "dst", "imm")}
    op_row = next(line for line in section.splitlines() if line.startswith("| 0 … 2 |"))
    assert all(f"{op.value} `{op.name.lower()}`" in op_row for op in Op)
    rows = re.findall(r"^\| (\d+) \| `([^`]+)` \| `0x([0-9A-F]{8})` \|", section, re.M)
    words = programs.training("symmetric", 20, 8)
    assert [int(w, 16) for _, _, w in rows] == words
    assert assemble("\n".join(text for _, text, _ in rows)) == words
