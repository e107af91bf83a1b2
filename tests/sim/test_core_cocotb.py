"""Verilated cores (via cocotb) against the reference model, many random cores per build.

``make test`` runs a small seeded subset; the full regression (≥ 200 random cores × 20
steps over several geometries, lane counts and widths, including 256×256 cores, and
cores with per-synapse plasticity enables) is
``make test-long`` (``pytest -m slow``).
"""

import dataclasses
import json

import pytest

from glocal.golden.config import CoreConfig
from glocal.rtl.core import Core
from glocal.sim.toolchain import build_root, run_cocotb

NARROW = dict(w_bits=4, h_bits=5, h_frac=3, bias_bits=8, u_bits=10, acc_bits=12,
              alpha_bits=8, alpha_frac=4, beta_bits=4, beta_frac=3, theta_bits=10,
              decay_frac=4, p_frac=6)

#: name: (config, seeds first:last, steps, when H is compared)
QUICK = {
    "a16n16l4": (CoreConfig(axons=16, neurons=16, lanes=4, acc_bits=12), "0:5", 20, "step"),
    "a24n8l8_narrow": (CoreConfig(axons=24, neurons=8, lanes=8, **NARROW), "0:5", 20, "step"),
    # Per-synapse plasticity enables: random masks (all on, all off, any density).
    "a16n16l4_mask": (CoreConfig(axons=16, neurons=16, lanes=4, acc_bits=12, plastic_mask=1),
                      "0:7", 20, "step"),
    # W and H in single-port RAM (``Core(single_port=True)``, the iCE40's SPRAM), with an
    # odd number of lane groups (H words across rows).
    "a24n12l4_narrow_sp": (CoreConfig(axons=24, neurons=12, lanes=4, **NARROW), "0:5", 20,
                           "step"),
}

LONG = {
    "a8n8l1": (CoreConfig(axons=8, neurons=8, lanes=1, acc_bits=12), "100:129", 20, "step"),
    "a32n16l2": (CoreConfig(axons=32, neurons=16, lanes=2), "200:229", 20, "step"),
    "a64n64l8": (CoreConfig(axons=64, neurons=64, lanes=8), "300:329", 20, "step"),
    "a40n32l16": (CoreConfig(axons=40, neurons=32, lanes=16), "400:429", 20, "step"),
    "a17n48l4_narrow": (CoreConfig(axons=17, neurons=48, lanes=4, **NARROW), "500:529", 20,
                        "step"),
    "a64n16l16_narrow": (CoreConfig(axons=64, neurons=16, lanes=16, **NARROW), "600:629", 20,
                         "step"),
    "a48n40l8": (CoreConfig(axons=48, neurons=40, lanes=8, acc_bits=16), "700:729", 20,
                 "step"),
    "a256n256l8": (CoreConfig(), "800:802", 20, "end"),
    "a256n256l16": (CoreConfig(lanes=16), "900:901", 20, "end"),
    "a33n24l8_narrow_mask": (CoreConfig(axons=33, neurons=24, lanes=8, plastic_mask=1,
                                        **NARROW), "1000:1029", 20, "step"),
    "a256n256l8_mask": (CoreConfig(plastic_mask=1), "1100:1101", 20, "end"),
    "a16n16l4_sp": (CoreConfig(axons=16, neurons=16, lanes=4, acc_bits=12), "0:5", 20, "step"),
    "a16n16l4_mask_sp": (CoreConfig(axons=16, neurons=16, lanes=4, acc_bits=12,
                                    plastic_mask=1), "0:7", 20, "step"),
    "a8n8l1_sp": (CoreConfig(axons=8, neurons=8, lanes=1, acc_bits=12), "100:129", 20, "step"),
    "a17n48l4_narrow_sp": (CoreConfig(axons=17, neurons=48, lanes=4, **NARROW), "500:529", 20,
                           "step"),
    "a33n24l8_narrow_mask_sp": (CoreConfig(axons=33, neurons=24, lanes=8, plastic_mask=1,
                                           **NARROW), "1000:1029", 20, "step"),
    # The iCEBreaker's core (256×256, lanes 1, W and H in SPRAM).
    "a256n256l1_sp": (CoreConfig(lanes=1), "1200:1201", 6, "end"),
}


def run_core(name, cfg, seeds, steps, hebb):
    # Names ending in ``_sp`` build the core as the iCE40 does: single-port W and H, lean.
    sp = name.endswith("_sp")
    core = Core(cfg=cfg, single_port=sp, lean=sp)
    run_cocotb(core, name="core", test_module="glocal.sim.core_tb",
               build_dir=build_root() / f"core_{name}",
               extra_env={"GLOCAL_CFG": json.dumps(dataclasses.asdict(cfg)),
                          "GLOCAL_SEEDS": seeds, "GLOCAL_STEPS": str(steps),
                          "GLOCAL_HEBB": hebb})


@pytest.mark.parametrize("name", QUICK)
def test_verilated_core_matches_reference(name):
    run_core(name, *QUICK[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", LONG)
def test_verilated_core_regression(name):
    run_core(name, *LONG[name])
