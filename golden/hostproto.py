"""The host protocol: the one definition of the bytes that cross the UART.

Pure Python on purpose: the RTL (:mod:`glocal.rtl.host`), the driver
(:mod:`glocal.firmware.driver`) and the tests all import this module, so it must not import
Amaranth, torch or anything of the driver. ``docs/host-protocol.md`` explains the design.

Frames
------
Request, host → chip::

    SYNC  opcode  len_lo len_hi  payload[len]  crc_hi crc_lo

Response, chip → host (exactly one per request, in order)::

    SYNC  opcode  status  len_lo len_hi  payload[len]  crc_hi crc_lo

``crc`` is `crc16` over every byte after ``SYNC`` up to the end of the payload, sent most
significant byte first. Bytes that arrive outside a frame and are not ``SYNC`` are
dropped (this is how the chip resynchronises after line noise).

Memory ranges
-------------
READ and WRITE carry a *range header*: a word address (``u32``, see
:mod:`glocal.golden.memmap`) and an entry count (``u16``), little-endian. Entries travel
packed by the width of their region (`packed_size`): 1-bit regions (spikes) eight per
byte, least significant bit first; wider ones in ``ceil(width / 8)`` little-endian bytes,
two's complement for signed regions.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass

from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh

__all__ = [
    "SYNC", "VERSION", "MAX_DATA", "MAX_PAYLOAD", "RANGE_HEADER", "REQUEST_OVERHEAD",
    "RESPONSE_OVERHEAD", "TIMEOUT_S", "DEFAULT_BAUD", "MAX_STEPS", "CRC_POLY", "CRC_INIT",
    "Opcode", "Status",
    "ResetMask",
    "ProtocolError", "Frame", "crc16", "crc16_byte", "encode_request", "encode_response",
    "decode_request", "decode_response", "response_length", "entry_bytes", "packed_size",
    "pack_entries", "unpack_entries", "range_payload", "reset_jobs", "check_request",
    "config_fingerprint", "Ping", "ping_payload", "parse_ping", "PING_BYTES",
]

SYNC = 0xA5
#: Protocol version reported by PING; bump on any incompatible change of this module.
#: 2: PING also reports the mesh (rows, cols, depth, fanout); routing regions and packet
#: counters in the memory map.
VERSION = 2
#: Largest packed data of one READ or WRITE (bytes). 1 KiB keeps the chip's frame
#: buffer at two iCE40 block RAMs while framing costs under 2 % of the wire bytes.
MAX_DATA = 1024
RANGE_HEADER = 6
#: Largest request or response payload; a longer length field is answered BAD_LENGTH.
MAX_PAYLOAD = RANGE_HEADER + MAX_DATA
REQUEST_OVERHEAD = 6      # sync, opcode, 2 length, 2 CRC
RESPONSE_OVERHEAD = 7     # sync, opcode, status, 2 length, 2 CRC
#: Inter-byte timeout inside a frame. A USB-serial adapter may pause a few ms between
#: packets; 20 ms is long enough for that and short enough for an interactive host.
TIMEOUT_S = 0.02
#: Baud rate of the boards' host UART (FTDI USB-serial bridges run it reliably): what the
#: bitstreams are built for and what the driver opens a serial port at by default.
DEFAULT_BAUD = 115_200
#: Largest step count of one RUN (the field is a u32).
MAX_STEPS = (1 << 32) - 1

CRC_POLY = 0x1021
CRC_INIT = 0xFFFF


class Opcode(enum.IntEnum):
    """Commands. Spikes, counters and plasticity are READ/WRITE of memmap entries."""

    PING = 0x01     #: → `Ping`: version, cores, config fingerprint, mesh (`ping_payload`)
    STATUS = 0x02   #: → flags u8 (bit 0 chip busy), frames u16, error frames u16
    READ = 0x10     #: range header → packed entries
    WRITE = 0x11    #: range header, packed entries → nothing
    RUN = 0x20      #: steps u32 → cycles u32 (saturating) from first start to not busy
    RESET = 0x21    #: mask u8 (`ResetMask`) → nothing; zeroes the state it selects


class Status(enum.IntEnum):
    """Second byte of every response."""

    OK = 0x00
    BAD_CRC = 0x01        #: CRC mismatch; the frame was dropped
    BAD_OPCODE = 0x02     #: unknown opcode
    BAD_LENGTH = 0x03     #: payload length wrong for the opcode, count 0, or over the limit
    BAD_ADDRESS = 0x04    #: range leaves the memory map, or writes a read-only register
    TIMEOUT = 0x05        #: the frame stopped arriving (inter-byte timeout); dropped
    FRAMING = 0x06        #: a UART framing error inside the frame; dropped
    BUS_ERROR = 0x07      #: the chip's bus refused an entry mid-range; payload u16 index
    BAD_ARGUMENT = 0x08   #: an argument outside its range (RESET mask)


class ResetMask(enum.IntFlag):
    """What RESET clears, in every core (the chip writes zeros over its own bus)."""

    NEURONS = 1   #: U, S and pending AXON inputs: the state of one sample
    PLASTIC = 2   #: HEBB, T_LAST and the plastic clock registers T and REFRESH


class ProtocolError(ValueError):
    """Bytes that are not a well-formed frame; the message says which part is wrong."""


@dataclass(frozen=True)
class Frame:
    """A decoded frame; ``status`` is None for a request."""

    opcode: int
    payload: bytes
    status: int | None = None


# -- CRC ------------------------------------------------------------------------------

def crc16_byte(crc: int, byte: int) -> int:
    """One byte of CRC-16/CCITT-FALSE (poly 0x1021, MSB first), bit by bit.

    The RTL unrolls exactly this loop; keep it table-free so both read the same.
    """
    crc ^= byte << 8
    for _ in range(8):
        crc = ((crc << 1) ^ CRC_POLY if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def crc16(data: Iterable[int], crc: int = CRC_INIT) -> int:
    """CRC-16/CCITT-FALSE of ``data`` (check value of ``b"123456789"`` is 0x29B1)."""
    for b in data:
        crc = crc16_byte(crc, b)
    return crc


# -- frames ---------------------------------------------------------------------------

def _check_payload(payload: bytes) -> None:
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload must be at most {MAX_PAYLOAD} bytes, not {len(payload)}")


def encode_request(opcode: int, payload: bytes = b"") -> bytes:
    """Bytes of a request frame (``opcode`` need not be a known `Opcode`, for tests)."""
    _check_payload(payload)
    if not 0 <= opcode <= 0xFF:
        raise ProtocolError(f"opcode must be a byte, not {opcode!r}")
    body = bytes([opcode]) + struct.pack("<H", len(payload)) + bytes(payload)
    return bytes([SYNC]) + body + struct.pack(">H", crc16(body))


def encode_response(opcode: int, status: int, payload: bytes = b"") -> bytes:
    """Bytes of a response frame (what the chip sends)."""
    _check_payload(payload)
    body = bytes([opcode, status]) + struct.pack("<H", len(payload)) + bytes(payload)
    return bytes([SYNC]) + body + struct.pack(">H", crc16(body))


def _decode(data: bytes, head: int) -> tuple[bytes, bytes]:
    if len(data) < head + 3:
        raise ProtocolError(f"a frame has at least {head + 3} bytes, got {len(data)}")
    if data[0] != SYNC:
        raise ProtocolError(f"frame must start with sync {SYNC:#04x}, not {data[0]:#04x}")
    length = int.from_bytes(data[head - 1:head + 1], "little")
    if length > MAX_PAYLOAD:
        raise ProtocolError(f"length field {length} exceeds the maximum {MAX_PAYLOAD}")
    if len(data) != head + 1 + length + 2:
        raise ProtocolError(f"length field {length} needs a {head + 3 + length}-byte frame, "
                            f"got {len(data)} bytes")
    body, crc = data[1:head + 1 + length], int.from_bytes(data[-2:], "big")
    if crc16(body) != crc:
        raise ProtocolError(f"CRC {crc:#06x} does not match the frame's {crc16(body):#06x}")
    return body, data[head + 1:head + 1 + length]


def decode_request(data: bytes) -> Frame:
    """Parse exactly one request frame; raises `ProtocolError` naming the bad field."""
    body, payload = _decode(bytes(data), 3)
    return Frame(body[0], payload)


def decode_response(data: bytes) -> Frame:
    """Parse exactly one response frame; raises `ProtocolError` naming the bad field."""
    body, payload = _decode(bytes(data), 4)
    return Frame(body[0], payload, status=body[1])


def response_length(header: bytes) -> int:
    """Total frame length given a response's first 5 bytes (to read the rest)."""
    if len(header) < 5 or header[0] != SYNC:
        raise ProtocolError(f"not a response header: {bytes(header).hex()}")
    length = int.from_bytes(header[3:5], "little")
    if length > MAX_PAYLOAD:
        raise ProtocolError(f"length field {length} exceeds the maximum {MAX_PAYLOAD}")
    return RESPONSE_OVERHEAD + length


