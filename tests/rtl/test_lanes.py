"""The dendrite and plasticity datapaths against the reference model, in Amaranth's simulator."""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from glocal.golden import fixed, reference
from glocal.golden.config import CoreConfig
from glocal.rtl.dendrite import Dendrite, latency
from glocal.rtl.plastic import STAGE, Plastic, trace_index
from glocal.sim.vectors import spread

CONFIGS = {
    "default": CoreConfig(lanes=4),
    "narrow": CoreConfig(axons=16, neurons=16, lanes=2, w_bits=4, h_bits=5, h_frac=3,
                         bias_bits=8, u_bits=10, acc_bits=12, alpha_bits=8, alpha_frac=4,
                         beta_bits=4, beta_frac=3, theta_bits=10, decay_frac=4, p_frac=6),
}


def simulate(dut, vectors, outputs):
    """Apply each dict of ``vectors`` to ``dut``'s inputs; return its ``outputs`` per vector."""
    got = []

    async def bench(ctx):
        for vec in vectors:
            for name, value in vec.items():
                ctx.set(getattr(dut, name), value)
            got.append({name: ctx.get(getattr(dut, name)) for name in outputs})
            await ctx.delay(1e-6)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return got


def simulate_pipeline(dut, vectors, outputs, stage, out):
    """Stream ``vectors`` through the pipeline ``dut``, one per cycle: vector ``k``'s input
    ``name`` is applied in cycle ``k + stage[name]`` and its ``outputs`` are read in cycle
    ``k + out``. Consecutive vectors overlap in the pipeline, as lane groups do in a core.
    """
    got = [None] * len(vectors)

    async def bench(ctx):
        for c in range(len(vectors) + out):
            for name in vectors[0]:
                k = c - stage[name]
                if 0 <= k < len(vectors):
                    ctx.set(getattr(dut, name), vectors[k][name])
            if 0 <= c - out < len(vectors):
                got[c - out] = {name: ctx.get(getattr(dut, name)) for name in outputs}
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return got


def corner_or_random(rng, n, bits, corners):
    v = spread(rng, n, bits)
    pick = rng.random(n) < 0.3
    v[pick] = rng.choice(np.array(corners, np.int64), pick.sum())
    return v


@pytest.mark.parametrize("name", CONFIGS)
def test_dendrite_ages_and_accumulates_like_reference(name):
    cfg = CONFIGS[name]
    rng = np.random.default_rng(11)
    n, L = 400, cfg.lanes
    p = np.concatenate([[0, 1 << cfg.p_frac], rng.integers(0, (1 << cfg.p_frac) + 1, n - 2)])
    w = corner_or_random(rng, n * L, cfg.w_bits, [fixed.smin(cfg.w_bits), fixed.smax(cfg.w_bits)])
    h = corner_or_random(rng, n * L, cfg.h_bits, [fixed.smin(cfg.h_bits), fixed.smax(cfg.h_bits)])
    lim = fixed.smax(cfg.acc_bits) - (1 << max(cfg.w_bits, cfg.h_bits))
    acc_w = np.clip(spread(rng, n * L, cfg.acc_bits), -lim, lim)
    acc_h = np.clip(spread(rng, n * L, cfg.acc_bits), -lim, lim)
    first = rng.integers(0, 2, n)
    vectors = [{"p": int(p[k]), "w": w[k * L:(k + 1) * L].tolist(),
                "h": h[k * L:(k + 1) * L].tolist(), "acc_w": acc_w[k * L:(k + 1) * L].tolist(),
                "acc_h": acc_h[k * L:(k + 1) * L].tolist(), "first": int(first[k])}
               for k in range(n)]
    lat = latency(cfg)
    stage = {"p": 0, "w": 0, "h": 0, "acc_w": lat, "acc_h": lat, "first": lat}
    got = simulate_pipeline(Dendrite(cfg=cfg), vectors, ["sum_w", "sum_h", "h_aged"], stage,
                            lat)
    for k, vec in enumerate(vectors):
        h_row = np.array(vec["h"])[None, :]
        table = np.array([vec["p"]])
        aged = reference.age(cfg, h_row, np.array([0]), 0, table)[0]
        zero = np.zeros(L, np.int64)
        acc_w0, acc_h0 = (zero, zero) if vec["first"] else (np.array(vec["acc_w"]),
                                                            np.array(vec["acc_h"]))
        dw, dh = reference.integrate(np.array([1]), np.array(vec["w"])[None, :], aged[None, :])
        assert list(got[k]["h_aged"]) == aged.tolist(), vec
        assert list(got[k]["sum_w"]) == (acc_w0 + dw).tolist(), vec
        assert list(got[k]["sum_h"]) == (acc_h0 + dh).tolist(), vec


