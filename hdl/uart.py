"""An 8N1 UART: :class:`UARTTx` and :class:`UARTRx`, one start bit, 8 data bits LSB first, one
stop bit, no parity, each bit :func:`divisor` clock cycles long."""

from __future__ import annotations

import operator

from amaranth import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

#: Fewest clocks per bit: the receiver samples ``divisor // 2`` clocks into a bit and needs one
#: clock after the stop bit's middle to get back to idle before the next start edge.
MIN_DIVISOR = 4
#: Largest baud error :func:`divisor` accepts: the most, relative to its own bit time, that
#: :class:`UARTRx` is built to take from a sender, back to back, so the link's whole budget.
MAX_BAUD_ERROR = 0.02


def divisor(clock_hz: float, baud: float) -> int:
    """Clock cycles per bit for ``baud`` from a ``clock_hz`` clock: ``round(clock_hz / baud)``.

    Parameters
    ----------
    clock_hz : float
        Frequency of the ``sync`` clock.
    baud : float
        Wanted bit rate.

    Returns
    -------
    int
        The ``divisor`` for :class:`UARTTx` and :class:`UARTRx`.

    Raises
    ------
    ValueError
        The divisor is below 4, or the baud rate it gives, ``clock_hz / divisor``, differs from
        ``baud`` by more than 2 %.
    """
    if not (clock_hz > 0 and baud > 0):
        raise ValueError(f"UART clock {clock_hz!r} Hz and baud {baud!r} must both be positive")
    d = round(clock_hz / baud)
    achieved = clock_hz / d if d else float("inf")
    error = abs(achieved - baud) / baud
    where = (f"UART clock {clock_hz:g} Hz, baud {baud:g}: divisor {d} gives {achieved:g} baud, "
             f"{error:.2%} off")
    if d < MIN_DIVISOR:
        raise ValueError(f"{where}; the divisor must be at least {MIN_DIVISOR} clocks per bit")
    if error > MAX_BAUD_ERROR:
        raise ValueError(f"{where}, more than {MAX_BAUD_ERROR:.0%}")
    return d


def _check_divisor(value: int) -> int:
    value = operator.index(value)
    if value < MIN_DIVISOR:
        raise ValueError(f"UART divisor {value} must be at least {MIN_DIVISOR} clocks per bit")
    return value


