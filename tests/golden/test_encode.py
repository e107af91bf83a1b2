"""Input encodings."""

from __future__ import annotations

import pytest
import torch

from glocal.golden.encode import Encoding, encode


def test_rate_is_seeded_and_fires_at_the_intensity():
    x = torch.tensor([[0.0, 0.25, 1.0]]).expand(2000, 3)
    a = encode(x, Encoding.RATE, 8, torch.Generator().manual_seed(5))
    b = encode(x, Encoding.RATE, 8, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert a.shape == (8, 2000, 3)
    rate = a.mean((0, 1))
    assert rate[0] == 0 and rate[2] == 1 and abs(rate[1] - 0.25) < 0.02


def test_latency_fires_once_earlier_for_brighter_inputs():
    s = encode(torch.tensor([[1.0, 0.5, 0.0]]), Encoding.LATENCY, 5)
    assert s[:, 0, 0].tolist() == [1, 0, 0, 0, 0]
    assert s[:, 0, 1].tolist() == [0, 0, 1, 0, 0]
    assert s[:, 0, 2].sum() == 0


def test_direct_repeats_the_intensity_and_is_not_spiking():
    x = torch.tensor([[0.3, 0.7]])
    assert torch.equal(encode(x, Encoding.DIRECT, 3), x.expand(3, 1, 2))
    assert not Encoding.DIRECT.spiking and Encoding.RATE.spiking


def test_out_of_range_intensity_is_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        encode(torch.tensor([[1.5]]), Encoding.RATE, 4)
