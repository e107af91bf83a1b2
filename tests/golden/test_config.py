"""CoreConfig validation: each bad field is named with its allowed range."""

import pytest

from glocal.golden.config import ConfigError, CoreConfig


def test_default_config_is_valid_and_derives_widths():
    cfg = CoreConfig()
    assert (cfg.groups, cfg.ts_bits, cfg.learn_shift) == (32, 9, 9)
    assert cfg.i_bits >= cfg.acc_bits


@pytest.mark.parametrize("kwargs, message", [
    ({"axons": 2000}, r"axons must be in \[1, 1024\], not 2000"),
    ({"neurons": 0}, r"neurons must be in \[1, 1024\]"),
    ({"lanes": 6, "neurons": 12}, r"lanes must be a power of two"),
    ({"lanes": 8, "neurons": 12}, r"neurons \(12\) must be a multiple of lanes \(8\)"),
    ({"acc_bits": 15}, r"acc_bits must be at least 16 to sum 256 weights"),
    ({"h_frac": 8}, r"h_frac must be below h_bits"),
    ({"w_bits": 8.0}, r"w_bits must be an integer"),
    ({"theta_bits": 20}, r"theta_bits must not exceed u_bits"),
    ({"beta_frac": 2, "h_frac": 10, "h_bits": 16, "acc_bits": 24},
     r"h_frac \(10\) must not exceed beta_frac"),
])
def test_invalid_config_names_the_field_and_range(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        CoreConfig(**kwargs)