class UARTTx(wiring.Component):
    """8N1 transmitter.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (at least 4), as :func:`divisor` computes it.

    Attributes
    ----------
    data : In(stream.Signature(8))
        Bytes to send.  ``ready`` is high when the line is idle and in the last cycle of a
        frame's stop bit, so a held ``valid`` sends frames back to back; it does not depend on
        ``valid``.
    tx : Out(1, init=1)
        The serial line, high when idle; registered.
    busy : Out(1)
        High exactly while ``tx`` carries a frame (start bit to the end of the stop bit).

    Latency: the start bit begins on ``tx`` one cycle after the cycle in which ``valid & ready``;
    every bit lasts exactly ``divisor`` cycles, so a frame takes ``10 * divisor`` cycles and,
    with ``valid`` held, the next start bit follows the stop bit with no idle cycle.
    """

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(divisor)
        super().__init__({"data": In(stream.Signature(8)), "tx": Out(1, init=1), "busy": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        timer = Signal(range(self.divisor))       # cycles left in the current bit, minus one
        bits_left = Signal(range(10))             # bits of the frame after the current one
        shreg = Signal(9)                         # those bits, next one in bit 0
        bit_done = timer == 0
        last_cycle = self.busy & bit_done & (bits_left == 0)
        # Taking the next byte in the stop bit's last cycle is what makes frames back to back.
        m.d.comb += self.data.ready.eq(~self.busy | last_cycle)

        with m.If(~bit_done):
            m.d.sync += timer.eq(timer - 1)
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += [
                self.tx.eq(0),
                shreg.eq(Cat(self.data.payload, 1)),
                bits_left.eq(9),
                timer.eq(self.divisor - 1),
                self.busy.eq(1),
            ]
        with m.Elif(self.busy & bit_done):
            with m.If(bits_left == 0):
                m.d.sync += self.busy.eq(0)       # tx stays high: the stop bit becomes idle
            with m.Else():
                m.d.sync += [
                    self.tx.eq(shreg[0]),
                    shreg.eq(shreg[1:]),
                    bits_left.eq(bits_left - 1),
                    timer.eq(self.divisor - 1),
                ]
        return m


class UARTRx(wiring.Component):
    """8N1 receiver, sampling each bit once at its middle.

    ``rx`` passes through a two-flip-flop synchroniser.  A falling edge on the idle line starts
    a frame; the start bit is sampled ``divisor // 2`` cycles later and, if it is high again
    there, taken for a glitch (back to idle, nothing reported).  Each data bit and the stop bit
    are then sampled ``divisor`` cycles apart, i.e. ``divisor // 2`` cycles after their
    nominal boundaries, so each frame resynchronises on its own start edge and a sender whose
    bit time is off by 2 % is sampled inside every bit, even back to back at ``divisor = 4``.
    That holds for a start edge seen in the cycle it happens; a real asynchronous edge may be
    seen one cycle late, which at ``divisor = 4`` uses up all of a -2 % sender's margin (at
    divisor 16 and above a cycle is small beside the 2 % drift over a frame).
    After a framing error the receiver waits for the line to be high before it looks for a
    start edge again, so a break (line held low) gives one ``error``, not one per frame time.
    A domain reset also leaves it in that wait (the synchroniser itself is not reset and keeps
    the live line), so a line held low across a reset gives nothing; at power-up the
    synchroniser reads as high, so a line low from power-up gives one ``error``.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (at least 4), as :func:`divisor` computes it.

    Attributes
    ----------
    rx : In(1, init=1)
        The serial line; asynchronous.
    data : Out(stream.Signature(8))
        Received bytes, each ``valid`` (with a stable ``payload``) until ``ready``.
    error : Out(1)
        One-cycle pulse: framing error, the stop bit was sampled low; the byte is dropped.
    overflow : Out(1)
        One-cycle pulse: a byte completed while the previous one was still ``valid`` and not
        taken in that cycle; the new byte is dropped, the old one stays.

    Latency: if the start bit's first cycle on ``rx`` is cycle ``c0``, the stop bit is sampled
    as it was on ``rx`` in cycle ``c0 + 9 * divisor + divisor // 2`` (its middle), and
    ``data.valid`` (or ``error``, or ``overflow``) is high from cycle
    ``c0 + 9 * divisor + divisor // 2 + 3``: two cycles of synchroniser and one register.
    It looks for the next start edge from the cycle after that sample, i.e. as it was on ``rx``
    from cycle ``c0 + 9 * divisor + divisor // 2 + 1``, before the stop bit's nominal end.
    """

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(divisor)
        super().__init__({
            "rx": In(1, init=1), "data": Out(stream.Signature(8)),
            "error": Out(1), "overflow": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        d = self.divisor
        line = Signal(init=1)
        m.submodules.rx_sync = FFSynchronizer(self.rx, line, init=1)

        timer = Signal(range(d))                  # cycles to the next sample point
        bit = Signal(range(8))
        shreg = Signal(8)                         # data bits shift in from the top: LSB first
        sample = timer == 0

        with m.If(~sample):
            m.d.sync += timer.eq(timer - 1)
        m.d.sync += [self.error.eq(0), self.overflow.eq(0)]
        with m.If(self.data.ready):
            m.d.sync += self.data.valid.eq(0)     # a delivery below, in the same cycle, wins

        with m.FSM(init="RESYNC"):
            with m.State("RESYNC"):
                with m.If(line):
                    m.next = "IDLE"
            with m.State("IDLE"):
                with m.If(~line):
                    # The edge cycle counts as the first of the start bit: sample d // 2 in.
                    m.d.sync += timer.eq(d // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(sample):
                    m.d.sync += [timer.eq(d - 1), bit.eq(0)]
                    with m.If(line):
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(sample):
                    m.d.sync += [timer.eq(d - 1), shreg.eq(Cat(shreg[1:], line)), bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(sample):
                    with m.If(~line):
                        m.d.sync += self.error.eq(1)
                        m.next = "RESYNC"
                    with m.Elif(self.data.valid & ~self.data.ready):
                        m.d.sync += self.overflow.eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [self.data.payload.eq(shreg), self.data.valid.eq(1)]
                        m.next = "IDLE"
        return m
