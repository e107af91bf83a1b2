"""Host block + bus-RAM fixture in Amaranth's simulator, against a Python model of both.

Frames go into the host's byte stream (no UART: that is tested on its own); every
response frame is compared byte for byte with what the model answers.
"""

import random
import struct

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from glocal.golden import hostproto as hp
from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.hostproto import Opcode, Status
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh
from glocal.rtl.host import Host
from glocal.sim.busram import BusRam
from glocal.sim.hostmodel import Model

CFG = CoreConfig(axons=16, neurons=8, lanes=4, acc_bits=12, plastic_mask=1)
CORES = 2
#: The fixture has the routing regions of this mesh (plain memories, like the others).
MESH = Mesh(rows=1, cols=CORES, depth=12, fanout=3)
TIMEOUT = 60


def run_host(frames, *, gap=0, stall=None, responder=None, cfg=CFG, mesh=MESH):
    """Send each item of ``frames`` (bytes) and collect one response frame after each.

    A ``None`` in a frame pulses ``rx_error`` (a framing error) instead of sending a byte.

    ``responder`` replaces the bus-RAM by a testbench coroutine factory (``dut`` → coro).
    """
    m = Module()
    m.submodules.host = host = Host(cfg=cfg, cores=CORES, timeout_cycles=TIMEOUT, mesh=mesh)
    if responder is None:
        m.submodules.ram = ram = BusRam(cfg=cfg, cores=CORES, mesh=mesh)
        wiring.connect(m, host.bus, ram.bus)
        wiring.connect(m, host.ctrl, ram.ctrl)
    got = []
    rx_bytes = []

    async def sender(ctx):
        for frame in frames:
            n = len(got)
            for b in frame:
                if b is None:   # the UART saw a character with a low stop bit
                    ctx.set(host.rx_error, 1)
                    await ctx.tick()
                    ctx.set(host.rx_error, 0)
                    continue
                ctx.set(host.rx.valid, 1)
                ctx.set(host.rx.payload, b)
                await ctx.tick()
                ctx.set(host.rx.valid, 0)
                if gap:
                    await ctx.tick().repeat(gap)
            for _ in range(20_000):   # a hang fails the test instead of running forever
                if len(got) > n:
                    break
                await ctx.tick()
            else:
                raise AssertionError(f"no response to frame {len(got)}: {frame!r}")

    async def receiver(ctx):
        rnd = random.Random(5)
        while True:
            ready = 1 if stall is None else int(rnd.random() > stall)
            ctx.set(host.tx.ready, ready)
            _, _, valid, byte = await ctx.tick().sample(host.tx.valid, host.tx.payload)
            if ready and valid:
                rx_bytes.append(byte)
                if len(rx_bytes) >= 5 and len(rx_bytes) == hp.response_length(rx_bytes[:5]):
                    got.append(hp.decode_response(bytes(rx_bytes)))
                    rx_bytes.clear()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(sender)
    sim.add_testbench(receiver, background=True)
    if responder is not None:
        sim.add_testbench(responder(host), background=True)
    sim.run()
    return got


def rng(region, index, count, core=0):
    return hp.range_payload(core << 24 | region << 20 | index, count)


def check(requests, got, model):
    for (opcode, payload), resp in zip(requests, got, strict=True):
        status, out = model.answer(opcode, payload)
        assert (resp.opcode, Status(resp.status)) == (opcode, status), (
            f"request {opcode:#x} {payload.hex()}: got {Status(resp.status)!r}")
        if out is not None:
            assert resp.payload == out, f"request {opcode:#x} {payload.hex()}"


def test_ping_and_status():
    reqs = [(Opcode.PING, b""), (Opcode.STATUS, b""), (0x55, b""), (Opcode.STATUS, b"")]
    got = run_host([hp.encode_request(o, p) for o, p in reqs])
    check(reqs, got, Model(CFG, CORES, MESH))
    assert hp.parse_ping(got[0].payload).mesh == MESH
    assert got[3].payload == struct.pack("<BHH", 0, 3, 1)


