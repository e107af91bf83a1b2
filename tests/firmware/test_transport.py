"""SerialTransport through pyserial's loopback URL (no board needed)."""

import pytest

from glocal.firmware.driver import Device, LinkError
from glocal.firmware.transport import SerialTransport
from glocal.golden.config import CoreConfig


def test_serial_transport_moves_bytes_and_times_out():
    with SerialTransport("loop://", baud=115200) as link:
        link.write(b"\xa5\x01\x02")
        assert link.read(3, 0.5) == b"\xa5\x01\x02"
        assert link.read(1, 0.05) == b""


def test_an_echoing_line_is_a_link_error_not_a_response():
    with SerialTransport("loop://", baud=115200) as link:
        dev = Device(link, cfg=CoreConfig(), timeout=0.2)
        with pytest.raises(LinkError, match="ping: no answer, length field"):
            dev.ping()
