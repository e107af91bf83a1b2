"""The fixed-point primitives and the f table."""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from glocal.golden import fixed


@given(st.integers(-(2**40), 2**40), st.integers(0, 20))
def test_rshift_round_is_round_half_up(x, shift):
    assert fixed.rshift_round(x, shift) == math.floor(x / 2**shift + 0.5)


def test_rshift_round_ties_go_up():
    assert [fixed.rshift_round(v, 1) for v in (-5, -3, -1, 1, 3, 5)] == [-2, -1, 0, 1, 2, 3]


@given(st.integers(-(2**40), 2**40), st.integers(2, 32))
def test_saturate_clamps_to_signed_width(x, bits):
    y = fixed.saturate(x, bits)
    assert fixed.smin(bits) <= y <= fixed.smax(bits)
    assert y == x or abs(y) <= abs(x)
    assert fixed.saturate(np.array([x]), bits)[0] == y


def test_f_table_is_odd_monotone_and_bounded():
    t = fixed.F_TABLE
    assert t.shape == (256,) and t[128] == 0
    assert np.all(np.diff(t) >= 0)
    assert t.min() == -127 and t.max() == 127
    np.testing.assert_array_equal(t[129:], -t[127:0:-1])
    assert t[128 + 32] == round(128 * math.tanh(1))