def test_a_host_without_a_mesh_has_no_routing_regions():
    reqs = [(Opcode.PING, b""), (Opcode.READ, rng(Region.ROUTE_PTR, 0, 1)),
            (Opcode.READ, rng(Region.ROUTE_DEST, 0, 1, core=1)), (Opcode.READ, rng(Region.S, 0, 1))]
    got = run_host([hp.encode_request(o, p) for o, p in reqs], mesh=None)
    check(reqs, got, Model(CFG, CORES))
    assert [Status(r.status) for r in got] == [Status.OK, Status.BAD_ADDRESS,
                                               Status.BAD_ADDRESS, Status.OK]
    assert hp.parse_ping(got[0].payload).mesh is None


@pytest.mark.parametrize("stall", [None, 0.5], ids=["fast", "tx-stalls"])
def test_write_then_read_back_every_region_of_every_core(stall):
    rnd = random.Random(2)
    reqs = []
    for core in range(CORES):
        for region in Region:
            width = memmap.region_width(CFG, region, MESH)
            size = memmap.region_size(CFG, region, MESH)
            first = 0 if region is not Region.REGS else Reg.VTH_SHIFT
            n = size if region is not Region.REGS else 5   # the rw registers 0..4
            n = min(n, 40)
            lo = -(1 << (width - 1)) if memmap.region_signed(region) else 0
            hi = lo + (1 << width) - 1 if width < 32 else (1 << 31) - 1
            values = [rnd.randint(lo, hi) for _ in range(n)]
            reqs.append((Opcode.WRITE, rng(region, first, n, core)
                         + hp.pack_entries(width, values)))
            reqs.append((Opcode.READ, rng(region, first, n, core)))
            # Partial ranges: odd counts and offsets exercise the bit packing.
            reqs.append((Opcode.WRITE, rng(region, first + 1, 1, core)
                         + hp.pack_entries(width, values[:1])))
            reqs.append((Opcode.READ, rng(region, first, min(n, 9), core)))
    got = run_host([hp.encode_request(o, p) for o, p in reqs], stall=stall)
    check(reqs, got, Model(CFG, CORES, MESH))


def test_run_copies_axons_and_reset_clears_state():
    reqs = [
        (Opcode.WRITE, rng(Region.AXON, 0, 16) + b"\x35\xf0"),
        (Opcode.WRITE, rng(Region.AXON, 3, 5, core=1) + b"\x1b"),
        (Opcode.WRITE, rng(Region.U, 0, 8) + hp.pack_entries(16, range(-4, 4))),
        (Opcode.WRITE, rng(Region.HEBB, 5, 2) + b"\x07\x09"),
        (Opcode.RUN, struct.pack("<I", 1)),
        (Opcode.READ, rng(Region.S, 0, 8)), (Opcode.READ, rng(Region.S, 0, 8, core=1)),
        (Opcode.READ, rng(Region.AXON, 0, 16)),
        (Opcode.RUN, struct.pack("<I", 3)),
        (Opcode.READ, rng(Region.REGS, Reg.STEPS, 1, core=1)),
        (Opcode.RESET, b"\x01"),
        (Opcode.READ, rng(Region.U, 0, 8)), (Opcode.READ, rng(Region.HEBB, 5, 2)),
        (Opcode.RESET, b"\x02"),
        (Opcode.READ, rng(Region.HEBB, 5, 2)),
        (Opcode.RUN, struct.pack("<I", 0)),
    ]
    got = run_host([hp.encode_request(o, p) for o, p in reqs])
    check(reqs, got, Model(CFG, CORES, MESH))
    cycles = [struct.unpack("<I", r.payload)[0] for r in got if r.opcode == Opcode.RUN]
    step = CFG.axons + 4
    assert step <= cycles[0] < 2 * step
    assert 3 * step <= cycles[1] < 4 * step
    assert cycles[2] < 5


