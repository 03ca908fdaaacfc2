"""An 8N1 UART: :class:`UARTTx` and :class:`UARTRx`, one start bit, 8 data bits LSB first, one
stop bit, no parity, each bit :func:`divisor` ticks long.

A tick is a clock cycle, or half of one where the clock is too slow for four cycles a bit
(:func:`rate`): the iCEBreaker's 12 Mbaud at 30 MHz is 2.5 cycles a bit, 5 half-cycles.  Then
the line goes through double-data-rate I/O registers, two samples and two levels a cycle, and
each cycle the UART takes two steps of the same logic, the second from the first's result."""

from __future__ import annotations

import operator

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

#: Fewest ticks per bit: the receiver samples ``divisor // 2`` ticks into a bit and needs one
#: tick after the stop bit's middle to get back to idle before the next start edge.
MIN_DIVISOR = 4
#: Largest baud error :func:`divisor` accepts: the most, relative to its own bit time, that
#: :class:`UARTRx` is built to take from a sender, back to back, so the link's whole budget.
MAX_BAUD_ERROR = 0.02
#: Ticks a cycle of the line's double-data-rate I/O registers.
DDR = 2


def _check_positive(clock_hz: float, baud: float) -> None:
    if not (clock_hz > 0 and baud > 0):
        raise ValueError(f"UART clock {clock_hz!r} Hz and baud {baud!r} must both be positive")


def rate(clock_hz: float, baud: float) -> int:
    """Ticks a clock cycle for ``baud`` from a ``clock_hz`` clock: 1, or :data:`DDR` where a
    bit would round to fewer than :data:`MIN_DIVISOR` cycles."""
    _check_positive(clock_hz, baud)
    return 1 if round(clock_hz / baud) >= MIN_DIVISOR else DDR


def divisor(clock_hz: float, baud: float, ticks: int = 1) -> int:
    """Ticks per bit for ``baud`` from a ``clock_hz`` clock, ``ticks`` ticks a cycle:
    ``round(ticks * clock_hz / baud)``.

    Parameters
    ----------
    clock_hz : float
        Frequency of the ``sync`` clock.
    baud : float
        Wanted bit rate.
    ticks : int
        Ticks a cycle, as :func:`rate` chooses.

    Returns
    -------
    int
        The ``divisor`` for :class:`UARTTx` and :class:`UARTRx`.

    Raises
    ------
    ValueError
        The divisor is below 4, or the baud rate it gives, ``ticks * clock_hz / divisor``,
        differs from ``baud`` by more than 2 %.
    """
    _check_positive(clock_hz, baud)
    tick_hz = ticks * clock_hz
    d = round(tick_hz / baud)
    achieved = tick_hz / d if d else float("inf")
    error = abs(achieved - baud) / baud
    where = (f"UART clock {clock_hz:g} Hz{'' if ticks == 1 else f' ({ticks} ticks a cycle)'}, baud {baud:g}: "
             f"divisor {d} gives {achieved:g} baud, {error:.2%} off")
    if d < MIN_DIVISOR:
        raise ValueError(f"{where}; the divisor must be at least {MIN_DIVISOR} ticks a bit")
    if error > MAX_BAUD_ERROR:
        raise ValueError(f"{where}, more than {MAX_BAUD_ERROR:.0%}")
    return d


def _check(divisor: int, ticks: int) -> tuple[int, int]:
    divisor, ticks = operator.index(divisor), operator.index(ticks)
    if divisor < MIN_DIVISOR:
        raise ValueError(f"UART divisor {divisor} must be at least {MIN_DIVISOR} ticks a bit")
    if ticks not in (1, DDR):
        raise ValueError(f"UART ticks a cycle {ticks}: 1 or {DDR}")
    return divisor, ticks


