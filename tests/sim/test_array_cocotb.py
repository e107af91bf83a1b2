"""Verilated many-core arrays (via cocotb) against the chip-level reference.

Random layered networks with multicast routes and plasticity on, on 1×2, 2×2 and 2×3
meshes, spike-only and hybrid (mixed SNN/ANN cores with multi-bit activations), every
core's outputs, membranes, pending axons, packet counters and Hebbian matrix compared
with :mod:`glocal.golden.chip` (``sim/array_tb.py``); and the stress case where every
neuron fires every step with a fan-out above one. ``make test`` runs the smaller ones;
``make test-long`` (``pytest -m slow``) the rest.
"""

import dataclasses
import json

import pytest

from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh
from glocal.rtl.array import CoreArray
from glocal.sim.toolchain import build_root, run_cocotb

A16 = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=12)
A32 = CoreConfig(axons=32, neurons=16, lanes=4, acc_bits=14)
A24 = CoreConfig(axons=24, neurons=8, lanes=4, acc_bits=14)
# Hybrid coding: multi-bit activations, the accumulators widened for the products.
H16 = CoreConfig(axons=16, neurons=8, lanes=2, acc_bits=14, act_bits=2)
H24 = CoreConfig(axons=24, neurons=8, lanes=4, acc_bits=16, act_bits=3)
H32 = CoreConfig(axons=32, neurons=16, lanes=4, acc_bits=17, act_bits=4)

#: name: (config, mesh, seed runs (see sim/array_tb.py), steps, when H is compared)
QUICK = {
    # One build: two random networks and the stress case (every neuron, fan-out 2).
    "m2x2_a24n8l4": (A24, Mesh(2, 2, depth=24, fanout=3), "random:0:1,dense2:2:2", 8,
                     "step"),
    # Mixed SNN/ANN cores, 3-bit activations, learning on in the SNN cores.
    "m2x2_a24n8l4_act3": (H24, Mesh(2, 2, depth=24, fanout=3), "hybrid:0:2", 8, "step"),
}

LONG = {
    "m1x2_a16n8l2": (A16, Mesh(1, 2, depth=24, fanout=3), "random:10:13,dense2:14:14", 10,
                     "step"),
    "m2x2_a16n8l2": (A16, Mesh(2, 2, depth=24, fanout=3), "random:20:25", 10, "step"),
    "m2x3_a24n8l4": (A24, Mesh(2, 3, depth=32, fanout=4), "random:30:35,dense2:36:36", 12,
                     "step"),
    "m2x3_a32n16l4": (A32, Mesh(2, 3, depth=64, fanout=4), "random:40:43,dense2:44:45", 10,
                      "end"),
    "m1x2_a16n8l2_act2": (H16, Mesh(1, 2, depth=24, fanout=3), "hybrid:50:55", 10, "step"),
    "m2x2_a16n8l2_act2": (H16, Mesh(2, 2, depth=24, fanout=3), "hybrid:60:65", 10, "step"),
    "m2x3_a24n8l4_act3": (H24, Mesh(2, 3, depth=32, fanout=4), "hybrid:70:75", 12, "step"),
    "m2x3_a32n16l4_act4": (H32, Mesh(2, 3, depth=64, fanout=4), "hybrid:80:83", 10, "end"),
}


def run_array(name, cfg, mesh, runs, steps, hebb):
    run_cocotb(CoreArray(cfg=cfg, mesh=mesh), name="core_array",
               test_module="glocal.sim.array_tb", build_dir=build_root() / f"array_{name}",
               extra_env={"GLOCAL_CFG": json.dumps(dataclasses.asdict(cfg)),
                          "GLOCAL_MESH": json.dumps(dataclasses.asdict(mesh)),
                          "GLOCAL_RUNS": runs, "GLOCAL_STEPS": str(steps),
                          "GLOCAL_HEBB": hebb})


@pytest.mark.parametrize("name", QUICK)
def test_verilated_array_matches_chip_reference(name):
    run_array(name, *QUICK[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", LONG)
def test_verilated_array_regression(name):
    run_array(name, *LONG[name])
