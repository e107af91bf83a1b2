"""The memory map: encode/decode round trip and precise errors."""

import pytest

from glocal.golden import memmap, noc
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import MemmapError, Region
from glocal.golden.noc import Mesh

CFG = CoreConfig(axons=16, neurons=8, lanes=4, plastic_mask=1)
MESH = Mesh(rows=1, cols=2, depth=24, fanout=3)
ROUTING = (Region.ROUTE_PTR, Region.ROUTE_DEST)


@pytest.mark.parametrize("region", list(Region))
def test_every_entry_round_trips(region):
    for index in (0, memmap.region_size(CFG, region, MESH) - 1):
        addr = memmap.encode(CFG, 1, region, index, mesh=MESH)
        assert memmap.decode(CFG, addr, mesh=MESH) == memmap.Address(1, region, index)


def test_regions_do_not_overlap():
    seen = set()
    for region in Region:
        for index in range(memmap.region_size(CFG, region, MESH)):
            addr = memmap.encode(CFG, 0, region, index, mesh=MESH)
            assert addr not in seen
            seen.add(addr)


def test_routing_regions_have_the_mesh_tables_sizes_and_words():
    assert memmap.region_size(CFG, Region.ROUTE_PTR, MESH) == CFG.neurons
    assert memmap.region_size(CFG, Region.ROUTE_DEST, MESH) == MESH.depth
    assert memmap.region_width(CFG, Region.ROUTE_PTR, MESH) == sum(noc.ptr_fields(MESH).values())
    assert memmap.region_width(CFG, Region.ROUTE_DEST, MESH) == 1 + 1 + 4   # x, y, axon
    table = noc.route_table(MESH, CFG, [[noc.Dest(1, 15), noc.Dest(0, 3)]], core=0)
    width = memmap.region_width(CFG, Region.ROUTE_DEST, MESH)
    assert all(0 <= w < 1 << width for w in table.dest_words(MESH, CFG))


@pytest.mark.parametrize("region", ROUTING)
def test_routing_regions_do_not_exist_without_a_mesh(region):
    assert memmap.region_size(CFG, region) == 0
    with pytest.raises(MemmapError, match=f"{region.name} has no entries on a chip without"):
        memmap.encode(CFG, 0, region, 0)
    with pytest.raises(MemmapError, match=f"index 0 is past {region.name}'s 0 entries"):
        memmap.decode(CFG, memmap.pack_address(0, region, 0))
    with pytest.raises(MemmapError, match=f"{region.name} has no width without a mesh"):
        memmap.region_width(CFG, region)


def test_the_plasticity_enable_is_one_bit_per_synapse_only_on_cores_with_the_mask():
    assert memmap.region_size(CFG, Region.PLASTIC) == CFG.axons * CFG.neurons
    assert memmap.region_width(CFG, Region.PLASTIC) == 1
    assert not memmap.region_signed(Region.PLASTIC)
    plain = CoreConfig(axons=16, neurons=8, lanes=4)
    assert memmap.region_size(plain, Region.PLASTIC) == 0
    with pytest.raises(MemmapError, match="PLASTIC has no entries on cores without plastic_mask"):
        memmap.encode(plain, 0, Region.PLASTIC, 0)
    with pytest.raises(MemmapError, match="index 0 is past PLASTIC's 0 entries"):
        memmap.decode(plain, memmap.pack_address(0, Region.PLASTIC, 0))


def test_a_mesh_sets_the_core_count():
    mesh = Mesh(rows=2, cols=3)
    assert memmap.decode(CFG, memmap.pack_address(5, Region.U, 0), mesh=mesh).core == 5
    with pytest.raises(MemmapError, match="names core 6; the chip has 6"):
        memmap.decode(CFG, memmap.pack_address(6, Region.U, 0), mesh=mesh)


@pytest.mark.parametrize("addr, message", [
    (memmap.encode(CFG, 0, Region.WEIGHT, 0) + 16 * 8, r"index 128 is past WEIGHT's 128"),
    (15 << memmap.REGION_SHIFT, "unknown region 15"),
    (3 << memmap.CORE_SHIFT, "names core 3; the chip has 1"),
    (1 << 32, "32-bit unsigned"),
])
def test_bad_addresses_are_named(addr, message):
    with pytest.raises(MemmapError, match=message):
        memmap.decode(CFG, addr)
