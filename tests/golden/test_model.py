"""The torch modules: variants, hop timing, gradients through the Hebbian trace."""

from __future__ import annotations

import pytest
import torch

from glocal.golden.encode import Encoding, encode
from glocal.golden.model import Net, NetSpec, Precision, Variant


def _batch(spec, n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return encode(torch.rand(n, spec.sizes[0], generator=g), Encoding.RATE, spec.steps, g)


@pytest.mark.parametrize("precision", list(Precision))
def test_meta_gradient_flows_through_the_hebbian_trace(precision):
    torch.manual_seed(0)
    spec = NetSpec(sizes=(64, 32, 10), alpha0=0.5, beta0=0.5)
    net = Net(spec)
    out = net(_batch(spec), precision)
    torch.nn.functional.cross_entropy(out.logits, torch.arange(16) % 10).backward()
    layer = net.hidden[0]
    for p in (layer.alpha, layer.beta, layer.eta):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert layer.weight.grad.abs().sum() > 0


def test_variants_split_base_and_meta_parameters():
    gp, lp, hp = (Net(NetSpec(variant=v)) for v in (Variant.GP, Variant.LP, Variant.HP))
    assert gp.meta_parameters() == [] and len(hp.meta_parameters()) == 3
    assert len(hp.base_parameters()) == 4
    # LP: hidden weights stay random; only the readout is trained.
    assert lp.base_parameters() == [lp.readout.weight, lp.readout.bias]
    assert not lp.hidden[0].weight.requires_grad


def test_one_step_per_hop_readout_sees_nothing_at_the_first_step():
    torch.manual_seed(0)
    spec = NetSpec(sizes=(64, 32, 10), steps=1, w_gain=20.0, variant=Variant.GP)
    net = Net(spec)
    with torch.no_grad():
        net.readout.bias.fill_(0.25)
        out = net(torch.ones(1, 4, 64), Precision.FLOAT)
    assert out.spikes[0].sum() > 0          # the hidden layer fired at step 0 ...
    assert torch.allclose(out.logits, torch.full((4, 10), 0.25))  # ... but it arrives at 1


def test_hebbian_term_changes_the_output_only_when_alpha_is_nonzero():
    torch.manual_seed(0)
    spec = NetSpec(sizes=(64, 32, 10), alpha0=0.0, beta0=0.5)
    net = Net(spec)
    xs = _batch(spec)
    with torch.no_grad():
        off = net(xs).logits
        net.hidden[0].alpha.fill_(0.5)
        on = net(xs).logits
    gp = Net(NetSpec(sizes=(64, 32, 10), variant=Variant.GP))
    gp.load_state_dict(net.state_dict(), strict=False)
    with torch.no_grad():
        assert torch.allclose(gp(xs).logits, off, atol=1e-5)
    assert not torch.allclose(on, off)


def test_float_and_qat_agree_on_most_predictions():
    torch.manual_seed(0)
    spec = NetSpec(sizes=(64, 64, 10))
    net = Net(spec)
    xs = _batch(spec, n=200)
    with torch.no_grad():
        f = net(xs, Precision.FLOAT).logits.argmax(1)
        q = net(xs.double(), Precision.QAT).logits.argmax(1)
    assert (f == q).float().mean() > 0.8
