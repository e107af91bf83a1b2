"""The model file: round trip, and clear refusals of a wrong version or a corrupt file."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from glocal.golden import export
from glocal.golden.digest import manifest_sha256
from glocal.golden.export import ChipModel, ModelFileError, load_model, save_model
from glocal.golden.freeze import from_net
from glocal.golden.model import Net, NetSpec, Variant
from glocal.golden.network import run_network


@pytest.fixture
def model():
    torch.manual_seed(0)
    return from_net(Net(NetSpec(sizes=(64, 24, 10))), encoding="rate", hebb_mode="reset",
                    metadata={"data": "digits"})


def test_round_trip_keeps_every_register_and_array(tmp_path, model):
    back = load_model(save_model(model, tmp_path / "m.npz"))
    assert back.cfg == model.cfg and back.sizes == (64, 24, 10) and back.steps == 8
    assert back.metadata == {"data": "digits"} and back.layers[-1].readout
    for a, b in zip(model.layers, back.layers, strict=True):
        assert a.regs == b.regs
        for k in ("weight", "bias", "beta", "theta", "p_table"):
            assert np.array_equal(getattr(a, k), getattr(b, k)), k
        b.core_params(back.cfg, 0).check(back.cfg)
    assert back.layers[0].weight.shape == (64, 24) and back.layers[1].weight.shape == (24, 10)
    assert back.layers[0].plasticity.beta.shape == (64,)
    assert back.layers[0].regs.learn and not back.layers[1].regs.learn


def _rewrite(src, dst, edit):
    """Copy a model file, letting ``edit`` change the manifest dict and arrays dict."""
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    manifest = json.loads(arrays.pop("manifest").tobytes())
    edit(manifest, arrays)
    blob = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    with open(dst, "wb") as fh:
        np.savez(fh, manifest=blob, **arrays)


def test_wrong_version_is_refused_by_name(tmp_path, model):
    src = save_model(model, tmp_path / "m.npz")

    def bump(m, a):
        m["version"] = export.VERSION + 1
        m["manifest_sha256"] = manifest_sha256(m)

    _rewrite(src, tmp_path / "v.npz", bump)
    with pytest.raises(ModelFileError, match=f"version {export.VERSION + 1}"):
        load_model(tmp_path / "v.npz")


def test_changed_array_fails_its_checksum(tmp_path, model):
    src = save_model(model, tmp_path / "m.npz")

    def poke(m, a):
        a["layer0.weight"] = a["layer0.weight"].copy()
        a["layer0.weight"][0, 0] += 1

    _rewrite(src, tmp_path / "c.npz", poke)
    with pytest.raises(ModelFileError, match="layer0.weight.*checksum"):
        load_model(tmp_path / "c.npz")


def test_edited_manifest_fails_its_checksum(tmp_path, model):
    src = save_model(model, tmp_path / "m.npz")
    _rewrite(src, tmp_path / "e.npz", lambda m, a: m.update(steps=99))
    with pytest.raises(ModelFileError, match="manifest checksum"):
        load_model(tmp_path / "e.npz")


def test_truncated_or_foreign_files_are_refused(tmp_path, model):
    src = save_model(model, tmp_path / "m.npz")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(src.read_bytes()[:200])
    with pytest.raises(ModelFileError, match="cut.npz"):
        load_model(cut)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ModelFileError, match="no manifest"):
        load_model(other)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.npz")


def _widened(model, n_out, neurons):
    """``model`` on cores of ``neurons`` neurons, its hidden layer widened to ``n_out``."""
    rng = np.random.default_rng(0)
    h, r = model.layers
    hidden = replace(h, weight=rng.integers(-20, 21, (h.n_in, n_out)),
                     bias=rng.integers(-9, 10, n_out), theta=rng.integers(-50, 51, n_out))
    readout = replace(r, weight=rng.integers(-20, 21, (n_out, r.n_out)),
                      beta=np.zeros(n_out, np.int64))
    return replace(model, cfg=replace(model.cfg, neurons=neurons), layers=(hidden, readout))


def test_a_layer_wider_than_a_core_round_trips_and_runs(tmp_path, model):
    wide = _widened(model, 168, neurons=128)
    cfg = wide.cfg
    back = load_model(save_model(wide, tmp_path / "w.npz"))
    assert back.sizes == (64, 168, 10) and back.layers[0].cores(cfg) == 2
    assert np.array_equal(back.layers[0].weight, wide.layers[0].weight)
    second = back.layers[0].core_params(cfg, 1)
    second.check(cfg)
    assert np.array_equal(second.weight[:64, :40], wide.layers[0].weight[:, 128:])
    assert not second.weight[:, 40:].any() and not second.weight[64:].any()
    x = (np.random.default_rng(1).random((back.steps, 64)) < 0.3).astype(np.int64)
    run = run_network(back, x)
    assert run.spikes[0].shape == (back.steps, 168) and run.spikes[0].any()
    assert run.states[0].u.shape == (256,)   # two cores side by side


def test_layers_that_do_not_chain_or_fit_the_widths_are_refused(model):
    h, r = model.layers
    with pytest.raises(ValueError, match="layer layer1 has 24 inputs; the layer before it "
                                         "has 30 neurons"):
        ChipModel(model.cfg, (replace(h, weight=np.zeros((64, 30), np.int64),
                                      bias=np.zeros(30, np.int64),
                                      theta=np.zeros(30, np.int64)), r), 8, "rate", "reset")
    with pytest.raises(ValueError, match="layer layer0: weight must fit in 8 signed bits"):
        ChipModel(model.cfg, (replace(h, weight=h.weight + 300), r), 8, "rate", "reset")
    with pytest.raises(ValueError, match=r"bias must have shape \(24,\)"):
        ChipModel(model.cfg, (replace(h, bias=h.bias[:3]), r), 8, "rate", "reset")


def test_a_hebbian_mask_exports_as_plasticity_enables_and_round_trips(tmp_path):
    torch.manual_seed(1)
    net = Net(NetSpec(sizes=(64, 24, 10), variant=Variant.HP))
    mask = (torch.rand(64, 24) < 0.4).float()
    net.hidden[0].hebb_mask = mask
    chip = from_net(net, encoding="rate", hebb_mode="reset")
    assert chip.cfg.plastic_mask == 1 and net.spec.cfg.plastic_mask == 0
    np.testing.assert_array_equal(chip.layers[0].plastic, mask.numpy().astype(np.int64))
    assert chip.layers[1].plastic is None
    back = load_model(save_model(chip, tmp_path / "m.npz"))
    assert back.cfg == chip.cfg
    np.testing.assert_array_equal(back.layers[0].plastic, chip.layers[0].plastic)
    wide = back.layers[0].wide_params(back.cfg)
    np.testing.assert_array_equal(wide.plastic[:64, :24], chip.layers[0].plastic)
    assert not wide.plastic[:, 24:].any()
    assert back.layers[1].wide_params(back.cfg).plastic.all()


def test_plasticity_enables_on_cores_without_the_mask_are_refused(model):
    layer = model.layers[0]
    bad = replace(layer, plastic=np.ones_like(layer.weight))
    with pytest.raises(ValueError, match="needs cores with plastic_mask"):
        replace(model, layers=(bad,) + model.layers[1:])
    masked = replace(model.cfg, plastic_mask=1)
    with pytest.raises(ValueError, match="plastic entries must be 0 or 1, not 3"):
        replace(model, cfg=masked,
                layers=(replace(layer, plastic=np.full_like(layer.weight, 3)),)
                + model.layers[1:])
