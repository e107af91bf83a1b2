"""The soma lane against the reference model, in Amaranth's simulator."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from glocal.golden.config import CoreConfig
from glocal.rtl.soma import Soma
from glocal.sim import streams
from glocal.sim.vectors import soma_expected, soma_vectors

CONFIGS = {
    "default": CoreConfig(),
    "narrow": CoreConfig(axons=16, neurons=16, lanes=4, u_bits=10, bias_bits=8, acc_bits=12,
                         alpha_bits=8, alpha_frac=4, theta_bits=10, decay_frac=4),
}


def run_soma(cfg, vec, *, rng=None):
    """Stream ``vec`` through a Soma; random stalls on both sides when ``rng`` is given."""
    dut = Soma(cfg=cfg)
    n = len(vec["u"])
    out = {"u": [], "s": []}

    async def source(ctx):
        for k in range(n):
            ctx.set(dut.vth_shift, int(vec["vth_shift"][k]))
            ctx.set(dut.decay, int(vec["decay"][k]))
            idle = int(rng.integers(0, 3)) if rng is not None else 0
            await streams.put(ctx, dut.i, {"current": int(vec["current"][k]),
                                           "u": int(vec["u"][k]), "s": int(vec["s"][k])},
                              idle=idle)

    async def sink(ctx):
        for _ in range(n):
            idle = int(rng.integers(0, 3)) if rng is not None else 0
            p = await streams.get(ctx, dut.o, idle=idle)
            out["u"].append(p.u)
            out["s"].append(p.s)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}


@pytest.mark.parametrize("name", CONFIGS)
def test_soma_matches_reference_on_corners_and_random_inputs(name):
    cfg = CONFIGS[name]
    vec = soma_vectors(cfg, 10_000, seed=1)
    got = run_soma(cfg, vec)
    want = soma_expected(cfg, vec)
    for key in ("u", "s"):
        bad = np.flatnonzero(got[key] != want[key])
        assert bad.size == 0, (
            f"{key} mismatches at {bad.size} vectors, first {bad[0]}: "
            f"{ {k: int(v[bad[0]]) for k, v in vec.items()} } gave {got[key][bad[0]]}, "
            f"reference {want[key][bad[0]]}")


def test_soma_keeps_order_under_backpressure():
    cfg = CONFIGS["narrow"]
    vec = soma_vectors(cfg, 600, seed=2)
    got = run_soma(cfg, vec, rng=np.random.default_rng(3))
    want = soma_expected(cfg, vec)
    np.testing.assert_array_equal(got["u"], want["u"])
    np.testing.assert_array_equal(got["s"], want["s"])
