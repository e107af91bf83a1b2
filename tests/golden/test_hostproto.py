"""The host protocol's pure-Python definition: CRC, frames, entry packing, request checks."""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glocal.golden import hostproto as hp
from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Mesh

SMALL = CoreConfig(axons=16, neurons=8, lanes=4, acc_bits=12)


def crc16_reference(data):
    """CRC-16/CCITT-FALSE written the other way round (reflected-free, table built)."""
    table = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = (c << 1) ^ 0x1021 if c & 0x8000 else c << 1
        table.append(c & 0xFFFF)
    crc = 0xFFFF
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ b]
    return crc


def test_crc_check_value_of_the_catalogued_crc16_ccitt_false():
    assert hp.crc16(b"123456789") == 0x29B1


@given(st.binary(max_size=300))
def test_crc_matches_table_driven_reference(data):
    assert hp.crc16(data) == crc16_reference(data)


@given(st.integers(0, 255), st.binary(max_size=hp.MAX_PAYLOAD))
def test_request_round_trip(opcode, payload):
    frame = hp.encode_request(opcode, payload)
    assert len(frame) == hp.REQUEST_OVERHEAD + len(payload)
    assert hp.decode_request(frame) == hp.Frame(opcode, payload)


@given(st.sampled_from(list(hp.Opcode)), st.sampled_from(list(hp.Status)),
       st.binary(max_size=64))
def test_response_round_trip(opcode, status, payload):
    frame = hp.encode_response(opcode, status, payload)
    assert hp.response_length(frame[:5]) == len(frame)
    assert hp.decode_response(frame) == hp.Frame(opcode, payload, status=status)