class UARTTx(wiring.Component):
    """8N1 transmitter.

    Parameters
    ----------
    divisor : int
        Ticks per bit (at least 4), as :func:`divisor` computes it.
    ticks : int
        Ticks a cycle: 1, or :data:`DDR` for a double-data-rate output register.

    Attributes
    ----------
    data : In(stream.Signature(8))
        Bytes to send.  ``ready`` is high when the line is idle and in the cycle of a frame's
        last tick, so a held ``valid`` sends frames back to back; it does not depend on
        ``valid``.  With two ticks a cycle every frame starts in a cycle's first tick.
    tx : Out(ticks)
        The serial line, high when idle; registered.  Bit ``k`` is the line in tick ``k`` of
        the cycle.
    busy : Out(1)
        High exactly in the cycles in which ``tx`` carries a frame (start bit to the end of the
        stop bit).

    Latency: the start bit begins on ``tx`` in the first tick of the cycle after the one in
    which ``valid & ready``; every bit lasts exactly ``divisor`` ticks, so a frame takes
    ``10 * divisor`` ticks and, with ``valid`` held, the next start bit follows the stop bit
    with no idle tick.
    """

    def __init__(self, divisor: int, ticks: int = 1):
        self.divisor, self.ticks = _check(divisor, ticks)
        self.State = data.StructLayout({
            "busy": 1,
            "timer": range(self.divisor),   # ticks left in the current bit, minus one
            "bits_left": range(10),         # bits of the frame after the current one
            "shreg": 9,                     # those bits, next one in bit 0
        })
        super().__init__({"data": In(stream.Signature(8)), "tx": Out(ticks, init=(1 << ticks) - 1),
                          "busy": Out(1)})

    def _tick(self, m: Module, now, line, take):
        """The state and line after one tick from ``now`` (the line ``line``); ``take`` starts a
        frame of ``data.payload``."""
        after, level = Signal(self.State), Signal()
        bit_done = now.timer == 0
        m.d.comb += [after.eq(now), level.eq(line)]
        with m.If(~bit_done):
            m.d.comb += after.timer.eq(now.timer - 1)
        with m.If(take):
            m.d.comb += [level.eq(0), after.shreg.eq(Cat(self.data.payload, 1)), after.bits_left.eq(9),
                         after.timer.eq(self.divisor - 1), after.busy.eq(1)]
        with m.Elif(now.busy & bit_done):
            with m.If(now.bits_left == 0):
                m.d.comb += after.busy.eq(0)       # the line stays high: the stop bit becomes idle
            with m.Else():
                m.d.comb += [level.eq(now.shreg[0]), after.shreg.eq(now.shreg[1:]),
                             after.bits_left.eq(now.bits_left - 1), after.timer.eq(self.divisor - 1)]
        return after, level

    def elaborate(self, platform) -> Module:
        m = Module()
        state = Signal(self.State)
        # Taking the next byte in the stop bit's last tick is what makes frames back to back.
        # Only a cycle's first tick takes one: a frame from an idle line starts there, and its
        # 10 * divisor ticks are whole cycles, so the frame after it starts there too.
        m.d.comb += self.data.ready.eq(~state.busy | ((state.timer == 0) & (state.bits_left == 0)))
        now, line, levels = state, self.tx[-1], []
        for k in range(self.ticks):
            now, line = self._tick(m, now, line, self.data.valid & self.data.ready if k == 0 else 0)
            levels.append(line)
        m.d.sync += [state.eq(now), self.tx.eq(Cat(levels)), self.busy.eq(now.busy)]
        return m


class _Rx(enum.Enum, shape=3):
    RESYNC = 0    # after a framing error or a reset: wait for the line to be high
    IDLE = 1
    START = 2
    DATA = 3
    STOP = 4


