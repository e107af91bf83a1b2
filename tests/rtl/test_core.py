"""The whole core in Amaranth's simulator, driven through its bus by `CoreDriver`.

Random cores against the reference model, the bus's refusal of bad requests, and
on-chip learning changing the response to the next sample.
"""

import functools
from dataclasses import replace

import numpy as np
import pytest
from amaranth.sim import Simulator

from glocal.golden import reference
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg, Region, region_size
from glocal.golden.reference import CoreParams, CoreState, Registers
from glocal.rtl.core import Core, memory_bits
from glocal.sim import streams
from glocal.sim.coredrv import AmaranthPort, CoreDriver, address
from glocal.sim.cores import RandomRun, random_run

SMALL = CoreConfig(axons=12, neurons=8, lanes=2, acc_bits=12)

#: Both organisations of W and H: block RAM with a read and a write port, and single-port
#: RAM (``Core(single_port=True)``, the iCE40's SPRAM); the latter as the iCE40 builds it,
#: ``lean``.
PORTS = [pytest.param(False, id="dual"), pytest.param(True, id="single")]


def _learning_run(cfg: CoreConfig, seed: int, xs: np.ndarray) -> RandomRun:
    """`random_run`'s parameters and state for ``seed``, with learning on and the inputs
    ``xs`` (one row a step)."""
    run = random_run(cfg, seed, len(xs))
    return RandomRun(params=replace(run.params, regs=replace(run.params.regs, learn=True)),
                     state=run.state, xs=xs, learn=[True] * len(xs))


def simulate(cfg, bench, background=(), single_port=False):
    """Run ``bench(drv)`` against a fresh core; return what it returns.

    ``background`` holds more testbenches ``tb(ctx, *, dut)`` that run beside it (the
    ``spikes`` stream is always ready unless one of them drives it).
    """
    dut = Core(cfg=cfg, single_port=single_port, lean=single_port)
    out = {}

    async def tb(ctx):
        out["value"] = await bench(CoreDriver(cfg, AmaranthPort(ctx, dut)))

    async def always_ready(ctx, *, dut):
        ctx.set(dut.spikes.ready, 1)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for other in background or (always_ready,):
        sim.add_testbench(functools.partial(other, dut=dut), background=True)
    sim.add_testbench(tb)
    sim.run()
    return out["value"]


async def run_and_compare(cfg, drv, params, state, xs, learn):
    """Load, step through ``xs`` and assert the state equals the reference after each step."""
    await drv.load(replace(params, regs=replace(params.regs, learn=learn[0])), state)
    trace = []
    for k, x in enumerate(xs):
        await drv.write_reg(Reg.LEARN, int(learn[k]))
        state = reference.step(cfg, replace(params, regs=replace(params.regs, learn=learn[k])),
                               state, x)
        await drv.step(x)
        got = await drv.read_state()
        for name in ("u", "s", "hebb", "t_last"):
            np.testing.assert_array_equal(getattr(got, name), getattr(state, name),
                                          err_msg=f"step {k}: {name}")
        assert (got.t, got.refresh) == (state.t, state.refresh), f"step {k}"
        trace.append(got)
    return trace


@pytest.mark.parametrize("single_port", PORTS)
@pytest.mark.parametrize("cfg,seed", [
    (SMALL, 1), (SMALL, 2), (CoreConfig(axons=5, neurons=4, lanes=4, acc_bits=11), 3),
    # An odd number of lane groups: H words holding the end of one row and the start of
    # the next (a single port writes such a half alone).
    (CoreConfig(axons=7, neurons=3, lanes=1, acc_bits=11), 6),
    (CoreConfig(axons=9, neurons=12, lanes=4, acc_bits=12), 7)])
def test_core_steps_equal_reference(cfg, seed, single_port):
    run = random_run(cfg, seed, 4)

    async def bench(drv):
        await run_and_compare(cfg, drv, run.params, run.state, run.xs, run.learn)

    simulate(cfg, bench, single_port=single_port)


# Many lane groups per row: a learning pass outlasts the writes of the next inputs, so the
# next step's integration really runs beside it (and meets its row hazards).
@pytest.mark.parametrize("single_port", PORTS)
@pytest.mark.parametrize("cfg,seed", [
    (CoreConfig(axons=12, neurons=32, lanes=1, acc_bits=12), 4),
    (CoreConfig(axons=9, neurons=48, lanes=2, acc_bits=12), 5)])
