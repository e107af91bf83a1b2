"""Python model of the host interface in front of the bus-RAM fixture.

What `glocal.rtl.host.Host` + `glocal.sim.busram.BusRam` must answer to each request:
the checks of :func:`glocal.golden.hostproto.check_request`, memmap semantics (widths,
sign extension, read-only registers) and the fixture's step (AXON → S, AXON ← 0,
STEPS + 1). The RTL tests compare against it; the driver tests run on it through
`ModelTransport`, without a simulator.
"""

from __future__ import annotations

import struct

from glocal.golden import hostproto as hp
from glocal.golden import memmap
from glocal.golden.hostproto import Opcode, Status
from glocal.golden.memmap import Reg, Region

__all__ = ["Model", "ModelTransport"]



class Model:
    """What the host + fixture must answer: memmap semantics and the fixture's step."""

    def __init__(self, cfg, cores, mesh=None):
        self.cfg, self.cores, self.mesh = cfg, cores, mesh
        self.mem = {}
        self.frames = self.errors = 0

    def get(self, core, region, index):
        return self.mem.get((core, region, index), 0)

    def put(self, core, region, index, value):
        width = memmap.region_width(self.cfg, region, self.mesh)
        v = value & ((1 << width) - 1)
        if memmap.region_signed(region) and v >> (width - 1):
            v -= 1 << width
        if region is Region.REGS and index == Reg.STATUS:
            return
        self.mem[(core, region, index)] = v

    def answer(self, opcode, payload):
        status = hp.check_request(self.cfg, self.cores, opcode, payload, mesh=self.mesh)
        out = b""
        if status is Status.OK:
            out = self.execute(Opcode(opcode), payload)
        self.frames += 1
        self.errors += status is not Status.OK
        return status, out

    def execute(self, op, payload):
        cfg = self.cfg
        if op is Opcode.PING:
            return hp.ping_payload(cfg, self.cores, self.mesh)
        if op is Opcode.STATUS:
            return struct.pack("<BHH", 0, self.frames, self.errors)
        if op in (Opcode.READ, Opcode.WRITE):
            addr, count = struct.unpack("<IH", payload[:6])
            a = memmap.decode(cfg, addr, cores=self.cores, mesh=self.mesh)
            width = memmap.region_width(cfg, a.region, self.mesh)
            if op is Opcode.READ:
                return hp.pack_entries(width, [self.get(a.core, a.region, a.index + i)
                                               for i in range(count)])
            values = hp.unpack_entries(width, False, payload[6:], count)
            for i, v in enumerate(values):
                self.put(a.core, a.region, a.index + i, v)
            return b""
        if op is Opcode.RUN:
            steps, = struct.unpack("<I", payload)
            for _ in range(steps):
                for c in range(self.cores):
                    for i in range(cfg.axons):
                        if i < cfg.neurons:
                            self.put(c, Region.S, i, self.get(c, Region.AXON, i))
                        self.put(c, Region.AXON, i, 0)
                    self.mem[(c, Region.REGS, Reg.STEPS)] = self.get(c, Region.REGS,
                                                                     Reg.STEPS) + 1
            return None   # the cycle count is the RTL's own; callers check it apart
        if op is Opcode.RESET:
            for c in range(self.cores):
                for region, first, n in hp.reset_jobs(cfg, payload[0]):
                    for i in range(first, first + n):
                        self.put(c, region, i, 0)
            return b""
        raise AssertionError(op)


class ModelTransport:
    """A `Transport` whose far end is `Model`: parses request frames, answers them.

    RUN answers ``steps`` cycles. Frames are taken whole (no timeout, no framing errors).
    """

    def __init__(self, model: Model):
        self.model = model
        self._out = bytearray()
        self._in = bytearray()

    def write(self, data: bytes) -> None:
        self._in += data
        while len(self._in) >= 4:
            total = hp.REQUEST_OVERHEAD + int.from_bytes(self._in[2:4], "little")
            if len(self._in) < total:
                return
            frame = hp.decode_request(bytes(self._in[:total]))
            del self._in[:total]
            status, out = self.model.answer(frame.opcode, frame.payload)
            if out is None:
                out = frame.payload   # RUN: steps u32 → cycles u32
            self._out += hp.encode_response(frame.opcode, status, out)

    def read(self, n: int, timeout: float) -> bytes:
        out = bytes(self._out[:n])
        del self._out[:n]
        return out

    def close(self) -> None:
        pass