class UARTRx(wiring.Component):
    """8N1 receiver, sampling each bit once at its middle.

    ``rx`` passes through a two-flip-flop synchroniser.  A falling edge on the idle line starts
    a frame; the start bit is sampled ``divisor // 2`` ticks later and, if it is high again
    there, taken for a glitch (back to idle, nothing reported).  Each data bit and the stop bit
    are then sampled ``divisor`` ticks apart, i.e. ``divisor // 2`` ticks after their
    nominal boundaries, so each frame resynchronises on its own start edge and a sender whose
    bit time is off by 2 % is sampled inside every bit, even back to back at ``divisor = 4``.
    That holds for a start edge seen in the tick it happens; a real asynchronous edge may be
    seen one tick late, which at ``divisor = 4`` uses up all of a -2 % sender's margin (at
    divisor 16 and above a tick is small beside the 2 % drift over a frame).
    After a framing error the receiver waits for the line to be high before it looks for a
    start edge again, so a break (line held low) gives one ``error``, not one per frame time.
    A domain reset also leaves it in that wait (the synchroniser itself is not reset and keeps
    the live line), so a line held low across a reset gives nothing; at power-up the
    synchroniser reads as high, so a line low from power-up gives one ``error``.

    Parameters
    ----------
    divisor : int
        Ticks per bit (at least 4), as :func:`divisor` computes it.
    ticks : int
        Ticks a cycle: 1, or :data:`DDR` for a double-data-rate input register.

    Attributes
    ----------
    rx : In(ticks)
        The serial line, asynchronous; bit ``k`` is its sample in tick ``k`` of the cycle.
    data : Out(stream.Signature(8))
        Received bytes, each ``valid`` (with a stable ``payload``) until ``ready``.
    error : Out(1)
        One-cycle pulse: framing error, the stop bit was sampled low; the byte is dropped.
    overflow : Out(1)
        One-cycle pulse: a byte completed while the previous one was still ``valid`` and not
        taken in that cycle; the new byte is dropped, the old one stays.

    Latency: ticks are counted from 0, ``ticks`` to a cycle.  If the start bit's first tick on
    ``rx`` is tick ``t0``, its stop bit is sampled as it was on ``rx`` in tick
    ``s = t0 + 9 * divisor + divisor // 2`` (its middle), and ``data.valid`` (or ``error``, or
    ``overflow``) is high from cycle ``s // ticks + 3``: two cycles of synchroniser and one
    register.  It looks for the next start edge from the tick after that sample, before the
    stop bit's nominal end.
    """

    def __init__(self, divisor: int, ticks: int = 1):
        self.divisor, self.ticks = _check(divisor, ticks)
        self.State = data.StructLayout({
            "mode": _Rx,
            "timer": range(self.divisor),   # ticks to the next sample point
            # the data bits shift in from the top, LSB first, behind a 1 that reaches bit 0
            # with the eighth: no count of them
            "shreg": 9,
        })
        super().__init__({
            "rx": In(ticks, init=(1 << ticks) - 1), "data": Out(stream.Signature(8)),
            "error": Out(1), "overflow": Out(1),
        })

    def _tick(self, m: Module, now, line):
        """The state after one tick from ``now`` with the line at ``line``, and the tick's stop
        bit sampled low (``bad``) or high (``good``)."""
        d = self.divisor
        after, bad, good = Signal(self.State), Signal(), Signal()
        sample = now.timer == 0
        m.d.comb += after.eq(now)
        with m.If(~sample):
            m.d.comb += after.timer.eq(now.timer - 1)
        with m.Switch(now.mode):
            with m.Case(_Rx.RESYNC):
                with m.If(line):
                    m.d.comb += after.mode.eq(_Rx.IDLE)
            with m.Case(_Rx.IDLE):
                with m.If(~line):
                    # The edge tick counts as the first of the start bit: sample d // 2 in.
                    m.d.comb += [after.timer.eq(d // 2 - 1), after.mode.eq(_Rx.START)]
            with m.Case(_Rx.START):
                with m.If(sample):
                    m.d.comb += [after.timer.eq(d - 1), after.shreg.eq(1 << 8),
                                 after.mode.eq(Mux(line, _Rx.IDLE, _Rx.DATA))]
            with m.Case(_Rx.DATA):
                with m.If(sample):
                    m.d.comb += [after.timer.eq(d - 1), after.shreg.eq(Cat(now.shreg[1:], line))]
                    with m.If(now.shreg[1]):
                        m.d.comb += after.mode.eq(_Rx.STOP)
            with m.Case(_Rx.STOP):
                with m.If(sample):
                    m.d.comb += [after.mode.eq(Mux(line, _Rx.IDLE, _Rx.RESYNC)), bad.eq(~line), good.eq(line)]
        return after, bad, good

    def elaborate(self, platform) -> Module:
        m = Module()
        lines = Signal(self.ticks, init=(1 << self.ticks) - 1)
        m.submodules.rx_sync = FFSynchronizer(self.rx, lines, init=(1 << self.ticks) - 1)
        state = Signal(self.State, init={"mode": _Rx.RESYNC})
        now, bad, good = state, [], []
        for k in range(self.ticks):
            now, stop_low, stop_high = self._tick(m, now, lines[k])
            bad.append(stop_low)
            good.append(stop_high)
        m.d.sync += [state.eq(now), self.error.eq(Cat(bad).any()), self.overflow.eq(0)]
        with m.If(self.data.ready):
            m.d.sync += self.data.valid.eq(0)     # a delivery below, in the same cycle, wins
        with m.If(Cat(good).any()):
            with m.If(self.data.valid & ~self.data.ready):
                m.d.sync += self.overflow.eq(1)
            with m.Else():
                # a frame is at least 40 ticks: no later tick of the cycle shifts its byte
                m.d.sync += [self.data.payload.eq(now.shreg[1:]), self.data.valid.eq(1)]
        return m