@pytest.mark.parametrize("name", CONFIGS)
def test_plastic_update_matches_reference_learn(name):
    cfg = CONFIGS[name]
    rng = np.random.default_rng(12)
    n, L = 400, cfg.lanes
    vectors = []
    for _ in range(n):
        vectors.append({
            "p": int(rng.choice([0, 1 << cfg.p_frac, rng.integers(0, (1 << cfg.p_frac) + 1)])),
            "h": corner_or_random(rng, L, cfg.h_bits,
                                  [fixed.smin(cfg.h_bits), fixed.smax(cfg.h_bits)]).tolist(),
            "beta": int(corner_or_random(rng, 1, cfg.beta_bits, [fixed.smin(cfg.beta_bits),
                                                                fixed.smax(cfg.beta_bits)])[0]),
            "f": rng.choice(fixed.F_TABLE, L).tolist(),
            "x": int(rng.integers(0, 2)),
            "h_max": int(rng.choice([0, 1, cfg.h_max_limit, rng.integers(0, cfg.h_max_limit)])),
        })
    got = simulate_pipeline(Plastic(cfg=cfg), vectors, ["h_new"], STAGE, STAGE["h_new"])
    for k, v in enumerate(vectors):
        h = np.array(v["h"])[None, :]
        aged = reference.age(cfg, h, np.array([0]), 0, np.array([v["p"]]))
        # The row is the refresh row (touched even when x = 0).
        want, _ = reference.learn(cfg, np.array([v["x"]]), h, aged, np.array([0]), 1, 0,
                                  np.array([v["beta"]]), np.array(v["f"]), v["h_max"])
        assert list(got[k]["h_new"]) == want[0].tolist(), v


class _Trace(wiring.Component):
    def __init__(self, cfg):
        self._cfg = cfg
        super().__init__({"u": In(cfg.u_bits, ), "theta": In(cfg.theta_bits),
                          "vth_shift": In(range(cfg.vth_shift_range[1] + 1)), "idx": Out(8)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.idx.eq(trace_index(m, self._cfg, self.u.as_signed(),
                                            self.theta.as_signed(), self.vth_shift))
        return m


@pytest.mark.parametrize("name", CONFIGS)
def test_post_trace_index_selects_reference_entry(name):
    cfg = CONFIGS[name]
    rng = np.random.default_rng(13)
    lo, hi = cfg.vth_shift_range
    n = 600
    u = corner_or_random(rng, n, cfg.u_bits, [fixed.smin(cfg.u_bits), fixed.smax(cfg.u_bits)])
    theta = corner_or_random(rng, n, cfg.theta_bits,
                             [fixed.smin(cfg.theta_bits), fixed.smax(cfg.theta_bits)])
    vth = rng.integers(lo, hi + 1, n)
    vth[:2] = lo, hi
    mask_u, mask_t = (1 << cfg.u_bits) - 1, (1 << cfg.theta_bits) - 1
    vectors = [{"u": int(u[k]) & mask_u, "theta": int(theta[k]) & mask_t,
                "vth_shift": int(vth[k])} for k in range(n)]
    got = simulate(_Trace(cfg), vectors, ["idx"])
    for k in range(n):
        want = reference.post_trace(u[k], theta[k], int(vth[k]))
        assert fixed.F_TABLE[got[k]["idx"]] == want, vectors[k]
