"""The bus-RAM fixture answers the bus as the memory map says the chip does."""

from amaranth.sim import Simulator

from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region
from glocal.sim import streams
from glocal.sim.busram import BusRam

CFG = CoreConfig(axons=16, neurons=8, lanes=4, acc_bits=12)


def transact(requests):
    """(addr, write, data) requests → (data, error) responses."""
    dut = BusRam(cfg=CFG, cores=2)
    out = []

    async def bench(ctx):
        for addr, write, data in requests:
            await streams.put(ctx, dut.bus.req, {"addr": addr, "write": write, "data": data})
            resp = await streams.get(ctx, dut.bus.resp)
            out.append((resp.data, resp.error))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return out


def a(core, region, index):
    return core << memmap.CORE_SHIFT | region << memmap.REGION_SHIFT | index


def test_widths_sign_extension_and_errors():
    got = transact([
        (a(1, Region.WEIGHT, 127), 1, 0x1FF),       # truncated to 8 bits: -1
        (a(1, Region.WEIGHT, 127), 0, 0),
        (a(0, Region.T_LAST, 3), 1, 0xFFFF),        # unsigned 5 bits
        (a(0, Region.T_LAST, 3), 0, 0),
        (a(0, Region.WEIGHT, 128), 0, 0),           # past the region
        (a(2, Region.U, 0), 0, 0),                  # no such core
        (a(0, 12, 0), 0, 0),                        # no such region
        (a(0, Region.REGS, Reg.STEPS), 1, 5),       # read-only register
        (a(0, Region.REGS, Reg.ALPHA), 1, 0xDEADBEEF),
        (a(0, Region.REGS, Reg.ALPHA), 0, 0),
        (a(0, Region.REGS, len(Reg)), 0, 0),        # past the registers
    ])
    assert got == [(0, 0), (0xFFFFFFFF, 0), (0, 0), (31, 0), (0, 1), (0, 1), (0, 1), (0, 1),
                   (0, 0), (0xDEADBEEF, 0), (0, 1)]
