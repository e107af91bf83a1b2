"""The QAT forward in eval mode and the integer reference network agree bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glocal.golden import fixed, quant
from glocal.golden.encode import Encoding, encode
from glocal.golden.export import load_model, save_model
from glocal.golden.freeze import from_net
from glocal.golden.model import Net, NetSpec, Precision, Variant
from glocal.golden.network import next_sample, run_network, zero_states
from glocal.golden.train import TrainConfig, encode_set, evaluate, load_net, train


def test_round_half_up_matches_the_chip_rounding():
    x = torch.arange(-3000, 3000, dtype=torch.float64)
    for shift in (0, 1, 3, 8):
        want = fixed.rshift_round(x.numpy().astype(np.int64), shift)
        assert np.array_equal(quant.rshift(x, shift, exact=True).numpy(), want)


def test_round_half_up_passes_the_gradient_straight_through():
    x = torch.tensor([2.3, -1.5], requires_grad=True)
    quant.round_half_up(x).sum().backward()
    assert torch.equal(x.grad, torch.ones(2))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small HP network trained briefly on digits (QAT in its last epoch), exported."""
    out = tmp_path_factory.mktemp("train")
    cfg = TrainConfig(hidden=48, epochs=2, qat_epochs=1, batch=64, out=str(out),
                      model_path=str(out / "m.npz"), progress=False, alpha0=0.3, beta0=0.4)
    metrics = train(cfg)
    return cfg, metrics


def test_qat_equals_integer_network_on_every_digits_test_sample(trained):
    cfg, metrics = trained
    model = load_model(metrics["model_path"])
    from glocal.golden.data import load_digits

    ds = load_digits()
    xs = encode_set(ds.x_test, Encoding.RATE, cfg.steps, model.metadata["encoding_seed"])
    net = load_net(metrics["net_path"])
    with torch.no_grad():
        out = net.double()(xs.double(), Precision.QAT)
    spikes = out.spikes[0].numpy()
    membrane = out.membrane.numpy()
    # The chip's semantics: one sample at a time, every core reset between samples.
    x = xs.numpy().astype(np.int64)
    for n in range(x.shape[1]):
        run = run_network(model, x[:, n:n + 1])
        assert np.array_equal(run.spikes[0][:, 0], spikes[:, n]), f"sample {n}: spikes differ"
        assert np.array_equal(run.membrane[0], membrane[n]), f"sample {n}: readout differs"
    assert spikes.any(), "the hidden layer never fired: the comparison would be vacuous"
    assert metrics["int_qat_agreement"] == 1.0


@pytest.mark.parametrize("variant", list(Variant))
def test_qat_equals_reference_for_every_variant(variant):
    torch.manual_seed(1)
    spec = NetSpec(sizes=(64, 40, 10), variant=variant, alpha0=0.6, beta0=0.5, eta0=0.2)
    net = Net(spec).double()
    xs = encode(torch.rand(30, 64, dtype=torch.float64), Encoding.RATE, spec.steps,
                torch.Generator().manual_seed(2))
    with torch.no_grad():
        out = net(xs, Precision.QAT)
    run = run_network(from_net(net, encoding="rate", hebb_mode="reset"), xs.numpy())
    assert np.array_equal(run.spikes[0], out.spikes[0].numpy())
    assert np.array_equal(run.membrane, out.membrane.numpy())
    hebb = run.states[0].hebb
    assert (hebb != 0).any() == (variant is not Variant.GP)


def test_qat_equals_reference_with_hebbian_state_persisting_across_samples(tmp_path):
    torch.manual_seed(3)
    spec = NetSpec(sizes=(64, 32, 10), steps=6, alpha0=0.8, beta0=0.6)
    net = Net(spec).double()
    xs = encode(torch.rand(12, 64, dtype=torch.float64), Encoding.RATE, spec.steps,
                torch.Generator().manual_seed(4))
    model = load_model(save_model(from_net(net, encoding="rate", hebb_mode="persist"),
                                  tmp_path / "p.npz"))
    y = np.zeros(12, dtype=np.int64)
    _, qat_pred = evaluate(net, xs, y, Precision.QAT, hebb_mode="persist")
    _, reset_pred = evaluate(net, xs, y, Precision.QAT, hebb_mode="reset")
    states, preds, chip_u = zero_states(model), [], []
    for n in range(12):
        run = run_network(model, xs[:, n].numpy(), states)
        states = next_sample(run.states)
        preds.append(int(run.prediction))
        chip_u.append(run.membrane)
    assert np.array_equal(np.array(preds), qat_pred)
    assert states[0].t == (12 * spec.steps) % (1 << spec.cfg.ts_bits)
    # Carried traces change the answers' membranes: otherwise this test proves nothing.
    with torch.no_grad():
        fresh = net(xs, Precision.QAT).membrane.numpy()
    assert not np.array_equal(np.stack(chip_u), fresh)
    del reset_pred
