"""cocotb bench behind ``bench/core_efficiency.py``: step period and counters per activity.

Steps are issued back to back the way a host would: the next step's inputs are written
while the current step runs, and ``start`` is given as soon as ``ready`` rises. Cycle
counts do not depend on weight values, so the core keeps its reset contents; learning
is on (the costlier case). Environment: ``GLOCAL_CFG``, ``GLOCAL_ACTIVITY`` (comma
separated fractions), ``GLOCAL_STEPS``, ``GLOCAL_OUT`` (JSON file for the results).
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.utils import get_sim_time

from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Reg
from glocal.sim.core_tb import _reset
from glocal.sim.coredrv import CocotbPort, CoreDriver

PERIOD_NS = 10


@cocotb.test()
async def measure(dut):
    cfg = CoreConfig(**json.loads(os.environ["GLOCAL_CFG"]))
    steps = int(os.environ.get("GLOCAL_STEPS", "6"))
    rng = np.random.default_rng(0)
    await _reset(dut)
    drv = CoreDriver(cfg, CocotbPort(dut))
    await drv.write_reg(Reg.VTH_SHIFT, 8)
    await drv.write_reg(Reg.LEARN, 1)
    results = []
    for activity in (float(a) for a in os.environ["GLOCAL_ACTIVITY"].split(",")):
        count = round(activity * cfg.axons)
        xs = []
        for _ in range(steps + 1):
            x = np.zeros(cfg.axons, np.int64)
            x[rng.choice(cfg.axons, count, replace=False)] = 1
            xs.append(x)
        await drv.port.wait_idle()
        before = await drv.counters()
        starts = []
        await drv.send_inputs(xs[0])
        for k in range(steps):
            await drv.port.start()
            starts.append(get_sim_time(unit="ns"))
            await drv.send_inputs(xs[k + 1])      # next step's inputs, while this one runs
        await drv.port.start()                    # period of the last measured step
        starts.append(get_sim_time(unit="ns"))
        await drv.port.wait_idle()
        after = await drv.counters()
        inc = {name: after[name] - before[name] for name in after}
        results.append({"activity": activity, "active": count, "steps": steps + 1,
                        "period": float(np.mean(np.diff(starts))) / PERIOD_NS, **inc})
    with open(os.environ["GLOCAL_OUT"], "w") as f:
        json.dump(results, f)
