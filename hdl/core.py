"""The EP trainer core: memories, the two pipelines, the sequencer and the host port.

Host port: a plain synchronous bus (address map: :mod:`epfpga.contract.address_map`), whose
masters address only the words of its regions (the core decodes the bits that tell them
apart).  A write (``we``) takes effect at the clock edge; a read (``re``) answers in ``rdata`` with
``rvalid`` :data:`READ_LATENCY` = 4 cycles later; reads may be issued every cycle.  Memories
and the PRNG states are accessible only while the core is idle (``STATUS.busy`` = 0), with
one exception: the input and label memories have two banks, and the bank the running
program does not use may be written while it runs (double buffering).  The control
registers are always accessible.  Weights read back sign-extended.  A PRNG state reads as it
is ``READ_LATENCY − 1`` cycles after the request; without the timing registers (the
iCEBreaker) a PRNG write in that cycle leaves the read undefined, with them the read gives the
state before the write (the protocol engine writes only after a frame's reads are answered).
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, Value, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract import programs
from epfpga.contract.address_map import INPUT_BANKS, READ_LATENCY, REGION_SHIFT, Reg, Region, layer_region
from epfpga.contract.params import HOST_DATA_BITS, CoreParams
from epfpga.golden.prng import PRNG_BITS

from . import block_ram
from . import memories as mem
from .banked_ram import BankedRAM
from .block_ram import BlockRAM
from .cycle_counters import COUNTERS, CycleCounters, field, run_bits
from .delay import delay_line
from .distribution import Broadcast, Gather
from .multiplier import PER_LANE, MultiplierBank, fabric_registers, own_banks, update_shapes
from .neuron_update import NeuronUpdate
from .prediction import Prediction
from .sequencer import Sequencer
from .update_plan import single_port_weights
from .update_sweep import host_read_port
from .weight_update import WeightUpdate

__all__ = ["Core", "READ_LATENCY", "REGION_SHIFT", "Reg", "Region", "layer_region"]


class Core(wiring.Component):
    """EP training core of one configuration.

    Parameters
    ----------
    params : CoreParams
    program : list of int, optional
        Initial program memory; by default the training program of the config's estimator.

    Attributes
    ----------
    addr, wdata, we, re : In
        Host bus request.
    rdata, rvalid : Out
        Read answer, :data:`READ_LATENCY` cycles after ``re``.
    busy, done : Out(1)
        Status (also in ``STATUS``).
    bank : Out(1)
        Input bank of the current (or last) run.
    step_done : Out(1)
        Pulse in the cycle of each neuron step's last state write (for monitors).
    mon{n}_en, mon{n}_addr, mon{n}_data : Out
        Every write into the state memory of layer ``n``, as it happens (for monitors).
    wmon_en, wmon_block, wmon_addr, wmon_data : Out
        Every write of the weight-update pipeline, as it happens (for monitors): lane mask,
        memory (``2(n-1)`` for ``W_n``, ``2(n-1) + 1`` for ``b_n``), word address and the
        ``P`` packed values.  The update writes one memory at a time.
    """

    def __init__(self, params: CoreParams, program: list[int] | None = None):
        self.params = params
        cfg = params.config
        self.program = program if program is not None else programs.training(cfg.estimator, cfg.t1, cfg.t2)
        members = {"addr": In(32), "wdata": In(HOST_DATA_BITS), "we": In(1), "re": In(1),
                   "rdata": Out(HOST_DATA_BITS), "rvalid": Out(1), "busy": Out(1), "done": Out(1), "bank": Out(1),
                   "step_done": Out(1)}
        for n in range(1, params.layers + 1):
            spec = mem.states(params, n)
            members[f"mon{n}_en"] = Out(params.lanes)
            members[f"mon{n}_addr"] = Out(spec.addr_bits)
            members[f"mon{n}_data"] = Out(spec.shape)
        weight_specs = [wm.spec for wm in mem.weight_memories(params)]
        members |= {"wmon_en": Out(params.lanes), "wmon_block": Out(range(2 * params.layers)),
                    "wmon_addr": Out(max(s.addr_bits for s in weight_specs)), "wmon_data": Out(weight_specs[0].shape)}
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        neu = m.submodules.neuron_update = NeuronUpdate(p)
        upd = m.submodules.weight_update = WeightUpdate(p)
        seq = m.submodules.sequencer = Sequencer(p, self.program)
        predictions = [Prediction(p) for _ in range(p.halves)]   # of each sample of the pair
        for h, unit in enumerate(predictions):
            m.submodules[f"prediction{h}"] = unit
            m.d.comb += [unit.valid.eq(neu.out_valid & (neu.out_half == h)),
                         unit.unit.eq(neu.out_unit), unit.q.eq(neu.out_q)]
        self._multipliers(m, neu, upd)

        host = _HostRequest(self, seq)
        region, offset = host.region, host.offset
        # a START write: the sequencer takes it only while idle, so its own decode has no
        # busy in it (busy into the decode and back into the sequencer's state was the path of
        # a routed build); the run's bank and counters take it while idle
        start = self.we & (region == Region.CONTROL) & (offset == Reg.START) & self.wdata[0]
        started = start & host.idle
        with m.If(started):
            m.d.sync += self.bank.eq(self.wdata[1])

        # -- sequencer and engines --------------------------------------------------------------
        m.d.comb += [
            seq.start.eq(start),
            seq.n_busy.eq(neu.busy), seq.n_next.eq(neu.next_step), neu.more.eq(seq.n_more), seq.u_busy.eq(upd.busy),
            neu.start.eq(seq.n_start), neu.drive.eq(seq.n_drive), neu.src.eq(seq.n_src),
            neu.src_slots.eq(seq.n_src_slots), neu.dst_slots.eq(seq.n_dst_slots),
            neu.sample.eq(seq.sample), neu.nudge.eq(seq.n_nudge), neu.bank.eq(self.bank),
            upd.start.eq(seq.u_start), upd.negate.eq(seq.u_negate), upd.halve.eq(seq.u_halve), upd.bank.eq(self.bank),
            self.busy.eq(seq.busy), self.done.eq(seq.done), self.step_done.eq(neu.step_done),
            seq.prog.addr.eq(offset), seq.prog.data.eq(self.wdata), seq.prog.en.eq(host.write(Region.PROGRAM)),
        ]

        reads, banked, pred_rd = self._memories(m, platform, host, neu, upd, seq, predictions)
        counters = m.submodules.counters = CycleCounters(run_bits=run_bits(p, self.program))
        m.d.comb += [counters.start.eq(started), counters.busy.eq(seq.busy), counters.executing.eq(seq.executing),
                     counters.op.eq(seq.op), counters.step.eq(neu.step_done)]

        self._host_reads(m, host, reads, banked, pred_rd, seq, upd, counters)
        return m

    def _multipliers(self, m, neu, upd):
        """The lanes' multipliers: a bank for each engine where the board has them to spare
        (:func:`~.multiplier.own_banks`), else one bank, the weight update's while it runs and
        the neuron update's otherwise.  The shared bank's choice is registered (busy is decoded
        from the update's state) and reaches the lanes through a copy per 16, a cycle after
        busy (two above P = 16): the update's first operands come later, and the neuron
        update's after it has ended."""
        p, P = self.params, self.params.lanes
        bank = m.submodules.multipliers = MultiplierBank(PER_LANE * P, *p.multiplier_shapes,
                                                         registered=fabric_registers(p))
        if own_banks(p):
            own = m.submodules.update_multipliers = MultiplierBank(PER_LANE * P, *update_shapes(p))
            wiring.connect(m, neu.mul, bank.port)
            wiring.connect(m, upd.mul, own.port)
            return
        owner = m.submodules.multiplier_owner = Broadcast(P, 1)
        m.d.sync += owner.value.eq(upd.busy)
        for k in range(PER_LANE * P):
            updating = owner.lanes[k // PER_LANE]
            m.d.comb += [bank.port.a[k].eq(Mux(updating, upd.mul.a[k], neu.mul.a[k])),
                         bank.port.b[k].eq(Mux(updating, upd.mul.b[k], neu.mul.b[k]))]
        m.d.comb += [upd.mul.p.eq(bank.port.p), neu.mul.p.eq(bank.port.p)]

    def _memories(self, m, platform, host, neu, upd, seq, predictions):
        """The memories, each port driven by the engine that is busy, else by the host.  Returns
        the read ports of the regions the host reads (data registered), the second banks' ports
        of the banked ones, and the predictions' read port."""
        p = self.params
        N, P = p.layers, p.lanes
        region, offset, word, lane = host.region, host.offset, host.word, host.lane
        host_write, bank_write = host.write, host.bank_write
        reads: dict[int, wiring.PureInterface] = {}   # memory regions the host reads (registered data)
        banked: dict[int, tuple[wiring.PureInterface, mem.Banks]] = {}   # and their second banks' ports

        def host_or(port, *owners):
            """``port`` follows the request of the first busy owner, else the host's defaults
            (assigned before the call); read data goes to every owner."""
            reading = isinstance(port.signature, memory.ReadPort.Signature)
            members = ("addr", "en") if reading else ("addr", "en", "data")
            for k, (busy, request) in enumerate(owners):
                with (m.If(busy) if k == 0 else m.Elif(busy)):
                    m.d.comb += [getattr(port, name).eq(getattr(request, name)) for name in members]
            if reading:
                m.d.comb += [request.data.eq(port.data) for _, request in owners]

        def host_write_port(port, allowed):
            """The host's write of one lane's element: the word to every lane, its lane's enable."""
            m.d.comb += [port.data[l].eq(self.wdata) for l in range(P)]
            with m.If(allowed):
                m.d.comb += port.en.eq(1 << lane if P > 1 else 1)

        # (the pair's inputs in two banks, the even samples' and the odd ones'; without pairs
        # the engines' second input ports read nothing)
        input_banks = mem.input_banks(p)
        x_mem = m.submodules.x = BankedRAM(input_banks) if input_banks else BlockRAM(mem.inputs(p))
        x_rd = x_mem.read[0]
        m.d.comb += [port.addr.eq(word) for port in x_mem.read]
        host_or(x_rd, (upd.busy, upd.x), (neu.busy, neu.x))
        reads[Region.X] = x_rd
        if input_banks:
            x_rd2 = x_mem.read[1]
            host_or(x_rd2, (upd.busy, upd.x2), (neu.busy, neu.x2))
            banked[Region.X] = (x_rd2, input_banks)
        m.d.comb += x_mem.write.addr.eq(word)
        host_write_port(x_mem.write, bank_write(Region.X, p.input_bank_bit))

        y_mem = m.submodules.y = memory.Memory(shape=unsigned(p.label_bits), depth=INPUT_BANKS * p.batch, init=[])
        labels = Cat(seq.sample[:p.label_bank_bit], self.bank)
        if p.lut_ram or p.halves == 2 or not p.config.hardware.label_block_ram:
            y_rd, y_rd_odd = y_mem.read_port(domain="comb"), y_mem.read_port(domain="comb")
            m.d.comb += [y_rd.addr.eq(labels), neu.label.eq(y_rd.data),
                         y_rd_odd.addr.eq(Cat((seq.sample | 1)[:p.label_bank_bit], self.bank)),
                         neu.label_odd.eq(y_rd_odd.data)]
        else:   # (in a block RAM, read a cycle after the sample changes: its label is used far later)
            y_mem.attrs["ram_style"] = "block"
            y_rd = block_ram.block_read(m, y_mem, platform, "y")
            m.d.comb += [y_rd.addr.eq(labels), neu.label.eq(y_rd.data)]
        y_wr = y_mem.write_port()
        m.d.comb += [y_wr.addr.eq(offset), y_wr.data.eq(self.wdata), y_wr.en.eq(bank_write(Region.Y, p.label_bank_bit))]

        pred_mem = m.submodules.pred = memory.Memory(shape=unsigned(p.label_bits), depth=p.batch, init=[])
        for h, unit in enumerate(predictions):
            pred_wr = pred_mem.write_port()
            m.d.comb += [pred_wr.addr.eq(seq.sample | h), pred_wr.data.eq(unit.index), pred_wr.en.eq(seq.predict)]
        pred_rd = pred_mem.read_port()
        m.d.comb += pred_rd.addr.eq(offset)

        # the weight and the bias memories (several layers' in one, memories.weight_memories and
        # bias_memories: the host's regions W_n and b_n start at their layers' first words, each
        # with the update's ``written`` code of its block); the monitor shows a write's word
        # within its layer's block
        # (one port for the weights where the update's schedule leaves a cycle for each write)
        one_port = single_port_weights(p)
        stores = [(wm.spec, {layer_region(n, "W"): (2 * (n - 1), wm.base(n)) for n in wm.layers}, one_port,
                   (upd.weights[k], neu.weights[k], upd.weight_writes[k]))
                  for k, wm in enumerate(mem.weight_memories(p))]
        stores += [(bm.spec, {layer_region(n, "b"): (2 * (n - 1) + 1, bm.base(n)) for n in bm.layers}, False,
                    (upd.biases[k], neu.biases[k], upd.bias_writes[k])) for k, bm in enumerate(mem.bias_memories(p))]
        for spec, regions, single_port, (upd_read, neu_read, request) in stores:
            # (the host writes at the read port's address where the blocks' read side writes:
            # no multiplexer between the host's word and the update's)
            port_writes = block_ram.writes_in_blocks(spec, p.lut_ram)
            store = m.submodules[spec.name] = BlockRAM(spec, single_port=single_port, port_writes=port_writes)
            (rd,), wr = store.read, store.write
            host_word = Signal(spec.addr_bits, name=f"{spec.name.lower()}_host_word")
            m.d.comb += host_word.eq(word)
            for r, (_, base) in regions.items():
                if base:
                    with m.If(region == r):
                        m.d.comb += host_word.eq(word + base)
            m.d.comb += rd.addr.eq(host_word)
            host_or(rd, (upd.busy, upd_read), (neu.busy, neu_read))
            allowed = Cat(*(host_write(r) for r in regions)).any()
            if port_writes:
                host_write_port(store.port_write, allowed)
                m.d.comb += [wr.addr.eq(request.addr), wr.data.eq(request.data)]
                with m.If(upd.busy):
                    m.d.comb += wr.en.eq(request.en)
            else:
                m.d.comb += wr.addr.eq(host_word)
                host_write_port(wr, allowed)
                host_or(wr, (upd.busy, request))
            with m.If(upd.busy & request.en.any()):
                m.d.comb += [self.wmon_en.eq(request.en), self.wmon_block.eq(upd.written),
                             self.wmon_addr.eq(request.addr), self.wmon_data.eq(request.data)]
                for written, base in regions.values():
                    if base:
                        with m.If(upd.written == written):
                            m.d.comb += self.wmon_addr.eq(request.addr - base)
            for r in regions:
                reads[r] = rd
        for n in range(1, N + 1):
            banks = mem.state_banks(p, n)
            store = m.submodules[banks.spec.name] = BankedRAM(banks)
            (port_a, port_b), wr = store.read, store.write
            m.d.comb += [port_a.addr.eq(word), port_b.addr.eq(word)]
            host_or(port_a, (upd.busy, upd.states_a[n - 1]), (neu.busy, neu.states[n - 1]))
            host_or(port_b, (upd.busy, upd.states_b[n - 1]))
            written = neu.state_writes[n - 1]
            m.d.comb += [wr.addr.eq(written.addr), wr.data.eq(written.data), wr.en.eq(written.en),
                         getattr(self, f"mon{n}_en").eq(wr.en), getattr(self, f"mon{n}_addr").eq(wr.addr),
                         getattr(self, f"mon{n}_data").eq(wr.data)]
            reads[layer_region(n, "state")] = port_a
            banked[layer_region(n, "state")] = (port_b, banks)
        return reads, banked, pred_rd

    def _host_reads(self, m, host, reads, banked, pred_rd, seq, upd, counters):
        """The host's reads, and its writes of the PRNG states."""
        p, P = self.params, self.params.lanes
        region, offset, word, lane = host.region, host.offset, host.word, host.lane
        # -- host reads, in registered stages so that no path runs from a block RAM's slow
        # output, or from every memory, to the answer: each memory registers the address and
        # its read word (hdl/block_ram.py: the word comes block_ram.LATENCY cycles after the
        # request); the cycle after, its lane (of either bank) is picked into a register, one
        # per group of 16 words where there are more (a Gather whose root multiplexer is
        # combinational: no net from every lane, and no cycle added); then one multiplexer of
        # the regions' answers.  The request's region, register and lane follow it to the pick.
        def delayed(value, cycles: int, name: str):
            return delay_line(m, value, cycles, name)[-1]

        request = Signal(data.StructLayout({"valid": 1, "region": len(region), "reg": 8, "lane": max(1, p.lane_bits),
                                            "bank": 1}))
        m.d.comb += [request.valid.eq(self.re), request.region.eq(region), request.reg.eq(offset), request.lane.eq(lane)]
        for r, (_, banks) in banked.items():     # the bank of a banked memory's word
            with m.If(region == r):
                m.d.comb += request.bank.eq(banks.bank(word))
        pick = delayed(request, block_ram.LATENCY, "read_stage")
        pick_reg, answer_region = pick.reg, Signal.like(region)
        m.d.sync += [self.rvalid.eq(pick.valid), answer_region.eq(pick.region)]
        answers: dict[int, Value] = {}
        picked: dict[int, Value] = {}      # by port: the regions of one memory share its pick
        for r, port in reads.items():
            if id(port) not in picked:
                words = [port.data[l] for l in range(P)] + ([banked[r][0].data[l] for l in range(P)] if r in banked else [])
                gather = m.submodules[f"host_gather_{r}"] = Gather(len(words), Value.cast(words[0]).shape())
                m.d.comb += [gather.select.eq(Cat(pick.lane[:p.lane_bits], pick.bank)),
                             *[gather.words[k].eq(w) for k, w in enumerate(words)]]
                assert gather.LATENCY <= 1, "a region's words fit two levels of 16 (MAX_LANES)"
                if gather.LATENCY:
                    picked[id(port)] = gather.value
                else:
                    picked[id(port)] = Signal.like(gather.value, name=f"answer_{r}")
                    m.d.sync += picked[id(port)].eq(gather.value)
            answers[r] = picked[id(port)]
        answers[Region.PRED] = Signal.like(pred_rd.data, name="answer_pred")
        # -- PRNG states: lane l at offset l, the sign stream at offset P; the weight update
        # writes its lanes' at the request's offset ------------------------------------------------
        answers[Region.PRNG] = Signal(PRNG_BITS, name="answer_prng")
        # (the state at the pick, when a memory's word is picked: the states hold while the core
        # is idle, so only the request's offset follows it there, not 32 flip-flops a cycle;
        # where the streams have a read port of the host's, the write's decode stays off their
        # address, which ends in their state's update)
        prng_write = host.write(Region.PRNG)
        if host_read_port(p):
            m.d.comb += upd.prng_read_addr.eq(pick_reg)
            prng_at = offset
        else:
            prng_at = Mux(prng_write, offset, pick_reg)
        m.d.sync += answers[Region.PRNG].eq(Mux(pick_reg == P, seq.sign_state, upd.prng_state))
        m.d.comb += [upd.prng_addr.eq(prng_at), upd.prng_value.eq(self.wdata), seq.sign_value.eq(self.wdata),
                     upd.prng_load.eq(prng_write & (offset < P)), seq.sign_load.eq(prng_write & (offset == P))]
        answers[Region.CONTROL] = Signal(HOST_DATA_BITS, name="answer_control")
        # (the prediction memory's read port registers the first cycle)
        m.d.sync += answers[Region.PRED].eq(delayed(pred_rd.data, block_ram.LATENCY - 1, "pred_word"))
        with m.Switch(pick_reg):
            with m.Case(Reg.START):     # (write-only in effect: reads as 0)
                m.d.sync += answers[Region.CONTROL].eq(0)
            with m.Case(Reg.STATUS):
                m.d.sync += answers[Region.CONTROL].eq(Cat(seq.busy, seq.done, self.bank))
            with m.Case(Reg.NEGATIVE):
                m.d.sync += answers[Region.CONTROL].eq(seq.negative)
            for r in COUNTERS:
                with m.Case(r):
                    m.d.sync += answers[Region.CONTROL].eq(counters.counts[field(r)])
        with m.Switch(answer_region):
            for r, answer in answers.items():
                with m.Case(r):  # elements sign- or zero-extend as their shape says
                    m.d.comb += self.rdata.eq(answer)


class _HostRequest:
    """The host bus request decoded: its region, offset, the word and lane of a memory region,
    and which writes it may make (memories only while the core is idle; the bank of the inputs
    and labels the running program does not read at any time: double buffering).

    Only the bits that tell the build's regions and their words apart are decoded: the region's
    low bits, the offset's up to its largest region's size.  A master addresses its regions'
    words only (the protocol engine's checks refuse any other request, and the epoch runner
    makes none); the decode of START from all 32 bits into the counters' reset was a routed
    ULX3S build's critical path."""

    def __init__(self, core: Core, seq: Sequencer):
        p = core.params
        self.core, self.idle = core, ~seq.busy
        regions = p.host_regions()
        region_bits = max(r.region for r in regions).bit_length()
        offset_bits = min(REGION_SHIFT, max(r.limit for r in regions).bit_length())
        self.region = core.addr[REGION_SHIFT:REGION_SHIFT + region_bits]
        self.offset = core.addr[:offset_bits]
        self.word = self.offset >> p.lane_bits
        self.lane = self.offset[:p.lane_bits] if p.lanes > 1 else 0

    def write(self, region):
        return self.core.we & self.idle & (self.region == region)

    def bank_write(self, region, bit: int):
        core = self.core
        return core.we & (self.region == region) & (self.idle | (self.offset[bit] != core.bank))
