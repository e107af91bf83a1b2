"""Host-side driver of one core: load parameters and state, run steps, read everything back.

The driver speaks only the configuration bus and the step control, so it runs unchanged
over any *port* that can carry them: `CocotbPort` (a Verilated core under cocotb) and
`AmaranthPort` (the Amaranth simulator). A port provides three coroutines:
``transact(reqs)`` (a list of ``(addr, write, data)``, returns ``[(data, error), ...]`` in
order), ``start()`` and ``wait_idle()``.
"""

from __future__ import annotations

import numpy as np

from glocal.golden import memmap
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region, region_signed
from glocal.golden.reference import CoreParams, CoreState, Registers

__all__ = ["CoreDriver", "BusError", "address"]

_MASK = (1 << 32) - 1


class BusError(RuntimeError):
    """The core answered a request with its error flag; the message names the address."""


def address(region: Region, index: int, core: int = 0) -> int:
    """Word address of entry ``index`` of ``region`` (no range check: tests send bad ones)."""
    return memmap.pack_address(core, region, index)


def _signed32(v: int) -> int:
    return v - (1 << 32) if v >> 31 else v


class CoreDriver:
    """Load, step and read back one core through its bus.

    Parameters
    ----------
    cfg : CoreConfig
        Configuration the core was built with.
    port
        Transport to the core (see the module docstring).
    core : int
        The core's index in the memory map (0 for a bare core; its place in a
        :class:`glocal.rtl.array.CoreArray`).
    """

    def __init__(self, cfg: CoreConfig, port, *, core: int = 0):
        self.cfg = cfg
        self.port = port
        self.core = core

    async def write_many(self, region: Region, values, start: int = 0) -> None:
        """Write ``values`` to consecutive entries of ``region`` from ``start``.

        Raises
        ------
        BusError
            If any write is answered with the error flag.
        """
        reqs = [(address(region, start + k, self.core), 1, int(v) & _MASK)
                for k, v in enumerate(values)]
        for (addr, _, _), (_, err) in zip(reqs, await self.port.transact(reqs), strict=True):
            if err:
                raise BusError(f"write to {addr:#010x} answered with error")

    async def read_many(self, region: Region, count: int, start: int = 0) -> np.ndarray:
        """Read ``count`` consecutive entries of ``region``, sign-extended where signed."""
        reqs = [(address(region, start + k, self.core), 0, 0) for k in range(count)]
        out = []
        for (addr, _, _), (data, err) in zip(reqs, await self.port.transact(reqs), strict=True):
            if err:
                raise BusError(f"read of {addr:#010x} answered with error")
            out.append(_signed32(data) if region_signed(region) else data)
        return np.array(out, dtype=np.int64)

    async def write_reg(self, reg: Reg, value: int) -> None:
        await self.write_many(Region.REGS, [value], int(reg))

    async def read_reg(self, reg: Reg) -> int:
        v = int((await self.read_many(Region.REGS, 1, int(reg)))[0])
        return _signed32(v) if reg == Reg.ALPHA else v

    async def load_regs(self, regs: Registers, *, t: int, refresh: int) -> None:
        """Write the run-time registers and the plastic clock and refresh row."""
        values = memmap.register_values(regs) | {Reg.T: t, Reg.REFRESH: refresh}
        for reg, value in values.items():
            await self.write_reg(reg, value)

    async def load(self, params: CoreParams, state: CoreState) -> None:
        """Write every parameter and every state memory of the core."""
        await self.load_regs(params.regs, t=state.t, refresh=state.refresh)
        for region, arr in ((Region.WEIGHT, params.weight), (Region.HEBB, state.hebb),
                            (Region.T_LAST, state.t_last), (Region.BETA, params.beta),
                            (Region.BIAS, params.bias), (Region.THETA, params.theta),
                            (Region.U, state.u), (Region.S, state.s),
                            (Region.P_TABLE, params.p_table)):
            await self.write_many(region, np.asarray(arr).reshape(-1))
        if params.plastic is not None:
            await self.write_many(Region.PLASTIC, np.asarray(params.plastic).reshape(-1))

    async def read_state(self, *, hebb: bool = True) -> CoreState:
        """Read the state back (``hebb=False`` skips H and returns zeros for it)."""
        cfg = self.cfg
        a, n = cfg.axons, cfg.neurons
        h = (await self.read_many(Region.HEBB, a * n)).reshape(a, n) if hebb else \
            np.zeros((a, n), np.int64)
        return CoreState(u=await self.read_many(Region.U, n), s=await self.read_many(Region.S, n),
                         hebb=h, t_last=await self.read_many(Region.T_LAST, a),
                         t=await self.read_reg(Reg.T), refresh=await self.read_reg(Reg.REFRESH))

    async def counters(self) -> dict[str, int]:
        """Every performance counter, by register name."""
        regs = [Reg.STEPS, Reg.CYC_INTEGRATE, Reg.CYC_FIRE, Reg.CYC_LEARN, Reg.CYC_STEP,
                Reg.SYN_OPS, Reg.PLASTIC_UPDATES, Reg.SPIKES_IN, Reg.SPIKES_OUT]
        vals = await self.read_many(Region.REGS, int(regs[-1]) - int(regs[0]) + 1, int(regs[0]))
        return {reg.name: int(v) for reg, v in zip(regs, vals, strict=True)}

    async def send_inputs(self, x) -> None:
        """OR the inputs ``x`` (spikes, or values with ``act_bits > 1``) into the pending
        axons; zeros are not written."""
        x = np.asarray(x)
        reqs = [(address(Region.AXON, int(i), self.core), 1, int(x[i]))
                for i in np.flatnonzero(x)]
        if reqs and any(err for _, err in await self.port.transact(reqs)):
            raise BusError("an input spike write was answered with error")

    async def step(self, x) -> None:
        """Send ``x``, start a step and wait until the core is idle again."""
        await self.send_inputs(x)
        await self.port.start()
        await self.port.wait_idle()

    async def run(self, xs) -> None:
        """Run the steps of ``xs`` back to back, then wait until the core is idle.

        Each step's inputs are written while the previous step runs, and each step is
        started as soon as the core is ready, so a step's learning pass overlaps the next
        step's integration.
        """
        if not len(xs):
            return
        await self.send_inputs(xs[0])
        for x in xs[1:]:
            await self.port.start()
            await self.send_inputs(x)
        await self.port.start()
        await self.port.wait_idle()


