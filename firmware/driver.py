"""Low-level driver of the chip's host interface: one method per thing the host does.

`Device` speaks :mod:`glocal.golden.hostproto` over any
:class:`glocal.firmware.transport.Transport`. Every address range is checked against
the memory map before a byte is sent; a response with a bad status raises `DeviceError`
naming the command and the status. Spikes, counters and plasticity are reads and writes
of memory-map entries (see ``docs/host-protocol.md`` for why they are not opcodes).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from glocal.golden import hostproto as hp
from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.hostproto import Opcode, Status
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh

__all__ = ["Device", "DeviceError", "LinkError", "LinkStats", "COUNTERS"]

#: Performance counters, in register order (`Device.counters`).
COUNTERS = (Reg.STEPS, Reg.CYC_INTEGRATE, Reg.CYC_FIRE, Reg.CYC_LEARN, Reg.CYC_STEP,
            Reg.SYN_OPS, Reg.PLASTIC_UPDATES, Reg.SPIKES_IN, Reg.SPIKES_OUT,
            Reg.PACKETS_OUT, Reg.PACKETS_IN)


class DeviceError(RuntimeError):
    """The chip answered a command with an error status.

    Members
    -------
    command : str
        The driver call that failed (``"write WEIGHT[0:128] of core 0"``).
    status : Status or None
        The status code of the response (None for a link failure, see `LinkError`).
    """

    #: What the message says when there is no status code.
    _no_status = ""

    def __init__(self, command: str, status: Status | None, detail: str = ""):
        self.command = command
        self.status = status
        what = f"status {status.name} ({status:#04x})" if status is not None else self._no_status
        super().__init__(f"{command}: " + ", ".join(p for p in (what, detail) if p))


class LinkError(DeviceError):
    """No valid response arrived (timeout, or bytes that are not a response frame)."""

    _no_status = "no answer"


@dataclass
class LinkStats:
    """Byte counts of the link since the last `reset`; ``data`` counts memory entries
    carried by READ/WRITE (packed), ``wire`` every byte in either direction."""

    data: int = 0
    wire: int = 0
    frames: int = 0

    def reset(self) -> None:
        self.data = self.wire = self.frames = 0

    @property
    def efficiency(self) -> float:
        """Data bytes per wire byte (the UART's start/stop bits not counted)."""
        return self.data / self.wire if self.wire else 0.0


class Device:
    """The chip behind a transport.

    Parameters
    ----------
    transport : Transport
        Byte link to the chip.
    cfg : CoreConfig
        Configuration the chip was built with (checked by `check`).
    cores : int
        Number of cores of the chip (``mesh.cores`` when a mesh is given).
    mesh : Mesh or None
        The chip's mesh (routing-table sizes; checked by `check`); None for a chip
        without one (no routing regions).
    timeout : float
        Seconds to wait for a response, on top of the time its bytes take on the wire.
    baud : float, optional
        Baud rate, to extend ``timeout`` for long frames; None for no extension.
    """

    def __init__(self, transport, *, cfg: CoreConfig, cores: int | None = None,
                 mesh: Mesh | None = None, timeout: float = 5.0, baud: float | None = None):
        if mesh is not None and cores is not None and cores != mesh.cores:
            raise ValueError(f"cores must be the mesh's {mesh.cores}, not {cores}")
        self.transport = transport
        self.cfg = cfg
        self.mesh = mesh
        self.cores = mesh.cores if mesh is not None else (1 if cores is None else cores)
        self.timeout = timeout
        self.baud = baud
        self.stats = LinkStats()

    # -- frames ---------------------------------------------------------------------

    def exchange(self, frame: bytes, *, command: str = "raw frame",
                 timeout: float | None = None) -> hp.Frame:
        """Send raw bytes and return the decoded response frame, whatever its status.

        For tests that send malformed frames; commands go through the methods below.

        Raises
        ------
        LinkError
            If no complete, well-formed response arrives in time.
        """
        wait = self.timeout if timeout is None else timeout
        if self.baud:
            wait += 10 * (len(frame) + hp.RESPONSE_OVERHEAD + hp.MAX_PAYLOAD) / self.baud
        self.transport.write(frame)
        head = self.transport.read(5, wait)
        if len(head) < 5:
            raise LinkError(command, None, f"{len(head)} of 5 header bytes arrived "
                            f"in {wait:.1f} s ({head.hex() or 'nothing'})")
        try:
            total = hp.response_length(head)
            rest = self.transport.read(total - 5, wait)
            resp = hp.decode_response(head + rest)
        except hp.ProtocolError as e:
            raise LinkError(command, None, str(e)) from e
        self.stats.wire += len(frame) + total
        self.stats.frames += 1
        return resp

    def _command(self, command: str, opcode: Opcode, payload: bytes = b"", *,
                 timeout: float | None = None) -> bytes:
        resp = self.exchange(hp.encode_request(opcode, payload), command=command,
                             timeout=timeout)
        if resp.opcode != opcode:
            raise LinkError(command, None, f"response is for opcode {resp.opcode:#04x}, "
                            f"not {opcode:#04x}")
        try:
            status = Status(resp.status)
        except ValueError:
            raise LinkError(command, None, f"unknown status {resp.status:#04x}") from None
        if status is not Status.OK:
            detail = ""
            if status is Status.BUS_ERROR and len(resp.payload) == 2:
                detail = f"at entry {int.from_bytes(resp.payload, 'little')} of the range"
            raise DeviceError(command, status, detail)
        return resp.payload

    # -- identity and state -----------------------------------------------------------

    def ping(self) -> hp.Ping:
        """Protocol version, number of cores, configuration fingerprint and mesh of the
        chip (:func:`glocal.golden.hostproto.parse_ping`)."""
        payload = self._command("ping", Opcode.PING)
        try:
            return hp.parse_ping(payload)
        except hp.ProtocolError as e:
            raise LinkError("ping", None, str(e)) from None

    def check(self) -> None:
        """Ping and make sure the chip is the one this driver was configured for.

        Raises
        ------
        DeviceError
            If the protocol version, core count, configuration or mesh differs.
        """
        got = self.ping()
        # What a chip of this geometry answers: the one definition, hostproto's.
        want = hp.parse_ping(hp.ping_payload(self.cfg, self.cores, self.mesh))
        if got != want:
            raise DeviceError("check", None,
                              f"chip reports version {got.version}, {got.cores} cores, config "
                              f"{got.fingerprint:#06x}, mesh {got.mesh}; expected "
                              f"{want.version}, {want.cores}, {want.fingerprint:#06x}, "
                              f"mesh {want.mesh}")

    def status(self) -> dict[str, int]:
        """``busy`` flag, frames answered and frames answered with an error, since reset."""
        flags, frames, errors = struct.unpack("<BHH", self._command("status", Opcode.STATUS))
        return {"busy": flags & 1, "frames": frames, "errors": errors}

    # -- memory ---------------------------------------------------------------------

    def _range(self, core: int, region: Region, index: int, count: int, *, write: bool,
               command: str) -> int:
        region = Region(region)
        if count < 1:
            raise ValueError(f"{command}: count must be at least 1, not {count}")
        try:
            addr = memmap.encode(self.cfg, core, region, index, cores=self.cores,
                                 mesh=self.mesh)
            memmap.encode(self.cfg, core, region, index + count - 1, cores=self.cores,
                          mesh=self.mesh)
        except memmap.MemmapError as e:
            raise ValueError(f"{command}: {e}") from None
        if write and region is Region.REGS:
            ro = [Reg(r).name for r in range(index, index + count)
                  if Reg(r) not in memmap.REG_WRITABLE]
            if ro:
                raise ValueError(f"{command}: registers {', '.join(ro)} are read-only")
        return addr

    def _chunk(self, region: Region) -> int:
        width = memmap.region_width(self.cfg, region, self.mesh)
        return hp.MAX_DATA * 8 if width == 1 else hp.MAX_DATA // hp.entry_bytes(width)

    def read(self, core: int, region: Region, index: int = 0, count: int | None = None
             ) -> list[int]:
        """``count`` entries of ``region`` from ``index`` (default: to the region's end).

        Signed regions come back sign-extended. Split into frames of at most
        ``hostproto.MAX_DATA`` bytes.

        Raises
        ------
        ValueError
            If the range is not inside the memory map (nothing is sent).
        DeviceError
            If the chip refuses a frame.
        """
        region = Region(region)
        if count is None:
            count = memmap.region_size(self.cfg, region, self.mesh) - index
        command = f"read {region.name}[{index}:{index + count}] of core {core}"
        addr = self._range(core, region, index, count, write=False, command=command)
        width = memmap.region_width(self.cfg, region, self.mesh)
        out = []
        for k in range(0, count, self._chunk(region)):
            n = min(self._chunk(region), count - k)
            data = self._command(command, Opcode.READ, hp.range_payload(addr + k, n))
            self.stats.data += len(data)
            out += hp.unpack_entries(width, memmap.region_signed(region), data, n)
        return out

    def write(self, core: int, region: Region, index: int, values: Sequence[int]) -> None:
        """Write ``values`` to ``region`` from ``index``.

        Raises
        ------
        ValueError
            If the range is not inside the memory map, covers a read-only register, or a
            value does not fit the region's width (nothing is sent).
        DeviceError
            If the chip refuses a frame (earlier frames of a long range stay written).
        """
        region = Region(region)
        values = [int(v) for v in values]
        command = f"write {region.name}[{index}:{index + len(values)}] of core {core}"
        addr = self._range(core, region, index, len(values), write=True, command=command)
        width = memmap.region_width(self.cfg, region, self.mesh)
        try:
            wire = hp.pack_entries(width, values)
        except hp.ProtocolError as e:
            raise ValueError(f"{command}: {e}") from None
        per = self._chunk(region)
        step = per // 8 if width == 1 else per * hp.entry_bytes(width)
        for k in range(0, len(values), per):
            n = min(per, len(values) - k)
            part = wire[(k // per) * step:(k // per) * step + hp.packed_size(width, n)]
            self._command(command, Opcode.WRITE, hp.range_payload(addr + k, n, part))
            self.stats.data += len(part)

    # -- time steps -------------------------------------------------------------------

    def run(self, steps: int, *, timeout: float | None = None) -> int:
        """Run ``steps`` time steps on every core; return the cycles they took.

        The chip answers when the last step is done, so a long run needs a ``timeout``
        (seconds) longer than the device's default.
        """
        if not 0 <= steps <= hp.MAX_STEPS:
            raise ValueError(f"steps must be in [0, {hp.MAX_STEPS}], not {steps}")
        return struct.unpack("<I", self._command(f"run {steps} steps", Opcode.RUN,
                                                 struct.pack("<I", steps),
                                                 timeout=timeout))[0]

    def reset_state(self, *, neurons: bool = True, plastic: bool = False) -> None:
        """Zero U, S and pending inputs (``neurons``) and/or the Hebbian state (``plastic``)
        of every core, done by the chip itself."""
        mask = (hp.ResetMask.NEURONS if neurons else 0) | (hp.ResetMask.PLASTIC if plastic
                                                           else 0)
        if not mask:
            raise ValueError("reset_state needs neurons=True or plastic=True")
        self._command(f"reset {hp.ResetMask(mask)!r}", Opcode.RESET, bytes([mask]))

    # -- conveniences over READ/WRITE -----------------------------------------------

    def inject(self, core: int, spikes: Sequence[int]) -> None:
        """Inputs of the next step of ``core``, one per axon, all axons: spikes 0/1, or
        values ``0 .. 2**act_bits − 1`` on a hybrid chip (nonzero values are ORed into
        what the mesh delivered, 0 clears)."""
        if len(spikes) != self.cfg.axons:
            raise ValueError(f"inject needs {self.cfg.axons} spikes, not {len(spikes)}")
        bad = [v for v in spikes if not 0 <= int(v) <= self.cfg.act_max]
        if bad:
            raise ValueError(f"inject values must be in [0, {self.cfg.act_max}] "
                             f"(act_bits = {self.cfg.act_bits}), not {bad[0]}")
        self.write(core, Region.AXON, 0, spikes)

    def spikes(self, core: int) -> list[int]:
        """Output spikes of the last step of ``core`` (one 0/1 per neuron)."""
        return self.read(core, Region.S)

    def counters(self, core: int) -> dict[str, int]:
        """Performance counters of ``core``, by register name (one READ frame)."""
        first = COUNTERS[0]
        values = self.read(core, Region.REGS, first, COUNTERS[-1] - first + 1)
        return {Reg(first + i).name.lower(): v & 0xFFFFFFFF for i, v in enumerate(values)}

    def set_plasticity(self, core: int, on: bool, *, alpha: int | None = None,
                       h_max: int | None = None) -> None:
        """Turn on-chip learning on or off, optionally setting its gain and clamp bound."""
        if alpha is not None:
            self.write(core, Region.REGS, Reg.ALPHA, [alpha])
        if h_max is not None:
            self.write(core, Region.REGS, Reg.H_MAX, [h_max])
        self.write(core, Region.REGS, Reg.LEARN, [int(bool(on))])
