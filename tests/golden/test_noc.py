"""The NoC contract: geometry, XY routes, table packing and limits, one step's delivery."""

import numpy as np
import pytest

from glocal.golden import memmap, noc
from glocal.golden.config import CoreConfig
from glocal.golden.noc import Dest, Mesh, NocError, Port
from glocal.sim.traffic import layer_tables, random_tables

CFG = CoreConfig(axons=32, neurons=16, lanes=4, acc_bits=16)


def test_core_ids_are_row_major_and_name_memmap_cores():
    mesh = Mesh(3, 4)
    for c in range(mesh.cores):
        x, y = mesh.xy(c)
        assert c == y * 4 + x == mesh.core(x, y)
        addr = memmap.encode(CFG, c, memmap.Region.AXON, 0, cores=mesh.cores)
        assert memmap.decode(CFG, addr, cores=mesh.cores).core == c


@pytest.mark.parametrize("rows, cols", [(1, 2), (2, 2), (2, 3), (4, 4)])
def test_xy_route_goes_x_first_then_y_by_neighbours(rows, cols):
    mesh = Mesh(rows, cols)
    for src in range(mesh.cores):
        for dst in range(mesh.cores):
            hops = noc.xy_route(mesh, src, dst)
            (sx, sy), (dx, dy) = mesh.xy(src), mesh.xy(dst)
            assert hops[0] == src and hops[-1] == dst
            assert len(hops) == abs(dx - sx) + abs(dy - sy) + 1
            xy = [mesh.xy(h) for h in hops]
            for (ax, ay), (bx, by) in zip(xy, xy[1:], strict=False):
                assert abs(ax - bx) + abs(ay - by) == 1
            turned = [i for i, (x, _) in enumerate(xy) if x == dx][0]
            assert all(y == sy for _, y in xy[:turned + 1]), "moved in Y before X was done"
    assert noc.out_port(mesh, 0, 0) is Port.LOCAL


def test_tables_pack_into_packet_and_pointer_words():
    mesh = Mesh(2, 3, depth=8, fanout=3)
    t = noc.route_table(mesh, CFG, [[Dest(5, 17), Dest(1, 3)], [], [Dest(2, 31)]], core=0)
    assert t.pointers[:3] == ((0, 2), (0, 0), (2, 1)) and len(t.pointers) == CFG.neurons
    assert noc.packet_fields(mesh, CFG) == {"x": 2, "y": 1, "axon": 5}
    assert noc.ptr_fields(mesh) == {"base": 3, "count": 2}
    assert t.dest_words(mesh, CFG) == [2 | 1 << 2 | 17 << 3, 1 | 0 << 2 | 3 << 3,
                                       2 | 0 << 2 | 31 << 3]
    assert t.pointer_words(mesh)[:3] == [0 | 2 << 3, 0, 2 | 1 << 3]


@pytest.mark.parametrize("targets, kw, message", [
    ([[Dest(1, 0)]] * 17, {}, r"core 0's routing table lists 17 neurons; a core has 16"),
    ([[Dest(c, 0) for c in range(4)]], {"fanout": 3},
     r"core 0 neuron 0 has 4 destinations; the fan-out limit is 3"),
    ([[Dest(1, j)] for j in range(5)], {"depth": 4},
     r"core 0's routing table needs 5 destination entries; the table holds 4"),
    ([[], [Dest(4, 0)]], {}, r"core 0 neuron 1 targets core 4, outside the 2×2 mesh"),
    ([[Dest(1, 32)]], {}, r"core 0 neuron 0 targets axon 32 of core 1; a core has 32 axons"),
    ([[Dest(1, 2), Dest(1, 2)]], {}, r"core 0 neuron 0 lists a destination twice"),
])
def test_tables_beyond_a_limit_are_rejected_naming_it(targets, kw, message):
    with pytest.raises(NocError, match=message):
        noc.route_table(Mesh(2, 2, **kw), CFG, targets, core=0)


def test_bad_meshes_and_shared_axons_are_rejected():
    with pytest.raises(NocError, match="Mesh.rows must be a positive integer, not 0"):
        Mesh(0, 2)
    with pytest.raises(NocError, match="has 272 cores; the memory map's core field names "
                                       "at most 256"):
        Mesh(16, 17)
    mesh = Mesh(1, 2)
    a = noc.route_table(mesh, CFG, [[], [Dest(1, 7)]], core=0)
    b = noc.route_table(mesh, CFG, [[], [], [Dest(1, 7)]], core=1)
    with pytest.raises(NocError, match="axon 7 of core 1 is driven by core 0 neuron 1 and "
                                       "by core 1 neuron 2"):
        noc.check_tables(mesh, CFG, [a, b])
    with pytest.raises(NocError, match="needs 2 routing tables, not 1"):
        noc.check_tables(mesh, CFG, [a])


def test_deliver_sets_each_target_of_each_fired_neuron_and_counts_every_hop():
    mesh = Mesh(2, 3, depth=64, fanout=3)
    rng = np.random.default_rng(4)
    tables = random_tables(mesh, CFG, rng, fanout=3, p_silent=0.2)
    noc.check_tables(mesh, CFG, tables)
    fired = (rng.random((mesh.cores, CFG.neurons)) < 0.5).astype(int)
    want = np.zeros((mesh.cores, CFG.axons), dtype=np.int64)
    n_packets = hops = 0
    for c in range(mesh.cores):
        for j in range(CFG.neurons):
            if fired[c, j]:
                for d in tables[c].targets(j):
                    want[d.core, d.axon] = 1
                    n_packets += 1
                    hops += len(noc.xy_route(mesh, c, d.core)) - 1
    np.testing.assert_array_equal(noc.deliver(mesh, CFG, tables, fired), want)
    t = noc.traffic(mesh, CFG, tables, fired)
    assert t.injected.sum() == t.ejected.sum() == n_packets == want.sum()
    assert sum(t.links.values()) == hops
    for a, b in t.links:
        assert len(noc.xy_route(mesh, a, b)) == 2, "a link joins neighbours"


def test_split_layer_reaches_every_core_of_the_next_layer_as_one_input_vector():
    # Layer 0 (32 neurons) on cores 0 and 1, layer 1 on cores 2 and 3: each layer-1 core
    # sees layer 0's spikes as axons 0..31, neuron j of the i-th core at axon 16·i + j.
    mesh = Mesh(2, 2, depth=32, fanout=2)
    tables = layer_tables(mesh, CFG, [[0, 1], [2, 3]])
    noc.check_tables(mesh, CFG, tables)
    rng = np.random.default_rng(5)
    fired = (rng.random((4, CFG.neurons)) < 0.5).astype(int)
    got = noc.deliver(mesh, CFG, tables, fired)
    layer0 = np.concatenate([fired[0], fired[1]])
    np.testing.assert_array_equal(got[2], layer0)
    np.testing.assert_array_equal(got[3], layer0)
    assert not got[:2].any(), "the last layer drives nothing"


def test_fired_must_be_spikes_of_every_core():
    mesh = Mesh(1, 2)
    tables = [noc.route_table(mesh, CFG, [], core=c) for c in range(2)]
    with pytest.raises(NocError, match=r"fired must have shape \(2, 16\), not \(16,\)"):
        noc.deliver(mesh, CFG, tables, np.zeros(16))
    with pytest.raises(NocError, match="fired must hold spikes"):
        noc.deliver(mesh, CFG, tables, np.full((2, 16), 2))