def test_back_to_back_steps_overlap_learning_and_equal_reference(cfg, seed, single_port):
    rng = np.random.default_rng(seed)
    a, n = cfg.axons, cfg.neurons
    params = CoreParams(
        weight=rng.integers(-8, 9, (a, n)), bias=np.zeros(n, np.int64),
        beta=np.full(a, 127), theta=np.full(n, -30000),        # f near +1: H grows
        p_table=reference.decay_table(cfg, 0.9),
        regs=Registers(vth_shift=12, decay=128, alpha=1 << cfg.alpha_frac, h_max=100))
    state = replace(CoreState.zeros(cfg), hebb=rng.integers(-50, 51, (a, n)))
    # Every row learned, then only the last one (learned last) integrated: the hazard.
    xs = np.ones((6, a), np.int64)
    xs[1::2, :-1] = 0
    run = RandomRun(params=params, state=state, xs=xs, learn=[True] * 6)
    want = run.expected(cfg)[-1]

    async def bench(drv):
        await drv.load(replace(run.params, regs=replace(run.params.regs, learn=True)),
                       run.state)
        await drv.run(run.xs)
        got = await drv.read_state()
        counters = await drv.counters()
        for name in ("u", "s", "hebb", "t_last"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name),
                                          err_msg=name)
        assert (got.t, got.refresh) == (want.t, want.refresh)
        return counters

    counters = simulate(cfg, bench, single_port=single_port)
    if single_port:
        # Learn(t) and integrate(t+1) take turns (one port for H): the core was ready
        # before each learning pass had finished, but integrated only after it.
        return
    # The learning passes overlapped: the core was ready before they had finished.
    assert counters["CYC_STEP"] < counters["CYC_INTEGRATE"] + counters["CYC_FIRE"] \
        + counters["CYC_LEARN"]


@pytest.mark.parametrize("neurons,extra", [(32, 1), (8, 1), (3, 10), (1, 7)])
def test_single_port_learning_costs_one_cycle_a_pass_with_an_even_group_count(neurons, extra):
    """LEARN's cycles with single-port H against block RAM: one more a pass (the merged
    word's write stage) when each row is whole words (``G`` even); with ``G`` odd a word
    holds two rows' ends and LEARN waits about a cycle a row (every row at ``G = 1``)."""
    cfg = CoreConfig(axons=12, neurons=neurons, lanes=1, acc_bits=12)
    xs = np.ones((4, cfg.axons), np.int64)
    xs[:, ::3] = 0                                    # 8 active rows, learned with the refresh row
    run = _learning_run(cfg, 5, xs)
    want = run.expected(cfg)[-1]

    async def bench(drv):
        await drv.load(run.params, run.state)
        await drv.run(run.xs)
        await drv.port.wait_idle()
        np.testing.assert_array_equal((await drv.read_state()).hebb, want.hebb)
        return await drv.counters()

    dual, single = (simulate(cfg, bench, single_port=sp) for sp in (False, True))
    assert single["CYC_LEARN"] - dual["CYC_LEARN"] == extra * len(xs)


@pytest.mark.parametrize("single_port", PORTS)
def test_bad_requests_are_refused_and_write_nothing(single_port):
    cfg = SMALL
    run = random_run(cfg, 7, 1)
    a, n = cfg.axons, cfg.neurons
    bad = [
        address(Region.WEIGHT, a * n), address(Region.HEBB, a * n + 1),
        address(Region.T_LAST, a), address(Region.BIAS, n), address(Region.U, 0xFFFFF),
        address(Region.P_TABLE, region_size(cfg, Region.P_TABLE)),
        address(Region.AXON, a), address(Region.REGS, len(Reg)),
        address(Region.WEIGHT, 0, core=1), address(Region.REGS, 0, core=255),
        address(11, 0), address(15, 3),
    ]
    readonly = [address(Region.REGS, int(r)) for r in Reg if r >= Reg.STEPS]

    async def bench(drv):
        await drv.load(run.params, run.state)
        before = await drv.read_state()
        weights = await drv.read_many(Region.WEIGHT, a * n)
        assert await drv.read_reg(Reg.STATUS) == 0
        for addr in bad + readonly + [address(Region.REGS, int(Reg.REFRESH))]:
            value = a if addr == address(Region.REGS, int(Reg.REFRESH)) else 0x5A5A5A5A
            (_, err), = await drv.port.transact([(addr, 1, value)])
            assert err == 1, f"write to {addr:#010x} was not refused"
            assert await drv.read_reg(Reg.STATUS) & 2, f"{addr:#010x} did not set STATUS"
            await drv.write_reg(Reg.STATUS, 2)
            assert await drv.read_reg(Reg.STATUS) == 0
        for addr in bad:
            (_, err), = await drv.port.transact([(addr, 0, 0)])
            assert err == 1, f"read of {addr:#010x} was not refused"
        after = await drv.read_state()
        for name in ("u", "s", "hebb", "t_last"):
            np.testing.assert_array_equal(getattr(after, name), getattr(before, name))
        np.testing.assert_array_equal(await drv.read_many(Region.WEIGHT, a * n), weights)
        assert (after.t, after.refresh) == (before.t, before.refresh)
        for offset in range(int(Reg.STEPS), len(Reg)):
            assert await drv.read_reg(Reg(offset)) == 0
        assert not (await drv.read_many(Region.AXON, a)).any()

    simulate(cfg, bench, single_port=single_port)


