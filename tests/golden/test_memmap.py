"""The memory map: encode/decode round trip and precise errors."""

import pytest

from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import MemmapError, Region

CFG = CoreConfig(axons=16, neurons=8, lanes=4)


@pytest.mark.parametrize("region", list(Region))
def test_every_entry_round_trips(region):
    for index in (0, memmap.region_size(CFG, region) - 1):
        addr = memmap.encode(CFG, 1, region, index, cores=2)
        assert memmap.decode(CFG, addr, cores=2) == memmap.Address(1, region, index)


def test_regions_do_not_overlap():
    seen = set()
    for region in Region:
        for index in range(memmap.region_size(CFG, region)):
            addr = memmap.encode(CFG, 0, region, index)
            assert addr not in seen
            seen.add(addr)


@pytest.mark.parametrize("addr, message", [
    (memmap.encode(CFG, 0, Region.WEIGHT, 0) + 16 * 8, r"index 128 is past WEIGHT's 128"),
    (15 << memmap.REGION_SHIFT, "unknown region 15"),
    (3 << memmap.CORE_SHIFT, "names core 3; the chip has 1"),
    (1 << 32, "32-bit unsigned"),
])
def test_bad_addresses_are_named(addr, message):
    with pytest.raises(MemmapError, match=message):
        memmap.decode(CFG, addr)
