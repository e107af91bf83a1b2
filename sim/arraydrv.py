"""Host-side driver of a many-core chip's bus: load a program, run steps, read every core.

`ArrayDriver` speaks the configuration bus and step control of a
:class:`glocal.rtl.array.CoreArray` through the same ports as
:class:`glocal.sim.coredrv.CoreDriver` (one `CoreDriver` per core, addressed by the
memory map's core field), plus the routing regions and packet counters of the chip.
"""

from __future__ import annotations

import numpy as np

from glocal.golden.chip import Program
from glocal.golden.memmap import Reg, Region
from glocal.golden.reference import CoreState
from glocal.sim.coredrv import BusError, CoreDriver, address

__all__ = ["ArrayDriver"]



class ArrayDriver:
    """Load, step and read back every core of a program's mesh.

    Parameters
    ----------
    program : Program
        What the chip is to hold (its ``cfg`` and ``mesh`` must be the chip's).
    port
        A `CoreDriver` port (``transact``, ``start``, ``wait_idle``) to the array.
    """

    def __init__(self, program: Program, port):
        self.program = program
        self.cfg, self.mesh = program.cfg, program.mesh
        self.port = port
        self.cores = [CoreDriver(self.cfg, port, core=c) for c in range(self.mesh.cores)]

    async def load(self, states: list[CoreState]) -> None:
        """Every core's parameters, ``states`` and routing table; pending inputs cleared."""
        for c, (drv, params, state) in enumerate(zip(self.cores, self.program.cores, states,
                                                     strict=True)):
            await drv.load(params, state)
            await drv.write_many(Region.AXON, [0] * self.cfg.axons)
            await self.write_routes(c)

    async def write_routes(self, core: int) -> None:
        table, drv = self.program.tables[core], self.cores[core]
        await drv.write_many(Region.ROUTE_PTR, table.pointer_words(self.mesh))
        if table.dests:
            await drv.write_many(Region.ROUTE_DEST, table.dest_words(self.mesh, self.cfg))

    async def read_routes(self, core: int) -> tuple[list[int], list[int]]:
        """Pointer words and the used destination words of ``core``'s table, read back."""
        drv, used = self.cores[core], len(self.program.tables[core].dests)
        ptr = await drv.read_many(Region.ROUTE_PTR, self.cfg.neurons)
        dest = await drv.read_many(Region.ROUTE_DEST, used) if used else np.zeros(0, np.int64)
        return [int(v) for v in ptr], [int(v) for v in dest]

    async def send_inputs(self, bitmaps) -> None:
        """OR the inputs ``bitmaps`` (cores, axons) into the pending axons, all cores in one
        burst (spikes, or values with ``act_bits > 1``)."""
        bitmaps = np.asarray(bitmaps)
        reqs = [(address(Region.AXON, int(a), c), 1, int(bitmaps[c, a]))
                for c in range(self.mesh.cores) for a in np.flatnonzero(bitmaps[c])]
        if reqs and any(err for _, err in await self.port.transact(reqs)):
            raise BusError("an input spike write was answered with error")

    async def read_many(self, region: Region, count: int) -> np.ndarray:
        """``count`` entries of ``region`` of every core, shape (cores, count)."""
        return np.stack([await drv.read_many(region, count) for drv in self.cores])

    async def spikes(self) -> np.ndarray:
        return await self.read_many(Region.S, self.cfg.neurons)

    async def membranes(self) -> np.ndarray:
        return await self.read_many(Region.U, self.cfg.neurons)

    async def pending(self) -> np.ndarray:
        """The pending axon banks (the next step's inputs so far), shape (cores, axons)."""
        return await self.read_many(Region.AXON, self.cfg.axons)

    async def hebb(self) -> np.ndarray:
        a, n = self.cfg.axons, self.cfg.neurons
        return (await self.read_many(Region.HEBB, a * n)).reshape(-1, a, n)

    async def registers(self, first: Reg, last: Reg) -> np.ndarray:
        """Registers ``first..last`` of every core, shape (cores, last - first + 1)."""
        k = int(last) - int(first) + 1
        return np.stack([await drv.read_many(Region.REGS, k, int(first)) for drv in self.cores])

    async def packets(self) -> tuple[np.ndarray, np.ndarray]:
        """Packet counters (injected, ejected) of every core."""
        regs = await self.registers(Reg.PACKETS_OUT, Reg.PACKETS_IN)
        return regs[:, 0], regs[:, 1]