@given(st.binary(min_size=1, max_size=40), st.data())
def test_any_single_bit_flip_is_caught(payload, data):
    frame = bytearray(hp.encode_request(hp.Opcode.WRITE, payload))
    bit = data.draw(st.integers(8, 8 * len(frame) - 1))   # after the sync byte
    frame[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(hp.ProtocolError):
        hp.decode_request(bytes(frame))


def test_decode_names_what_is_wrong():
    good = hp.encode_request(hp.Opcode.PING)
    with pytest.raises(hp.ProtocolError, match="sync"):
        hp.decode_request(b"\x00" + good[1:])
    with pytest.raises(hp.ProtocolError, match="length field 0"):
        hp.decode_request(good + b"\x00")
    with pytest.raises(hp.ProtocolError, match="CRC"):
        hp.decode_request(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(hp.ProtocolError, match="at most"):
        hp.encode_request(hp.Opcode.WRITE, bytes(hp.MAX_PAYLOAD + 1))


@given(st.integers(1, 32), st.data())
def test_entry_packing_round_trip(width, data):
    signed = data.draw(st.booleans())
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    values = data.draw(st.lists(st.integers(lo, hi), max_size=40))
    wire = hp.pack_entries(width, values)
    assert len(wire) == hp.packed_size(width, len(values))
    assert hp.unpack_entries(width, signed, wire, len(values)) == values


def test_packing_is_compact():
    assert hp.packed_size(1, 64) == 8
    assert hp.packed_size(8, 10) == 10
    assert hp.packed_size(9, 10) == 20
    assert hp.packed_size(32, 3) == 12
    assert hp.pack_entries(1, [1, 0, 0, 0, 0, 0, 0, 0, 1]) == b"\x01\x01"
    assert hp.pack_entries(8, [-1, 2]) == b"\xff\x02"
    with pytest.raises(hp.ProtocolError, match="300 at position 1"):
        hp.pack_entries(8, [0, 300])


def _rng(region, index, count, core=0):
    return hp.range_payload(core << 24 | region << 20 | index, count)


@pytest.mark.parametrize("opcode, payload, want", [
    (0x7F, b"", hp.Status.BAD_OPCODE),
    (hp.Opcode.PING, b"\x00", hp.Status.BAD_LENGTH),
    (hp.Opcode.RUN, b"\x01\x00\x00\x00", hp.Status.OK),
    (hp.Opcode.RUN, b"\x01", hp.Status.BAD_LENGTH),
    (hp.Opcode.RESET, b"\x04", hp.Status.BAD_ARGUMENT),
    (hp.Opcode.RESET, b"\x00", hp.Status.BAD_ARGUMENT),
    (hp.Opcode.RESET, b"\x03", hp.Status.OK),
    (hp.Opcode.READ, _rng(Region.U, 0, 8), hp.Status.OK),
    (hp.Opcode.READ, _rng(Region.U, 1, 8), hp.Status.BAD_ADDRESS),
    (hp.Opcode.READ, _rng(Region.U, 0, 1, core=2), hp.Status.BAD_ADDRESS),
    (hp.Opcode.READ, _rng(11, 0, 1), hp.Status.BAD_ADDRESS),
    (hp.Opcode.READ, _rng(Region.U, 0, 0), hp.Status.BAD_LENGTH),
    (hp.Opcode.READ, _rng(Region.U, 0, 1) + b"\x00", hp.Status.BAD_LENGTH),
    (hp.Opcode.WRITE, _rng(Region.WEIGHT, 0, 3) + b"\x01\x02\x03", hp.Status.OK),
    (hp.Opcode.WRITE, _rng(Region.WEIGHT, 0, 3) + b"\x01\x02", hp.Status.BAD_LENGTH),
    (hp.Opcode.WRITE, _rng(Region.S, 0, 8) + b"\xff", hp.Status.OK),
    (hp.Opcode.WRITE, _rng(Region.REGS, Reg.LEARN, 2) + bytes(8), hp.Status.OK),
    (hp.Opcode.WRITE, _rng(Region.REGS, Reg.STATUS, 2) + bytes(8), hp.Status.BAD_ADDRESS),
    (hp.Opcode.READ, _rng(Region.REGS, Reg.STATUS, 2), hp.Status.OK),
])
def test_check_request(opcode, payload, want):
    assert hp.check_request(SMALL, 2, opcode, payload) == want


def test_read_larger_than_one_frame_is_bad_length():
    big = CoreConfig(axons=64, neurons=128, lanes=8, acc_bits=14)
    assert hp.check_request(big, 1, hp.Opcode.READ,
                            _rng(Region.WEIGHT, 0, hp.MAX_DATA)) == hp.Status.OK
    assert hp.check_request(big, 1, hp.Opcode.READ,
                            _rng(Region.WEIGHT, 0, hp.MAX_DATA + 1)) == hp.Status.BAD_LENGTH


def test_reset_jobs_cover_whole_regions():
    jobs = hp.reset_jobs(SMALL, hp.ResetMask.NEURONS | hp.ResetMask.PLASTIC)
    assert (Region.U, 0, SMALL.neurons) in jobs
    assert (Region.HEBB, 0, memmap.region_size(SMALL, Region.HEBB)) in jobs
    assert (Region.REGS, Reg.T, 1) in jobs
    assert hp.reset_jobs(SMALL, hp.ResetMask.NEURONS) == jobs[:3]


def test_ping_payload_identifies_the_configuration():
    a, b = hp.ping_payload(SMALL, 2), hp.ping_payload(CoreConfig(), 2)
    assert a[:2] == bytes([hp.VERSION, 2]) and a != b
    assert len(a) == hp.PING_BYTES
    assert struct.unpack("<H", a[2:4])[0] == hp.config_fingerprint(SMALL)
    assert hp.parse_ping(a) == hp.Ping(hp.VERSION, 2, hp.config_fingerprint(SMALL), None)


def test_ping_carries_the_mesh_geometry():
    mesh = Mesh(rows=2, cols=3, depth=700, fanout=5)
    ping = hp.parse_ping(hp.ping_payload(SMALL, 6, mesh))
    assert ping == hp.Ping(hp.VERSION, 6, hp.config_fingerprint(SMALL), mesh)
    with pytest.raises(hp.ProtocolError, match="mesh has 6 cores, not 4"):
        hp.ping_payload(SMALL, 4, mesh)
    with pytest.raises(hp.ProtocolError, match=f"has {hp.PING_BYTES} bytes, not 4"):
        hp.parse_ping(bytes(4))
    no_cols = hp.ping_payload(SMALL, 6, mesh)[:6] + bytes(2) + bytes(6)
    with pytest.raises(hp.ProtocolError, match="impossible mesh: Mesh.cols must be"):
        hp.parse_ping(no_cols)


def test_routing_regions_are_checked_against_the_mesh():
    mesh = Mesh(rows=1, cols=2, depth=10, fanout=2)
    ptr = hp.check_request(SMALL, 2, hp.Opcode.READ, _rng(Region.ROUTE_PTR, 0, SMALL.neurons),
                           mesh=mesh)
    assert ptr == hp.Status.OK
    assert hp.check_request(SMALL, 2, hp.Opcode.READ, _rng(Region.ROUTE_DEST, 9, 2),
                            mesh=mesh) == hp.Status.BAD_ADDRESS
    assert hp.check_request(SMALL, 2, hp.Opcode.READ,
                            _rng(Region.ROUTE_DEST, 0, 1)) == hp.Status.BAD_ADDRESS
    assert hp.check_request(SMALL, 2, hp.Opcode.WRITE,
                            _rng(Region.REGS, Reg.PACKETS_OUT, 1) + bytes(4),
                            mesh=mesh) == hp.Status.BAD_ADDRESS