@pytest.mark.parametrize("single_port", PORTS)
def test_on_chip_learning_changes_hebb_and_the_next_response(single_port):
    cfg = CoreConfig(axons=16, neurons=8, lanes=4, acc_bits=12)
    a, n = cfg.axons, cfg.neurons
    rng = np.random.default_rng(3)
    params = CoreParams(
        weight=rng.integers(-4, 5, (a, n)), bias=np.zeros(n, np.int64),
        beta=np.full(a, 100), theta=np.full(n, -1000),      # f near +1 everywhere
        p_table=reference.decay_table(cfg, 0.95),
        regs=Registers(vth_shift=8, decay=128, alpha=1 << cfg.alpha_frac, h_max=120))
    sample = (rng.random(a) < 0.5).astype(np.int64)
    xs = np.array([sample] * 4)
    state = CoreState.zeros(cfg)

    async def bench(drv):
        on = await run_and_compare(cfg, drv, params, state, xs, [True, True, True, False])
        off = await run_and_compare(cfg, drv, params, state, xs, [False] * 4)
        return on, off

    on, off = simulate(cfg, bench, single_port=single_port)
    assert np.abs(on[2].hebb).sum() > 0 and np.all(off[2].hebb == 0), "H did not learn"
    # The fourth step (learning off) sees the learned H: a different membrane.
    assert not np.array_equal(on[3].u, off[3].u), "learning did not change the response"


@pytest.mark.parametrize("cfg,seed,single_port", [
    (CoreConfig(axons=12, neurons=16, lanes=4, acc_bits=12), 11, False),
    (CoreConfig(axons=6, neurons=9, lanes=1, acc_bits=12), 12, False),
    (CoreConfig(axons=20, neurons=64, lanes=4), 13, False),
    pytest.param(CoreConfig(axons=6, neurons=9, lanes=1, acc_bits=12), 12, True,
                 id="single")])
def test_spike_stream_carries_each_steps_fired_set_under_back_pressure(cfg, seed, single_port):
    run = random_run(cfg, seed, 8)
    # Fire often: a zero threshold exponent and a positive bias.
    run.params = replace(run.params, bias=np.full(cfg.neurons, 3),
                         regs=replace(run.params.regs, vth_shift=cfg.vth_shift_range[0]))
    run.learn = [True] * len(run.xs)
    want = run.expected(cfg)
    assert sum(int(w.s.sum()) for w in want) > len(want), "the case fires too little to test"
    started = [0]
    taken = []          # (step, neuron id)

    async def sink(ctx, *, dut):
        rng = np.random.default_rng(seed)
        while True:
            ctx.set(dut.spikes.ready, int(rng.random() < 0.4))
            _, _, valid, ready, nid, step_ready = await ctx.tick().sample(
                dut.spikes.valid, dut.spikes.ready, dut.spikes.payload.neuron, dut.ctrl.ready)
            if valid and ready:
                assert not step_ready, f"ready was high while neuron {nid} was being sent"
                taken.append((started[0] - 1, nid))

    async def bench(drv):
        await drv.load(replace(run.params, regs=replace(run.params.regs, learn=True)),
                       run.state)
        # One step alone, then the rest back to back (learning overlaps integration).
        await drv.send_inputs(run.xs[0])
        await drv.port.start()
        started[0] += 1
        await drv.port.wait_idle()
        await drv.send_inputs(run.xs[1])
        for x in list(run.xs[2:]) + [None]:
            await drv.port.start()
            started[0] += 1
            if x is not None:
                await drv.send_inputs(x)
        await drv.port.wait_idle()
        return await drv.read_state()

    got = simulate(cfg, bench, background=[sink], single_port=single_port)
    np.testing.assert_array_equal(got.u, want[-1].u)
    np.testing.assert_array_equal(got.hebb, want[-1].hebb)
    for k, w in enumerate(want):
        ids = [nid for step, nid in taken if step == k]
        assert len(ids) == len(set(ids)), f"step {k}: a neuron was sent twice: {sorted(ids)}"
        assert sorted(ids) == list(np.flatnonzero(w.s)), f"step {k}: spikes {sorted(ids)}"
    assert len(taken) == sum(int(w.s.sum()) for w in want)


