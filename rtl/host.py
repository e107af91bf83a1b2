"""Host interface: frames from the UART → commands on the configuration bus → responses.

`Host` parses the request frames of :mod:`glocal.golden.hostproto` from a byte stream,
checks CRC, opcode, length and the whole address range before it touches anything,
executes the command as a bus initiator (READ, WRITE, RESET) or as the step-control
initiator (RUN), and answers every frame with a response frame. `UartHost` puts the
UART in front of it.

The parser, executor and framer are one FSM: the link is request/response, so at most
one command is ever in flight, and a shared 1 KiB frame buffer holds the write payload
(until its CRC is known good) and then the read data (until the status is known).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from glocal.golden import hostproto as hp
from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.hostproto import Opcode, Status
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh
from glocal.rtl import bus, uart

__all__ = ["Host", "UartHost", "crc16_byte"]


def crc16_byte(m: Module, crc, byte) -> Signal:
    """:func:`glocal.golden.hostproto.crc16_byte`, unrolled into ``m``'s comb domain.

    One signal per bit step: written as one expression, each step would copy the
    previous one twice and the netlist would grow as 2**8.
    """
    step = Signal(16)
    m.d.comb += step.eq(crc ^ Cat(Const(0, 8), byte))
    for _ in range(8):
        nxt = Signal(16)
        shifted = Cat(Const(0, 1), step[:15])
        m.d.comb += nxt.eq(Mux(step[15], shifted ^ hp.CRC_POLY, shifted))
        step = nxt
    return step


def _cores(cfg, cores, mesh) -> int:
    """The number of cores of a `Host`, checked against its mesh."""
    if not isinstance(cfg, CoreConfig):
        raise TypeError(f"cfg must be a CoreConfig, not {cfg!r}")
    if mesh is not None and not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a glocal.golden.noc.Mesh or None, not {mesh!r}")
    if cores is None:
        cores = 1 if mesh is None else mesh.cores
    if not isinstance(cores, int) or not 1 <= cores <= 256:
        raise ValueError(f"cores must be an integer in [1, 256], not {cores!r}")
    if mesh is not None and mesh.cores != cores:
        raise ValueError(f"cores must be the mesh's {mesh.cores} "
                         f"({mesh.rows}×{mesh.cols}), not {cores}")
    return cores


class Host(wiring.Component):
    """Command interpreter of the host protocol.

    Parameters
    ----------
    cfg : CoreConfig
        Configuration of every core (region sizes and entry widths of the memory map).
    cores : int, optional
        Number of cores behind the bus (1…256); ``mesh.cores`` by default, 1 without a
        mesh.
    timeout_cycles : int
        Inter-byte timeout inside a frame, in clock cycles; see ``hostproto.TIMEOUT_S``.
    mesh : Mesh or None
        The network-on-chip behind the bus: sizes and widths of the routing regions (which
        do not exist without it), and the geometry PING reports.

    Members
    -------
    rx : In(stream.Signature(8))
        Received bytes. Always taken; bytes that arrive while a command executes or its
        response goes out are dropped (the host waits for each response).
    rx_error : In(1)
        Pulse from the UART: a character with a low stop bit was dropped.
    tx : Out(stream.Signature(8))
        Response bytes.
    bus : Out(bus.Signature().flip())
        Configuration bus initiator.
    ctrl : Out(bus.Control().flip())
        Step control initiator.
    idle : Out(1)
        No frame is being received, executed or answered.
    """

    def __init__(self, *, cfg: CoreConfig, cores: int | None = None, timeout_cycles: int,
                 mesh: Mesh | None = None):
        self._cores = _cores(cfg, cores, mesh)
        if not isinstance(timeout_cycles, int) or timeout_cycles < 1:
            raise ValueError(f"timeout_cycles must be a positive integer, not {timeout_cycles!r}")
        self._cfg = cfg
        self._mesh = mesh
        self._timeout = timeout_cycles
        super().__init__({
            "rx": In(stream.Signature(8)),
            "rx_error": In(1),
            "tx": Out(stream.Signature(8)),
            "bus": Out(bus.Signature().flip()),
            "ctrl": Out(bus.Control().flip()),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        cfg, cores, mesh = self._cfg, self._cores, self._mesh
        m = Module()

        # The range header goes to `arg`/`count`, not the buffer: MAX_DATA bytes are two
        # iCE40 block RAMs (MAX_PAYLOAD would be three).
        m.submodules.buf = buf = Memory(shape=8, depth=hp.MAX_DATA, init=[])
        rd = buf.read_port()
        wr = buf.write_port()

        # RESET's work list: (mask bit, region, first index, count). A job of more than
        # one entry starts at index 0, so its addresses are ``first | k`` (no adder).
        jobs = [(bit, region, first, n) for bit in hp.ResetMask
                for region, first, n in hp.reset_jobs(cfg, bit)]
        assert all(first == 0 or n == 1 for _, _, first, n in jobs), jobs

        # Widths are those of the values that can reach them: a length field over
        # MAX_PAYLOAD is refused as it arrives, so a frame's length and every index into
        # the buffer fit ``range(MAX_PAYLOAD + 1)``; a range that passes the checks has at
        # most ``8 * MAX_DATA`` entries (1-bit ones), a RESET job at most a region's size.
        n_buf = hp.MAX_PAYLOAD + 1
        k_max = max([8 * hp.MAX_DATA] + [n for *_, n in jobs])
        opcode = Signal(8)
        length = Signal(range(n_buf))
        idx = Signal(range(n_buf))   # payload byte index while receiving or sending
        crc = Signal(16)
        crc_rx = Signal(16)
        status = Signal(8)
        arg = Signal(32)             # first payload word: address, steps or reset mask
        count = Signal(16)
        timer = Signal(range(self._timeout + 1))
        k = Signal(range(k_max + 1))  # entry index within the range (or the RESET job)
        wp = Signal(range(hp.MAX_DATA + 1))   # buffer address of payload data bytes
        nbyte = Signal(2)            # byte within the current entry (entries have ≤ 4)
        word = Signal(32)
        bits = Signal(8)             # bit-packed byte being assembled
        resp_len = Signal(range(n_buf))
        cycles = Signal(32)
        frames = Signal(16)
        errors = Signal(16)
        job = Signal(range(len(jobs) + 1))
        core = Signal(range(cores + 1))
        # The short payloads (PING, STATUS, RUN, BUS_ERROR) are written into the buffer
        # from where they live, not from a copy: `info` says which one.
        info = Signal(2)
        busy_seen = Signal()         # STATUS's flag, as it was when the frame was checked
        INFO_PING, INFO_STATUS, INFO_CYCLES, INFO_INDEX = range(4)

        idx_next = Signal.like(idx)
        k_next = Signal.like(k)
        m.d.comb += [idx_next.eq(idx + 1), k_next.eq(k + 1)]
        timeout = Signal()
        m.d.comb += timeout.eq(timer == self._timeout)

        # -- the address range of READ/WRITE, decoded from the registers ----------------
        mask = arg[24:]              # RESET's mask byte, shifted in alone
        a_core = arg[memmap.CORE_SHIFT:]
        a_region = arg[memmap.REGION_SHIFT:memmap.CORE_SHIFT]
        a_index = arg[:memmap.INDEX_BITS]
        r_valid = Signal()
        r_size = Signal(range((1 << memmap.INDEX_BITS) + 1))
        r_bits = Signal()            # entries are bit-packed (1 bit wide)
        r_ebytes = Signal(3)         # bytes per entry otherwise (1…4)
        r_last = Signal(2)           # r_ebytes - 1
        with m.Switch(a_region):
            for region in Region:
                size = memmap.region_size(cfg, region, mesh)
                if size == 0:   # a routing region without a mesh: every address is unmapped
                    continue
                eb = hp.entry_bytes(memmap.region_width(cfg, region, mesh))
                with m.Case(region):
                    m.d.comb += [r_valid.eq(1), r_size.eq(size), r_bits.eq(eb == 0),
                                 r_ebytes.eq(eb), r_last.eq(max(eb, 1) - 1)]
        end = Signal(memmap.INDEX_BITS + 1)
        m.d.comb += end.eq(a_index + count)
        # A WRITE covering a read-only register: the range meets a run of them. Only
        # matters when ``end`` is inside REGS, so both bounds fit the register index width.
        ro_hit = Signal()
        nb = len(Reg).bit_length()
        ro = [int(r) for r in Reg if r not in memmap.REG_WRITABLE]
        runs = [[r, r] for r in ro[:1]]
        for r in ro[1:]:
            if r == runs[-1][1] + 1:
                runs[-1][1] = r
            else:
                runs.append([r, r])
        for lo, hi in runs:
            with m.If((a_index[:nb] <= hi) & (end[:nb] > lo)):
                m.d.comb += ro_hit.eq(1)
        # Packed size of the range: ceil(count / 8) bytes of bits, or count · ebytes
        # (ebytes ≤ 4: count · 1, 2, 3 or 4 as one addition of shifted counts).
        lhs, rhs = Signal(19), Signal(19)
        with m.If(r_bits):
            m.d.comb += [lhs.eq(count), rhs.eq(7)]
        with m.Else():
            m.d.comb += [lhs.eq(Mux(r_ebytes[0], count, 0) | Mux(r_ebytes[2], count << 2, 0)),
                         rhs.eq(Mux(r_ebytes[1], count << 1, 0))]
        total = Signal(19)
        m.d.comb += total.eq(lhs + rhs)
        packed = Mux(r_bits, total >> 3, total)
        range_ok = ((a_core < cores) & r_valid & (end <= r_size)
                    & ((opcode != Opcode.WRITE) | (a_region != Region.REGS) | ~ro_hit))

        # -- the verdict on a frame whose CRC is good (hostproto.check_request) ---------
        verdict = Signal(8)
        fixed_len = {Opcode.PING: 0, Opcode.STATUS: 0, Opcode.RUN: 4, Opcode.RESET: 1,
                     Opcode.READ: hp.RANGE_HEADER}
        with m.Switch(opcode):
            for op in Opcode:
                with m.Case(op):
                    if op in fixed_len:
                        bad_len = length != fixed_len[op]
                    else:
                        bad_len = length < hp.RANGE_HEADER
                    with m.If(bad_len):
                        m.d.comb += verdict.eq(Status.BAD_LENGTH)
                    if op is Opcode.RESET:
                        with m.Elif((mask == 0) | (mask[2:] != 0)):
                            m.d.comb += verdict.eq(Status.BAD_ARGUMENT)
                    if op in (Opcode.READ, Opcode.WRITE):
                        with m.Elif(count == 0):
                            m.d.comb += verdict.eq(Status.BAD_LENGTH)
                        with m.Elif(~range_ok):
                            m.d.comb += verdict.eq(Status.BAD_ADDRESS)
                        if op is Opcode.READ:
                            with m.Elif(packed > hp.MAX_DATA):
                                m.d.comb += verdict.eq(Status.BAD_LENGTH)
                        else:
                            # length ≥ RANGE_HEADER here (checked above).
                            with m.Elif((length - hp.RANGE_HEADER)[:len(length)] != packed):
                                m.d.comb += verdict.eq(Status.BAD_LENGTH)
            with m.Default():
                m.d.comb += verdict.eq(Status.BAD_OPCODE)

        j_bit, j_region = Signal(2), Signal(4)
        j_first, j_last = Signal(memmap.INDEX_BITS), Signal.like(k)
        with m.Switch(job):
            for i, (bit, region, first, n) in enumerate(jobs):
                with m.Case(i):
                    m.d.comb += [j_bit.eq(bit), j_region.eq(region), j_first.eq(first),
                                 j_last.eq(n - 1)]
        # ``k`` counts to a region's size, which may be 2**INDEX_BITS (a 1024×1024 core's
        # HEBB): one bit wider than an index. Only ``k < size`` reaches the address.
        reset_addr = Cat((j_first | k)[:memmap.INDEX_BITS], j_region, core[:8])
        # READ and WRITE stay inside one region (checked): the index cannot carry out.
        range_addr = Cat((a_index + k)[:memmap.INDEX_BITS], arg[memmap.INDEX_BITS:])

        def respond(code, n=0, payload=None):
            """Go and send a response with ``status = code`` and an ``n``-byte payload."""
            m.d.sync += [status.eq(code), resp_len.eq(n), idx.eq(0)]
            if payload is not None:
                m.d.sync += info.eq(payload)
            m.next = "FILL" if n else "TX_SYNC"

        def count_cycle():
            with m.If(~cycles.all()):     # RUN's cycle count saturates
                m.d.sync += cycles.eq(cycles + 1)

        # One CRC unit: fed the received byte, or the byte being sent.
        crc_in = Signal(8)
        crc_next = crc16_byte(m, crc, crc_in)
        m.d.comb += crc_in.eq(self.rx.payload)

        rx_byte = self.rx.valid
        m.d.comb += self.rx.ready.eq(1)
        m.d.comb += rd.addr.eq(idx)

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(1)
                with m.If(rx_byte & (self.rx.payload == hp.SYNC)):
                    m.d.sync += [crc.eq(hp.CRC_INIT), timer.eq(0), opcode.eq(0), idx.eq(0),
                                 wp.eq(0)]
                    m.next = "RX_OP"

            # -- receive ------------------------------------------------------------
            rx_states = ["RX_OP", "RX_LEN0", "RX_LEN1", "RX_DATA", "RX_CRC0", "RX_CRC1"]
            for state in rx_states:
                with m.State(state):
                    with m.If(self.rx_error):
                        m.d.sync += [status.eq(Status.FRAMING), timer.eq(0)]
                        m.next = "DRAIN"
                    with m.Elif(rx_byte):
                        b = self.rx.payload
                        m.d.sync += timer.eq(0)
                        if not state.startswith("RX_CRC"):
                            m.d.sync += crc.eq(crc_next)
                        if state == "RX_OP":
                            m.d.sync += opcode.eq(b)
                            m.next = "RX_LEN0"
                        elif state == "RX_LEN0":
                            m.d.sync += length[:8].eq(b)
                            m.next = "RX_LEN1"
                        elif state == "RX_LEN1":
                            m.d.sync += length[8:].eq(b)
                            full = Cat(length[:8], b)
                            with m.If(full > hp.MAX_PAYLOAD):
                                m.d.sync += status.eq(Status.BAD_LENGTH)
                                m.next = "DRAIN"
                            with m.Elif(full == 0):
                                m.next = "RX_CRC0"
                            with m.Else():
                                m.next = "RX_DATA"
                        elif state == "RX_DATA":
                            # Shifted in from the top, little-endian: after four bytes `arg`
                            # is the payload's first word. Shorter payloads are checked for
                            # their exact length before `arg` is used, and RESET's one byte
                            # is then in its top byte.
                            with m.If(idx[2:] == 0):                # bytes 0-3
                                m.d.sync += arg.eq(Cat(arg[8:], b))
                            with m.Elif(idx[1:] == 2):              # bytes 4-5
                                m.d.sync += count.eq(Cat(count[8:], b))
                            with m.Else():                          # data: at most MAX_DATA
                                m.d.comb += [wr.addr.eq(wp), wr.data.eq(b), wr.en.eq(1)]
                                m.d.sync += wp.eq(wp + 1)
                            m.d.sync += idx.eq(idx_next)
                            with m.If(idx_next == length):
                                m.next = "RX_CRC0"
                        elif state == "RX_CRC0":
                            m.d.sync += crc_rx[8:].eq(b)
                            m.next = "RX_CRC1"
                        else:
                            m.d.sync += crc_rx[:8].eq(b)
                            m.next = "VERDICT"
                    with m.Elif(timeout):
                        respond(Status.TIMEOUT)
                    with m.Else():
                        m.d.sync += timer.eq(timer + 1)

            with m.State("DRAIN"):
                # Discard the rest of a frame that cannot be taken (length over the limit,
                # a framing error) until the line has been quiet for the timeout.
                with m.If(rx_byte | self.rx_error):
                    m.d.sync += timer.eq(0)
                with m.Elif(timeout):
                    respond(status)
                with m.Else():
                    m.d.sync += timer.eq(timer + 1)

            # The frame's checks (range decode, packed size, compares) are registered
            # before CHECK acts on them: one long path less on the chip's clock.
            v_verdict, v_packed, v_crc_ok = Signal.like(verdict), Signal.like(resp_len), Signal()
            with m.State("VERDICT"):
                m.d.sync += [v_verdict.eq(verdict), v_packed.eq(packed),
                             v_crc_ok.eq(crc_rx == crc)]
                m.next = "CHECK"

            with m.State("CHECK"):
                m.d.sync += [k.eq(0), wp.eq(0), nbyte.eq(0), word.eq(0), bits.eq(0),
                             cycles.eq(0), job.eq(0), core.eq(0), busy_seen.eq(self.ctrl.busy),
                             resp_len.eq(v_packed)]
                with m.If(~v_crc_ok):
                    respond(Status.BAD_CRC)
                with m.Elif(v_verdict != Status.OK):
                    respond(v_verdict)
                with m.Else(), m.Switch(opcode):
                    with m.Case(Opcode.PING):
                        respond(Status.OK, hp.PING_BYTES, INFO_PING)
                    with m.Case(Opcode.STATUS):
                        respond(Status.OK, 5, INFO_STATUS)
                    with m.Case(Opcode.READ):
                        m.next = "RD_REQ"
                    with m.Case(Opcode.WRITE):
                        m.next = "WR_FETCH"
                    with m.Case(Opcode.RUN):
                        m.next = "RUN_START"
                    with m.Case(Opcode.RESET):
                        m.next = "RS_JOB"

            # -- READ: entries into the buffer, packed; resp_len holds the packed size ---
            with m.State("RD_REQ"):
                m.d.comb += [self.bus.req.valid.eq(1), self.bus.req.payload.addr.eq(range_addr)]
                with m.If(self.bus.req.ready):
                    m.next = "RD_RESP"
            with m.State("RD_RESP"):
                m.d.comb += self.bus.resp.ready.eq(1)
                with m.If(self.bus.resp.valid):
                    with m.If(self.bus.resp.payload.error):
                        respond(Status.BUS_ERROR, 2, INFO_INDEX)
                    with m.Else():
                        m.d.sync += [word.eq(self.bus.resp.payload.data), nbyte.eq(0)]
                        m.next = "RD_PACK"
            with m.State("RD_PACK"):
                last = k_next == count
                with m.If(r_bits):
                    newbits = bits | (word[0] << k[:3])
                    m.d.sync += [bits.eq(newbits), k.eq(k_next)]
                    with m.If((k[:3] == 7) | last):
                        m.d.comb += [wr.addr.eq(wp), wr.data.eq(newbits), wr.en.eq(1)]
                        m.d.sync += [wp.eq(wp + 1), bits.eq(0)]
                    m.next = "RD_REQ"
                with m.Else():
                    m.d.comb += [wr.addr.eq(wp), wr.data.eq(word.word_select(nbyte, 8)),
                                 wr.en.eq(1)]
                    m.d.sync += [wp.eq(wp + 1), nbyte.eq(nbyte + 1)]
                    with m.If(nbyte == r_last):
                        m.d.sync += k.eq(k_next)
                        m.next = "RD_REQ"
                with m.If(last & (r_bits | (nbyte == r_last))):
                    m.d.sync += [status.eq(Status.OK), idx.eq(0)]
                    m.next = "TX_SYNC"

            # -- WRITE: entries out of the buffer (from wp), one bus write each --------
            with m.State("WR_FETCH"):
                m.d.comb += rd.addr.eq(wp)
                m.next = "WR_TAKE"
            with m.State("WR_TAKE"):
                with m.If(r_bits):
                    m.d.sync += word.eq(rd.data.bit_select(k[:3], 1))
                    m.next = "WR_REQ"
                with m.Else():
                    # word is 0 before the first byte of an entry: bytes go in one by one.
                    m.d.sync += [word.word_select(nbyte, 8).eq(rd.data), wp.eq(wp + 1),
                                 nbyte.eq(nbyte + 1)]
                    m.next = "WR_FETCH"
                    with m.If(nbyte == r_last):
                        m.next = "WR_REQ"
            with m.State("WR_REQ"):
                m.d.comb += [self.bus.req.valid.eq(1), self.bus.req.payload.addr.eq(range_addr),
                             self.bus.req.payload.write.eq(1),
                             self.bus.req.payload.data.eq(word)]
                with m.If(self.bus.req.ready):
                    m.next = "WR_RESP"
            with m.State("WR_RESP"):
                m.d.comb += self.bus.resp.ready.eq(1)
                with m.If(self.bus.resp.valid):
                    m.d.sync += [word.eq(0), nbyte.eq(0)]
                    with m.If(self.bus.resp.payload.error):
                        respond(Status.BUS_ERROR, 2, INFO_INDEX)
                    with m.Else():
                        m.d.sync += k.eq(k_next)
                        with m.If(r_bits & (k[:3] == 7)):
                            m.d.sync += wp.eq(wp + 1)
                        with m.If(k_next == count):
                            respond(Status.OK)
                        with m.Else():
                            m.next = "WR_FETCH"

            # -- RUN: `arg` steps, each started when the chip is ready ---------------
            # `cycles` counts from the command's start until busy is seen low, then holds
            # for the response.
            with m.State("RUN_START"):
                count_cycle()
                with m.If(arg == 0):
                    m.next = "RUN_WAIT"
                with m.Elif(self.ctrl.ready):
                    m.d.comb += self.ctrl.start.eq(1)
                    m.d.sync += arg.eq(arg - 1)
            # The chip raises busy in the cycle after it takes start, so busy seen low
            # here (at least one cycle after the last start) means all steps are done.
            with m.State("RUN_WAIT"):
                with m.If(~self.ctrl.busy):
                    respond(Status.OK, 4, INFO_CYCLES)
                with m.Else():
                    count_cycle()

            # -- RESET: zero the selected regions of every core ---------------------
            with m.State("RS_JOB"):
                m.d.sync += k.eq(0)
                with m.If(job == len(jobs)):
                    m.d.sync += [job.eq(0), core.eq(core + 1)]
                    with m.If(core == cores - 1):
                        respond(Status.OK)
                with m.Elif((mask[:2] & j_bit) != 0):
                    m.next = "RS_REQ"
                with m.Else():
                    m.d.sync += job.eq(job + 1)
            with m.State("RS_REQ"):
                m.d.comb += [self.bus.req.valid.eq(1), self.bus.req.payload.addr.eq(reset_addr),
                             self.bus.req.payload.write.eq(1)]
                with m.If(self.bus.req.ready):
                    m.next = "RS_RESP"
            with m.State("RS_RESP"):
                m.d.comb += self.bus.resp.ready.eq(1)
                with m.If(self.bus.resp.valid):
                    with m.If(self.bus.resp.payload.error):
                        respond(Status.BUS_ERROR, 2, INFO_INDEX)
                    with m.Elif(k == j_last):
                        m.d.sync += job.eq(job + 1)
                        m.next = "RS_JOB"
                    with m.Else():
                        m.d.sync += k.eq(k_next)
                        m.next = "RS_REQ"

            # -- respond --------------------------------------------------------------
            with m.State("FILL"):
                ping = hp.ping_payload(cfg, cores, mesh)
                fill = Signal(8)
                with m.Switch(info):
                    with m.Case(INFO_PING), m.Switch(idx[:4]):
                        for i, byte in enumerate(ping):
                            with m.Case(i):
                                m.d.comb += fill.eq(byte)
                    with m.Case(INFO_STATUS):
                        m.d.comb += fill.eq(Cat(busy_seen, Const(0, 7), frames, errors)
                                            .word_select(idx[:3], 8))
                    with m.Case(INFO_CYCLES):
                        m.d.comb += fill.eq(cycles.word_select(idx[:2], 8))
                    with m.Case(INFO_INDEX):
                        m.d.comb += fill.eq(Mux(idx[0], k[8:], k[:8]))
                m.d.comb += [wr.addr.eq(idx), wr.data.eq(fill), wr.en.eq(1)]
                m.d.sync += idx.eq(idx_next)
                with m.If(idx_next == resp_len):
                    m.d.sync += idx.eq(0)
                    m.next = "TX_SYNC"

            sends = [("TX_SYNC", Const(hp.SYNC, 8), "TX_OP"),
                     ("TX_OP", opcode, "TX_STATUS"),
                     ("TX_STATUS", status, "TX_LEN0"),
                     ("TX_LEN0", resp_len[:8], "TX_LEN1"),
                     ("TX_LEN1", resp_len[8:], "TX_DATA"),
                     ("TX_DATA", rd.data, "TX_CRC0"),
                     ("TX_CRC0", crc[8:], "TX_CRC1"),
                     ("TX_CRC1", crc[:8], "IDLE")]
            for state, byte, after in sends:
                with m.State(state):
                    m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(byte), crc_in.eq(byte)]
                    if state == "TX_DATA":
                        with m.If(idx == resp_len):
                            # Nothing (left) to send: this cycle sends no payload byte.
                            m.d.comb += self.tx.valid.eq(0)
                            m.next = after
                        with m.Elif(self.tx.ready):
                            m.d.comb += rd.addr.eq(idx_next)
                            m.d.sync += [idx.eq(idx_next), crc.eq(crc_next)]
                    else:
                        with m.If(self.tx.ready):
                            m.next = after
                            if state == "TX_SYNC":
                                m.d.sync += crc.eq(hp.CRC_INIT)
                            elif state.startswith(("TX_OP", "TX_STATUS", "TX_LEN")):
                                m.d.sync += crc.eq(crc_next)
                            elif state == "TX_CRC1":
                                m.d.sync += frames.eq(frames + 1)
                                with m.If(status != Status.OK):
                                    m.d.sync += errors.eq(errors + 1)
        return m


class UartHost(wiring.Component):
    """`Host` behind an 8N1 UART: the chip's whole host interface.

    Parameters
    ----------
    cfg : CoreConfig
        Configuration of every core.
    cores : int, optional
        Number of cores behind the bus (default: as in `Host`).
    mesh : Mesh or None
        As in `Host`.
    clk_freq : float
        Clock frequency in Hz.
    baud : float
        Baud rate; ``clk_freq / baud`` must round to at least 4 (see `uart.divisor`).
    timeout_cycles : int, optional
        Inter-byte timeout in cycles; ``hostproto.TIMEOUT_S`` of ``clk_freq`` by default.

    Members
    -------
    rx : In(1)
        Serial line from the host (idle high).
    tx : Out(1)
        Serial line to the host (idle high).
    bus, ctrl, idle
        As in `Host`.
    """

    def __init__(self, *, cfg: CoreConfig, cores: int | None = None, clk_freq: float,
                 baud: float, timeout_cycles: int | None = None, mesh: Mesh | None = None):
        self._cfg = cfg
        self._cores = _cores(cfg, cores, mesh)
        self._mesh = mesh
        self._divisor = uart.divisor(clk_freq, baud)
        self._timeout = (round(clk_freq * hp.TIMEOUT_S) if timeout_cycles is None
                         else timeout_cycles)
        super().__init__({
            "rx": In(1, init=1),
            "tx": Out(1, init=1),
            "bus": Out(bus.Signature().flip()),
            "ctrl": Out(bus.Control().flip()),
            "idle": Out(1),
        })

    @property
    def divisor(self) -> int:
        """Clock cycles per bit."""
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        m.submodules.urx = urx = uart.Rx(divisor=self._divisor)
        m.submodules.utx = utx = uart.Tx(divisor=self._divisor)
        m.submodules.host = host = Host(cfg=self._cfg, cores=self._cores,
                                        timeout_cycles=self._timeout, mesh=self._mesh)
        m.d.comb += [urx.pin.eq(self.rx), self.tx.eq(utx.pin), host.rx_error.eq(
            urx.framing_error), self.idle.eq(host.idle)]
        wiring.connect(m, urx.o, host.rx)
        wiring.connect(m, host.tx, utx.i)
        wiring.connect(m, host.bus, wiring.flipped(self.bus))
        wiring.connect(m, host.ctrl, wiring.flipped(self.ctrl))
        return m

