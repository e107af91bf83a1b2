"""The soma in Verilator (via cocotb) against the reference model."""

import dataclasses
import json

import pytest

from glocal.golden.config import CoreConfig
from glocal.rtl.soma import Soma
from glocal.sim.toolchain import build_root, run_cocotb

CONFIGS = {
    "default": CoreConfig(),
    "narrow": CoreConfig(axons=16, neurons=16, lanes=4, u_bits=10, bias_bits=8, acc_bits=12,
                         alpha_bits=8, alpha_frac=4, theta_bits=10, decay_frac=4),
}


@pytest.mark.parametrize("stall", [False, True], ids=["streaming", "backpressure"])
@pytest.mark.parametrize("name", CONFIGS)
def test_verilated_soma_matches_reference(name, stall):
    cfg = CONFIGS[name]
    tag = f"soma_{name}_{'stall' if stall else 'stream'}"
    run_cocotb(Soma(cfg=cfg), name="soma", test_module="glocal.sim.soma_tb",
               build_dir=build_root() / tag,
               extra_env={"GLOCAL_CFG": json.dumps(dataclasses.asdict(cfg)),
                          "GLOCAL_N": "10000", "GLOCAL_SEED": "7",
                          "GLOCAL_STALL": "1" if stall else "0"})