@pytest.mark.parametrize("cfg,seed,single_port", [
    (SMALL, 21, False), (CoreConfig(axons=37, neurons=8, lanes=8), 22, False),
    pytest.param(SMALL, 21, True, id="single")])
def test_axon_stream_sets_the_pending_bank_like_bus_writes(cfg, seed, single_port):
    run = random_run(cfg, seed, 6)
    run.xs = (np.random.default_rng(seed).random(run.xs.shape) < 0.4).astype(np.int64)
    want = run.expected(cfg)
    rng = np.random.default_rng(seed + 100)
    queue = []          # axon ids for the stream feeder, repeats included

    async def feeder(ctx, *, dut):
        ctx.set(dut.spikes.ready, 1)
        while True:
            if not queue:
                await ctx.tick()
                continue
            await streams.put(ctx, dut.axons, {"axon": queue[0]}, idle=int(rng.integers(0, 3)))
            queue.pop(0)

    async def send(drv, x):
        """Half the active axons over the bus, the rest (some twice) over the stream."""
        active = np.flatnonzero(x)
        by_stream = rng.random(len(active)) < 0.5
        ids = [int(i) for i in active[by_stream]]
        queue.extend(ids + ids[: len(ids) // 2])
        bus_x = np.zeros_like(x)
        bus_x[active[~by_stream]] = 1
        await drv.send_inputs(bus_x)
        while queue:
            await drv.port.ctx.tick()

    async def bench(drv):
        await drv.load(run.params, run.state)
        await send(drv, run.xs[0])
        for k in range(len(run.xs)):
            await drv.write_reg(Reg.LEARN, int(run.learn[k]))
            await drv.port.start()
            if k + 1 < len(run.xs):
                await send(drv, run.xs[k + 1])      # into the pending bank while k runs
            await drv.port.wait_idle()
            got = await drv.read_state()
            for name in ("u", "s", "hebb", "t_last"):
                np.testing.assert_array_equal(getattr(got, name), getattr(want[k], name),
                                              err_msg=f"step {k}: {name}")

    simulate(cfg, bench, background=[feeder], single_port=single_port)


def test_integration_does_not_wait_for_rows_the_previous_learning_pass_leaves_alone():
    # Consecutive steps use disjoint halves of the axons: learn(t) writes none of the rows
    # integrate(t+1) reads except perhaps the refresh row, so integrate(t+1) runs at once
    # (a rule that waits for learn(t) to pass each row takes about twice as long).
    cfg = CoreConfig(axons=12, neurons=32, lanes=2, acc_bits=12)
    a, g = cfg.axons, cfg.groups
    xs = np.zeros((6, a), np.int64)
    xs[0::2, : a // 2] = 1
    xs[1::2, a // 2:] = 1
    run = _learning_run(cfg, 31, xs)
    want = run.expected(cfg)[-1]

    async def bench(drv):
        await drv.load(run.params, run.state)
        await drv.run(run.xs)
        got = await drv.read_state()
        for name in ("u", "s", "hebb", "t_last"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name),
                                          err_msg=name)
        return await drv.counters()

    counters = simulate(cfg, bench)
    per_step = counters["CYC_INTEGRATE"] / len(xs)
    # A·G, plus at most one row's wait for the refresh row and the pipeline's fill.
    assert per_step <= (a // 2) * g + g + 8, f"{per_step} integrate cycles per step"


# -- per-synapse plasticity enable (cfg.plastic_mask) --------------------------------------

MASKED = replace(SMALL, plastic_mask=1)


@pytest.mark.parametrize("cfg,seed,single_port", [
    (MASKED, 11, False), (replace(MASKED, lanes=4), 12, False),
    (CoreConfig(axons=9, neurons=48, lanes=2, acc_bits=12, plastic_mask=1), 13, False),
    pytest.param(MASKED, 11, True, id="single")])
def test_core_with_plasticity_enables_learns_only_enabled_synapses(cfg, seed, single_port):
    """A half-enabled random mask, learning on every step (back to back), against the
    reference: H of disabled synapses only ages; of enabled ones it learns."""
    rng = np.random.default_rng(seed)
    run = random_run(cfg, seed, 6)
    plastic = (rng.random((cfg.axons, cfg.neurons)) < 0.5).astype(np.int64)
    params = replace(run.params, plastic=plastic, beta=np.full(cfg.axons, 100),
                     regs=replace(run.params.regs, h_max=cfg.h_max_limit, learn=True))
    state = replace(run.state, hebb=np.zeros((cfg.axons, cfg.neurons), np.int64))
    xs = (rng.random((6, cfg.axons)) < 0.5).astype(np.int64)
    want = RandomRun(params=params, state=state, xs=xs, learn=[True] * 6).expected(cfg)[-1]
    # The mask matters here: without it the same core learns a different H.
    free = RandomRun(params=replace(params, plastic=np.ones_like(plastic)), state=state,
                     xs=xs, learn=[True] * 6).expected(cfg)[-1]
    assert not np.array_equal(want.hebb, free.hebb)
    assert np.all(want.hebb[plastic == 0] == 0)

    async def bench(drv):
        await drv.load(params, state)
        back = await drv.read_many(Region.PLASTIC, cfg.axons * cfg.neurons)
        await drv.run(xs)
        return back, await drv.read_state()

    back, got = simulate(cfg, bench, single_port=single_port)
    np.testing.assert_array_equal(back.reshape(cfg.axons, cfg.neurons), plastic)
    for name in ("u", "s", "hebb", "t_last"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    assert (got.t, got.refresh) == (want.t, want.refresh)


def test_core_without_the_mask_has_no_enable_memory_and_refuses_its_region():
    async def bench(drv):
        (_, err), = await drv.port.transact([(address(Region.PLASTIC, 0), 1, 1)])
        return err

    assert simulate(SMALL, bench) == 1
    assert region_size(SMALL, Region.PLASTIC) == 0
    assert "plastic" not in memory_bits(SMALL)
    assert memory_bits(MASKED)["plastic"] == MASKED.axons * MASKED.neurons


@pytest.mark.parametrize("single_port", PORTS)
@pytest.mark.parametrize("target", ["u", "t"])
@pytest.mark.parametrize("lead", range(-1, 5))
def test_a_bus_write_racing_a_steps_start_lands_before_or_after_the_step(lead, target,
                                                                          single_port):
    # The ports change owner a cycle after the step starts or ends (``owned``): a memory
    # write taken around ``start`` is served in the step's first cycle (it acts before the
    # step) or waits until the step is over (it acts after), and is never lost or mixed
    # into a pass. A register write (``T``, which the step's first cycle advances) waits
    # from the cycle ``start`` is taken. ``lead``: cycles from the request being offered
    # to ``start``.
    cfg = SMALL
    run = random_run(cfg, 21, 1)
    params = replace(run.params, regs=replace(run.params.regs, learn=True))
    x = run.xs[0]
    value = 37 if target == "u" else 5
    addr = address(Region.U, 0) if target == "u" else address(Region.REGS, int(Reg.T))

    def written(state):
        if target == "u":
            return replace(state, u=np.concatenate([[value], state.u[1:]]))
        return replace(state, t=value)

    async def bench(drv):
        ctx, core = drv.port.ctx, drv.port.core
        await drv.load(params, run.state)
        await drv.send_inputs(x)
        ctx.set(core.bus.resp.ready, 1)
        ctx.set(core.bus.req.payload, {"addr": addr, "write": 1, "data": value})
        taken = answered = False
        for cycle in range(-max(lead, 0), 400):
            ctx.set(core.bus.req.valid, cycle >= -lead and not taken)
            ctx.set(core.ctrl.start, cycle == 0)
            _, _, took, resp = await ctx.tick().sample(
                core.bus.req.valid & core.bus.req.ready, core.bus.resp.valid)
            taken, answered = taken or bool(took), answered or bool(resp)
            if answered and cycle >= 0:
                break
        assert answered
        ctx.set(core.bus.req.valid, 0)
        ctx.set(core.ctrl.start, 0)
        await drv.port.wait_idle()
        return await drv.read_state()

    got = simulate(cfg, bench, single_port=single_port)
    after = written(reference.step(cfg, params, run.state, x))
    before = reference.step(cfg, params, written(run.state), x)
    matches = [all(np.array_equal(getattr(got, k), getattr(ref, k))
                   for k in ("u", "s", "hebb", "t_last", "t")) for ref in (before, after)]
    assert any(matches), "the write was lost or mixed into the step"