def test_malformed_frames_are_answered_and_change_nothing():
    model = Model(CFG, CORES, MESH)
    setup = (Opcode.WRITE, rng(Region.WEIGHT, 0, 4) + b"\x01\x02\x03\x04")
    bad_crc = bytearray(hp.encode_request(Opcode.WRITE, rng(Region.WEIGHT, 0, 2) + b"\x09\x09"))
    bad_crc[-1] ^= 0x40
    frames = [
        hp.encode_request(*setup),
        bytes(bad_crc),
        hp.encode_request(Opcode.WRITE, rng(Region.WEIGHT, 0, 2) + b"\x09")[:-3],  # truncated
        hp.encode_request(0x42, b"\x00\x01"),
        hp.encode_request(Opcode.WRITE, rng(Region.WEIGHT, 127, 2) + b"\x09\x09"),
        hp.encode_request(Opcode.WRITE, rng(Region.WEIGHT, 0, 2, core=CORES) + b"\x09\x09"),
        hp.encode_request(Opcode.WRITE, rng(Region.REGS, Reg.STEPS, 1) + bytes(4)),
        # length field over the limit, followed by that many bytes of garbage
        bytes([hp.SYNC, Opcode.WRITE]) + struct.pack("<H", hp.MAX_PAYLOAD + 1) + bytes(300),
        hp.encode_request(Opcode.READ, rng(Region.WEIGHT, 0, 4)),
    ]
    got = run_host(frames)
    want = [Status.OK, Status.BAD_CRC, Status.TIMEOUT, Status.BAD_OPCODE, Status.BAD_ADDRESS,
            Status.BAD_ADDRESS, Status.BAD_ADDRESS, Status.BAD_LENGTH, Status.OK]
    assert [Status(r.status) for r in got] == want
    model.answer(*setup)
    assert got[-1].payload == b"\x01\x02\x03\x04"


def test_garbage_between_frames_is_ignored_and_bytes_may_trickle_in():
    frames = [b"\x00\x13\x37" + hp.encode_request(Opcode.PING),
              hp.encode_request(Opcode.READ, rng(Region.BIAS, 0, 8))]
    got = run_host(frames, gap=TIMEOUT - 2)
    assert [Status(r.status) for r in got] == [Status.OK, Status.OK]


def bus_responder(error_at):
    """A ``run_host`` responder: a bus target that answers every request at once, with
    ``error = error_at(addr)``."""
    def make(host):
        async def responder(ctx):
            while True:
                ctx.set(host.bus.req.ready, 1)
                _, _, valid, addr = await ctx.tick().sample(host.bus.req.valid,
                                                            host.bus.req.payload.addr)
                ctx.set(host.bus.req.ready, 0)
                if valid:
                    ctx.set(host.bus.resp.valid, 1)
                    ctx.set(host.bus.resp.payload.error, int(error_at(addr)))
                    await ctx.tick().until(host.bus.resp.ready)
                    ctx.set(host.bus.resp.valid, 0)
        return responder
    return make


def test_bus_error_mid_range_is_reported_with_its_index():
    frames = [hp.encode_request(Opcode.WRITE, rng(Region.BETA, 2, 6) + bytes(6)),
              hp.encode_request(Opcode.READ, rng(Region.BETA, 0, 9))]
    got = run_host(frames, responder=bus_responder(lambda addr: addr & 0xFFFFF == 5))
    assert [(Status(r.status), r.payload) for r in got] == [
        (Status.BUS_ERROR, b"\x03\x00"), (Status.BUS_ERROR, b"\x05\x00")]


def test_reset_addresses_every_entry_of_a_region_of_the_largest_index_range():
    """A 1024×1024 core's HEBB has 2**INDEX_BITS entries, so RESET's entry counter is one
    bit wider than an index; the addresses it puts on the bus must still decode to the
    job's region (a bug once shifted them into the next region: BUS_ERROR at entry 0)."""
    cfg = CoreConfig(axons=1024, neurons=1024, lanes=8)
    assert memmap.region_size(cfg, Region.HEBB) == 1 << memmap.INDEX_BITS
    seen = []

    def record(addr):
        seen.append(memmap.decode(cfg, addr, cores=CORES))
        return False

    got = run_host([hp.encode_request(Opcode.RESET, b"\x01")], responder=bus_responder(record),
                   cfg=cfg, mesh=None)
    assert Status(got[0].status) is Status.OK
    want = [(core, region, i) for core in range(CORES)
            for region, first, n in hp.reset_jobs(cfg, hp.ResetMask.NEURONS)
            for i in range(first, first + n)]
    assert [(a.core, a.region, a.index) for a in seen] == want


