"""Words into the board's SDRAM, checked by the device and resumable.

The words go a chunk at a time.  Before a chunk is sent, the device's checksum of its range
(region ``SDRAM_CRC``: :func:`zlib.crc32` of the words the chip holds) is compared with the
host's: a chunk the SDRAM holds already is skipped, so an upload that was cut off resumes where
it stopped, and the same data set uploaded again sends nothing.  After a chunk is written its
checksum must match, or the upload stops, naming the range.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from epfpga.contract.address_map import Region, address
from epfpga.contract.sdram import ULX3S_SDRAM

from .link import LinkError

CHUNK_WORDS = 1 << 15          # 64 KB: a few hundred milliseconds of link at 3 Mbaud
FIRST, COUNT, CRC = 0, 1, 2    # the SDRAM_CRC registers (hdl/sdram_crc.py)


@dataclass
class UploadReport:
    words: int
    chunks: int
    sent: int       # chunks written
    skipped: int    # chunks the SDRAM held already


def words_crc(words: np.ndarray) -> int:
    """The host's twin of the device's checksum: CRC-32 of the words, low byte first."""
    return zlib.crc32(np.asarray(words, dtype="<u2").tobytes())


def device_crc(transport, first: int, count: int) -> int:
    """The device's checksum of SDRAM words ``[first, first + count)``."""
    transport.write([(address(Region.SDRAM_CRC, FIRST), first), (address(Region.SDRAM_CRC, COUNT), count)])
    return transport.read([address(Region.SDRAM_CRC, CRC)])[0]


def upload(transport, words: np.ndarray, first: int = 0, chunk_words: int = CHUNK_WORDS,
           progress: Callable[[int], None] | None = None) -> UploadReport:
    """Make SDRAM words ``[first, first + len(words))`` equal ``words`` (16-bit values) over
    ``transport`` (a :class:`~.link.LinkTransport` of a build with the SDRAM); ``progress``
    is called with the words of each chunk done."""
    words = np.asarray(words, dtype=np.uint16)
    capacity = ULX3S_SDRAM.words
    if first + len(words) > capacity:
        raise LinkError(f"{2 * len(words):,} bytes from word {first:,} do not fit the SDRAM's "
                        f"{ULX3S_SDRAM.bytes:,} bytes ({ULX3S_SDRAM.name})")
    report = UploadReport(len(words), 0, 0, 0)
    for start in range(0, len(words), chunk_words):
        chunk = words[start:start + chunk_words]
        at, expected = first + start, words_crc(chunk)
        report.chunks += 1
        if device_crc(transport, at, len(chunk)) == expected:
            report.skipped += 1
        else:
            transport.write([(address(Region.SDRAM, at + k), int(v)) for k, v in enumerate(chunk)])
            got = device_crc(transport, at, len(chunk))
            if got != expected:
                raise LinkError(f"SDRAM words {at:,}-{at + len(chunk) - 1:,} hold CRC {got:08x} after the upload, "
                                f"not {expected:08x}")
            report.sent += 1
        if progress is not None:
            progress(len(chunk))
    return report