# -- entry packing --------------------------------------------------------------------

def entry_bytes(width: int) -> int:
    """Bytes per entry of a ``width``-bit region (0 for 1-bit regions: bit-packed)."""
    return 0 if width == 1 else (width + 7) // 8


def packed_size(width: int, count: int) -> int:
    """Bytes that ``count`` entries of ``width`` bits occupy on the wire."""
    return (count + 7) // 8 if width == 1 else count * entry_bytes(width)


def pack_entries(width: int, values: Sequence[int]) -> bytes:
    """Wire bytes of ``values`` (integers that fit ``width`` bits, either signedness)."""
    lo, hi = -(1 << (width - 1)), (1 << width) - 1
    for i, v in enumerate(values):
        if not lo <= int(v) <= hi:
            raise ProtocolError(f"value {int(v)} at position {i} does not fit {width} bits")
    mask = (1 << width) - 1
    if width == 1:
        out = bytearray(packed_size(1, len(values)))
        for i, v in enumerate(values):
            out[i // 8] |= (int(v) & 1) << (i % 8)
        return bytes(out)
    n = entry_bytes(width)
    return b"".join((int(v) & mask).to_bytes(n, "little") for v in values)


def unpack_entries(width: int, signed: bool, data: bytes, count: int) -> list[int]:
    """Inverse of `pack_entries`; signed entries are sign-extended from ``width`` bits."""
    if len(data) != packed_size(width, count):
        raise ProtocolError(f"{count} entries of {width} bits take "
                            f"{packed_size(width, count)} bytes, not {len(data)}")
    if width == 1:
        bits = [(data[i // 8] >> (i % 8)) & 1 for i in range(count)]
        return [-b for b in bits] if signed else bits
    n, mask = entry_bytes(width), (1 << width) - 1
    out = []
    for i in range(count):
        v = int.from_bytes(data[i * n:(i + 1) * n], "little") & mask
        if signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
    return out


def range_payload(addr: int, count: int, data: bytes = b"") -> bytes:
    """Payload of READ (no ``data``) or WRITE: range header then packed entries."""
    return struct.pack("<IH", addr, count) + bytes(data)


# -- what the chip checks, and RESET's work list --------------------------------------

def reset_jobs(cfg: CoreConfig, mask: int) -> list[tuple[Region, int, int]]:
    """``(region, first index, count)`` ranges RESET zeroes in every core, in order."""
    jobs = []
    if mask & ResetMask.NEURONS:
        jobs += [(r, 0, memmap.region_size(cfg, r)) for r in (Region.U, Region.S, Region.AXON)]
    if mask & ResetMask.PLASTIC:
        jobs += [(r, 0, memmap.region_size(cfg, r)) for r in (Region.HEBB, Region.T_LAST)]
        jobs += [(Region.REGS, int(Reg.T), 1), (Region.REGS, int(Reg.REFRESH), 1)]
    return jobs


def _range_status(cfg: CoreConfig, cores: int, addr: int, count: int, write: bool,
                  mesh: Mesh | None) -> Status:
    core, region_id, index = addr >> memmap.CORE_SHIFT, (addr >> memmap.REGION_SHIFT) & 0xF, \
        addr & ((1 << memmap.INDEX_BITS) - 1)
    if core >= cores or region_id not in set(Region):
        return Status.BAD_ADDRESS
    region = Region(region_id)
    if index + count > memmap.region_size(cfg, region, mesh):
        return Status.BAD_ADDRESS
    if write and region is Region.REGS and any(
            Reg(r) not in memmap.REG_WRITABLE for r in range(index, index + count)):
        return Status.BAD_ADDRESS
    return Status.OK


def check_request(cfg: CoreConfig, cores: int, opcode: int, payload: bytes, *,
                  mesh: Mesh | None = None) -> Status:
    """Status the chip answers a request with a good CRC (before executing it).

    This is the model the RTL is tested against; checks run in this order: opcode,
    payload length for the opcode, count, address range, data length, argument. The
    routing regions exist only on a chip with a ``mesh`` (:func:`memmap.region_size`).
    """
    try:
        op = Opcode(opcode)
    except ValueError:
        return Status.BAD_OPCODE
    fixed = {Opcode.PING: 0, Opcode.STATUS: 0, Opcode.RUN: 4, Opcode.RESET: 1,
             Opcode.READ: RANGE_HEADER}
    if op in fixed and len(payload) != fixed[op]:
        return Status.BAD_LENGTH
    if op is Opcode.RESET:
        mask = payload[0]
        return Status.OK if mask and not mask & ~0x3 else Status.BAD_ARGUMENT
    if op not in (Opcode.READ, Opcode.WRITE):
        return Status.OK
    if len(payload) < RANGE_HEADER:
        return Status.BAD_LENGTH
    addr, count = struct.unpack("<IH", payload[:RANGE_HEADER])
    if count == 0:
        return Status.BAD_LENGTH
    status = _range_status(cfg, cores, addr, count, op is Opcode.WRITE, mesh)
    if status is not Status.OK:
        return status
    width = memmap.region_width(cfg, Region((addr >> memmap.REGION_SHIFT) & 0xF), mesh)
    size = packed_size(width, count)
    if op is Opcode.READ:
        return Status.OK if size <= MAX_DATA else Status.BAD_LENGTH
    return Status.OK if len(payload) == RANGE_HEADER + size else Status.BAD_LENGTH


def config_fingerprint(cfg: CoreConfig) -> int:
    """CRC-16 of the configuration's fields (u16 each, in field order), sent by PING."""
    return crc16(b"".join(struct.pack("<H", v) for v in astuple(cfg)))


#: PING's answer: version u8, cores u8, fingerprint u16, rows u16, cols u16, depth u32,
#: fanout u16 (little-endian). The mesh fields are 0 on a chip without a mesh.
_PING = struct.Struct("<BBHHHIH")
#: Bytes of PING's answer.
PING_BYTES = _PING.size


@dataclass(frozen=True)
class Ping:
    """What PING reports (`parse_ping`).

    Members
    -------
    version : int
        `VERSION` of the chip's protocol.
    cores : int
        Cores behind the bus (modulo 256: the field is a byte; ``mesh`` has the count).
    fingerprint : int
        `config_fingerprint` of the cores' configuration.
    mesh : Mesh or None
        The mesh and its routing-table sizes; None on a chip without one.
    """

    version: int
    cores: int
    fingerprint: int
    mesh: Mesh | None


def ping_payload(cfg: CoreConfig, cores: int, mesh: Mesh | None = None) -> bytes:
    """What PING answers (`PING_BYTES` bytes): protocol version, number of cores,
    configuration fingerprint, and the mesh geometry (rows, cols, depth, fanout; zeros
    without a mesh), so that a driver can check that an image fits before it loads it."""
    if mesh is not None and mesh.cores != cores:
        raise ProtocolError(f"a {mesh.rows}×{mesh.cols} mesh has {mesh.cores} cores, "
                            f"not {cores}")
    geometry = (0, 0, 0, 0) if mesh is None else (mesh.rows, mesh.cols, mesh.depth,
                                                  mesh.fanout)
    return _PING.pack(VERSION, cores & 0xFF, config_fingerprint(cfg), *geometry)


def parse_ping(payload: bytes) -> Ping:
    """Inverse of `ping_payload`; raises `ProtocolError` on a payload of the wrong size
    or an impossible mesh."""
    if len(payload) != PING_BYTES:
        raise ProtocolError(f"a PING answer has {PING_BYTES} bytes, not {len(payload)}")
    version, cores, fingerprint, rows, cols, depth, fanout = _PING.unpack(payload)
    mesh = None
    if (rows, cols, depth, fanout) != (0, 0, 0, 0):
        try:
            mesh = Mesh(rows=rows, cols=cols, depth=depth, fanout=fanout)
        except ValueError as e:
            raise ProtocolError(f"PING reports an impossible mesh: {e}") from None
    return Ping(version=version, cores=cores, fingerprint=fingerprint, mesh=mesh)