class CocotbPort:
    """`CoreDriver` transport over the top-level ports of a Verilated `Core` (cocotb 2)."""

    def __init__(self, dut):
        self.dut = dut

    async def transact(self, reqs):
        from cocotb.triggers import ReadOnly, RisingEdge

        dut = self.dut
        out = []
        sent = 0
        dut.bus__resp__ready.value = 1
        while len(out) < len(reqs):
            if sent < len(reqs):
                addr, write, data = reqs[sent]
                dut.bus__req__payload.value = addr | write << 32 | data << 33
                dut.bus__req__valid.value = 1
            else:
                dut.bus__req__valid.value = 0
            await ReadOnly()
            if sent < len(reqs) and int(dut.bus__req__ready.value):
                sent += 1
            if int(dut.bus__resp__valid.value):
                word = int(dut.bus__resp__payload.value)
                out.append((word & _MASK, word >> 32 & 1))
            await RisingEdge(dut.clk)
        dut.bus__req__valid.value = 0
        return out

    async def start(self):
        from cocotb.triggers import ReadOnly, RisingEdge

        dut = self.dut
        while True:
            await ReadOnly()
            if int(dut.ctrl__ready.value):
                break
            await RisingEdge(dut.clk)
        await RisingEdge(dut.clk)
        dut.ctrl__start.value = 1
        await RisingEdge(dut.clk)
        dut.ctrl__start.value = 0

    async def wait_idle(self, limit: int | None = None) -> int:
        """Wait until ``busy`` is low; return the cycles waited.

        Raises
        ------
        TimeoutError
            If ``busy`` is still high after ``limit`` cycles.
        """
        from cocotb.triggers import ReadOnly, RisingEdge

        cycles = 0
        while True:
            await ReadOnly()
            if not int(self.dut.ctrl__busy.value):
                break
            if limit is not None and cycles >= limit:
                raise TimeoutError(f"busy still high after {limit} cycles")
            await RisingEdge(self.dut.clk)
            cycles += 1
        await RisingEdge(self.dut.clk)
        return cycles


class AmaranthPort:
    """`CoreDriver` transport inside an Amaranth-simulator testbench (``ctx``)."""

    def __init__(self, ctx, core):
        self.ctx = ctx
        self.core = core

    async def transact(self, reqs):
        ctx, bus = self.ctx, self.core.bus
        out = []
        ctx.set(bus.resp.ready, 1)
        for addr, write, data in reqs:
            ctx.set(bus.req.payload, {"addr": addr, "write": write, "data": data})
            ctx.set(bus.req.valid, 1)
            await ctx.tick().until(bus.req.ready)
            ctx.set(bus.req.valid, 0)
            payload, = await ctx.tick().sample(bus.resp.payload).until(bus.resp.valid)
            out.append((payload.data, payload.error))
        return out

    async def start(self):
        ctrl = self.core.ctrl
        await self.ctx.tick().until(ctrl.ready)
        self.ctx.set(ctrl.start, 1)
        await self.ctx.tick()
        self.ctx.set(ctrl.start, 0)

    async def wait_idle(self):
        await self.ctx.tick().until(~self.core.ctrl.busy)
