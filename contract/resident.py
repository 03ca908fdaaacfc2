"""Resident epochs: the training set's layout in the board's SDRAM and the epoch runner's
registers (``docs/protocol.md`` §10–11), one place for the gateware that reads them
(``hdl/resident_feeder.py``, ``hdl/epoch_runner.py``) and the host that writes them
(``firmware/resident.py``).

The layout, in 16-bit words (bytes low first)::

    header   8 words   "EPDS" (0x5045 0x5344), layout 1, inputs a sample, samples (2 words,
                       low first), 0, 0
    index    2 words a sample: the record's word address (low first)
    records  label, code bytes, then the code bytes two a word (the last padded with 0)

An epoch's permutation is a list of sample numbers, 2 words each (low first), anywhere in the
SDRAM: :data:`ResidentReg.PERM` says where.
"""

from __future__ import annotations

import enum

MAGIC = (0x5045, 0x5344)   # b"EPDS", low byte first
LAYOUT = 1
HEADER_WORDS = 8
INDEX_WORDS = 2            # an index entry, and a permutation entry


def index_address(sample: int) -> int:
    """The SDRAM word that holds the address of ``sample``'s record."""
    return HEADER_WORDS + INDEX_WORDS * sample


class ResidentReg(enum.IntEnum):
    """The epoch runner's registers (region ``RESIDENT``)."""
    PERM = 0          # SDRAM word address of the epoch's permutation
    BATCHES = 1       # mini-batches in the epoch; a write starts the epoch (every count below to 0)
    UNTIL = 2         # run until DONE reaches this (a pause where the host reads the weights)
    DONE = 3          # mini-batches trained this epoch
    ERRORS = 4        # samples of those whose free-phase prediction was not their label
    STATE = 5         # ResidentState
    TRAIN_CYCLES = 6  # cycles the core ran, this epoch
    WAIT_CYCLES = 7   # cycles the core stood idle while the runner had a mini-batch to train
    FAULT = 8         # the sample whose record was damaged (STATE.FAULT)


class ResidentState(enum.IntFlag):
    RUNNING = 1       # mini-batches to train before DONE reaches UNTIL, or one still loading
    FAULT = 2         # a record did not decode to its inputs, or its label is not a class: stopped