def test_framing_error_inside_a_frame_drops_it_and_outside_is_ignored():
    good = hp.encode_request(Opcode.WRITE, rng(Region.BIAS, 0, 2) + b"\x05\x00\x06\x00")
    frames = [
        list(good[:8]) + [None] + list(good[8:]),
        [None] + list(hp.encode_request(Opcode.READ, rng(Region.BIAS, 0, 2))),
    ]
    got = run_host(frames)
    assert [(Status(r.status), r.opcode) for r in got] == [(Status.FRAMING, Opcode.WRITE),
                                                           (Status.OK, Opcode.READ)]
    assert got[1].payload == bytes(4)   # the broken write wrote nothing


def test_a_read_larger_than_one_frame_is_refused_and_the_largest_one_works():
    cfg = CoreConfig(axons=64, neurons=32, lanes=8)
    w = hp.pack_entries(8, [(i * 7) % 256 for i in range(hp.MAX_DATA)])
    frames = [hp.encode_request(Opcode.READ, rng(Region.WEIGHT, 0, hp.MAX_DATA + 1)),
              hp.encode_request(Opcode.WRITE, rng(Region.WEIGHT, 1, hp.MAX_DATA) + w),
              hp.encode_request(Opcode.READ, rng(Region.WEIGHT, 1, hp.MAX_DATA))]
    got = run_host(frames, cfg=cfg)
    assert [Status(r.status) for r in got] == [Status.BAD_LENGTH, Status.OK, Status.OK]
    assert got[2].payload == w


def random_request(rnd):
    """A request that is valid about half the time, and wrong in one way otherwise."""
    op = rnd.choice([*Opcode, *Opcode, 0x00, 0x7E, 0xFF])
    if op in (Opcode.READ, Opcode.WRITE):
        region = rnd.choice([*Region, 13, 15])
        size = memmap.region_size(CFG, region, MESH) if region in set(Region) else 4
        index = rnd.randint(0, size + 1)
        count = rnd.randint(0, 10) if rnd.random() < 0.9 else rnd.randint(0, size + 2)
        core = rnd.choice([0, 1, 1, CORES])
        payload = rng(region, index, count, core)
        if op is Opcode.WRITE:
            width = memmap.region_width(CFG, region, MESH) if region in set(Region) else 8
            n = hp.packed_size(width, count) + rnd.choice([0, 0, 0, 0, -1, 1])
            payload += bytes(rnd.randrange(256) for _ in range(max(n, 0)))
        elif rnd.random() < 0.1:
            payload += b"\x00"
    elif op == Opcode.RUN:
        payload = struct.pack("<I", rnd.randint(0, 2))[:rnd.choice([4, 4, 4, 3])]
    elif op == Opcode.RESET:
        payload = bytes([rnd.randint(0, 5)])
    else:
        payload = b"" if rnd.random() < 0.8 else b"\x01"
    return op, payload


@pytest.mark.parametrize("seed", [1, 2])
def test_random_requests_match_the_model(seed):
    rnd = random.Random(seed)
    reqs = [random_request(rnd) for _ in range(60)]
    corrupt = {i for i in range(len(reqs)) if rnd.random() < 0.1}
    frames = []
    for i, (op, payload) in enumerate(reqs):
        frame = bytearray(hp.encode_request(op, payload))
        if i in corrupt:
            frame[-1 - rnd.randrange(2)] ^= 1 << rnd.randrange(8)
        frames.append(bytes(frame))
    got = run_host(frames)
    model = Model(CFG, CORES, MESH)
    for i, ((op, payload), resp) in enumerate(zip(reqs, got, strict=True)):
        if i in corrupt:
            want, out = Status.BAD_CRC, b""
            model.frames += 1
            model.errors += 1
        else:
            want, out = model.answer(op, payload)
        assert (resp.opcode, Status(resp.status)) == (op, want), (
            f"request {i}: {op:#x} {payload.hex()} got {Status(resp.status)!r}")
        if out is not None:
            assert resp.payload == out, f"request {i}: {op:#x} {payload.hex()}"
    statuses = {Status(r.status) for r in got}
    assert {Status.OK, Status.BAD_ADDRESS, Status.BAD_LENGTH, Status.BAD_OPCODE} <= statuses
