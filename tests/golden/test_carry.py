"""The authors' fault-tolerance semantics: analog input, spiking membrane readout, the
population trace carried through training and exported as ``h0``, every sample starting
from it — in the float model, QAT, the model file and the integer reference alike."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from glocal.golden.config import CoreConfig
from glocal.golden.data import load_digits
from glocal.golden.encode import Encoding, encode
from glocal.golden.experiments import fault_tolerance as ft
from glocal.golden.experiments.corrupt import AUTHORS_SCALE, Noise
from glocal.golden.export import ModelFileError, load_model, save_model
from glocal.golden.freeze import from_net
from glocal.golden.model import LayerState, Net, NetSpec, Precision, Score, Variant
from glocal.golden.network import run_network
from glocal.golden.train import FitSettings, HebbMode, encode_split, fit, population_states

#: A small core with the authors' kind of arithmetic: 4-bit analog axons, 14-bit W and H.
CFG = CoreConfig(axons=64, neurons=32, lanes=4, act_bits=4, acc_bits=26, w_bits=14, h_bits=14,
                 h_frac=11, alpha_bits=16, alpha_frac=10, beta_bits=16, beta_frac=15,
                 u_bits=24, bias_bits=20, theta_bits=24)


def _spec(variant=Variant.HP, **kw) -> NetSpec:
    base = dict(sizes=(64, 32, 10), variant=variant, steps=5, vth=0.4, decay=0.4,
                w_decay=0.99, h_max=4.0, alpha0=0.3, beta0=0.3, eta0=0.01,
                meta_init="uniform", readout=Score.MEMBRANE, encoding=Encoding.ANALOG,
                tau=40.0, in_levels=15, vth_shift=12, cfg=CFG)
    return NetSpec(**{**base, **kw})


@pytest.fixture(scope="module")
def carried():
    """An HP network trained two epochs on digits with the carried population trace."""
    torch.manual_seed(0)
    ds = load_digits()
    net = Net(_spec())
    settings = FitSettings(epochs=2, qat_epochs=0, batch=50, lr=1e-3, meta_lr=5e-3,
                           meta_step="joint", loss="mse", schedule="constant",
                           hebb_mode=HebbMode.CARRY)
    fit(net, ds.x_train, ds.y_train, settings, 0)
    net.fit_vth_shifts()
    return net, ds


def test_analog_encoding_scales_by_exp_and_quantizes_then_drains():
    x = torch.tensor([[1.0, 0.5, 0.0]])
    seq = encode(x, Encoding.ANALOG, 5, tau=40.0, levels=15, drain=1)
    assert seq.shape == (6, 1, 3)
    want = np.floor(15 * np.array([1.0, 0.5, 0.0]) * np.exp(-np.arange(5) / 40)[:, None] + 0.5)
    assert np.array_equal(seq[:5, 0].numpy(), want)
    assert not seq[5].any()
    with pytest.raises(ValueError, match="levels"):
        encode(x, Encoding.ANALOG, 5, levels=0)


def test_a_membrane_readout_drains_one_step_per_hidden_layer():
    net = Net(_spec())
    assert net.drain == 1 and net.chip_steps == 6
    assert net.encode(torch.rand(3, 64)).shape == (6, 3, 64)
    assert [type(m).__name__ for m in net.spiking] == ["Hidden", "Hidden"]
    with pytest.raises(ValueError, match="in_levels"):
        _spec(encoding=Encoding.RATE)


def test_population_trace_adds_the_batch_mean_of_the_increments():
    """One step of the population form against the recurrence written out."""
    torch.manual_seed(1)
    net = Net(_spec())
    layer = net.hidden[0]
    layer.h0.uniform_(-0.1, 0.1)
    x = torch.randint(0, 16, (1, 7, 64)).float()
    start = population_states(net, 7)[0]
    _, st = layer(x, Precision.FLOAT, start)
    q = layer.codes(False, torch.float32)
    cfg = CFG
    u = q.weight.T @ x[0].T + q.bias[:, None]  # (n_out, batch)
    u = (u.T + 0.99 * q.alpha / (1 << cfg.alpha_frac) * (x[0] @ start.hebb))
    f = 128 * torch.tanh((u - q.theta) / (1 << layer.vth_shift))
    delta = (q.beta * x[0] / (1 << cfg.learn_shift)).T @ f / 7
    want = torch.clamp(0.99 * start.hebb + delta, -q.h_max, q.h_max)
    assert st.population and st.hebb.shape == (64, 32)
    torch.testing.assert_close(st.hebb, want, rtol=1e-5, atol=1e-4)


def test_carried_training_leaves_a_nonzero_h0_in_every_plastic_layer(carried):
    net, _ = carried
    for layer in net.spiking:
        assert layer.h0.abs().max() > 0.01, "the carried trace stayed at zero"
        assert layer.h0.abs().max() <= 4.0


def test_each_sample_from_h0_in_low_rank_equals_the_full_per_sample_traces(carried):
    net, ds = carried
    xs = encode_split(net, ds.x_test[:40], 1)
    with torch.no_grad():
        low = net(xs, Precision.FLOAT)
        dense = [LayerState(u=st.u, s=st.s, hebb=st.hebb.expand(40, -1, -1).clone(),
                            t_last=st.t_last) for st in net.zero_states(40)]
        full = net(xs, Precision.FLOAT, dense)
    torch.testing.assert_close(low.logits, full.logits, rtol=0, atol=1e-4)
    for a, b in zip(low.states, full.states, strict=True):
        torch.testing.assert_close(a.hebb, b.hebb, rtol=0, atol=1e-2)


def test_qat_from_h0_equals_the_integer_network_sample_by_sample(carried, tmp_path):
    """The exported model (h0 in the file) and the QAT forward agree bit for bit on
    noisy analog inputs, every sample starting from h0 with its own trace."""
    net, ds = carried
    model = load_model(save_model(from_net(net, encoding="analog", hebb_mode="carry"),
                                  tmp_path / "m.npz"))
    assert model.hebb_mode == "carry" and model.steps == 6
    assert all(layer.h0 is not None and np.abs(layer.h0).max() > 0 for layer in model.layers)
    x = ft.corrupted_test(ds.x_test[:24], Noise.GAUSSIAN, 0.06, 0, authors=True)
    xs = encode_split(net, x, 1)
    with torch.no_grad():
        out = net.double()(xs.double(), Precision.QAT)
    ints = xs.numpy().astype(np.int64)
    for n in range(ints.shape[1]):
        run = run_network(model, ints[:, n:n + 1])
        assert np.array_equal(run.spikes[0][:, 0], out.spikes[0][:, n].numpy()), n
        assert np.array_equal(run.membrane[0], out.membrane[n].numpy()), n
        assert np.array_equal(run.states[0].hebb[0, :64, :32],
                              out.states[0].hebb[n].numpy()), f"sample {n}: H differs"
    assert out.spikes[0].any()


def test_a_model_file_refuses_an_h0_that_does_not_fit_its_layer(carried, tmp_path):
    net, _ = carried
    model = from_net(net, encoding="analog", hebb_mode="carry")
    h = model.layers[0]
    from dataclasses import replace
    with pytest.raises(ValueError, match="h0 must have the weight's shape"):
        replace(model, layers=(replace(h, h0=h.h0[:, :5]), *model.layers[1:]))
    big = h.h0.copy()
    big[3, 4] = h.regs.h_max + 1
    with pytest.raises(ValueError, match="h0 entries must be within ±h_max"):
        replace(model, layers=(replace(h, h0=big), *model.layers[1:]))
    # A file whose h0 array was edited fails its checksum before anything uses it.
    path = save_model(model, tmp_path / "m.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["layer0.h0"] = arrays["layer0.h0"] + 1
    with open(tmp_path / "bad.npz", "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ModelFileError, match="layer0.h0.*checksum"):
        load_model(tmp_path / "bad.npz")


def test_gp_exports_no_h0_and_reset_models_start_from_zero(carried):
    net, _ = carried
    assert all(layer.h0 is None for layer in
               from_net(net, encoding="analog", hebb_mode="reset").layers)
    gp = Net(_spec(Variant.GP))
    assert all(layer.h0 is None for layer in
               from_net(gp, encoding="analog", hebb_mode="carry").layers)


def test_the_authors_noise_levels_are_scaled_as_their_scripts_scale_them():
    x = np.full((2000, 4), 0.5, np.float32)
    ours = ft.corrupted_test(x, Noise.PEPPER, 0.05, 0)
    theirs = ft.corrupted_test(x, Noise.PEPPER, 0.05, 0, authors=True)
    assert AUTHORS_SCALE[Noise.PEPPER] == 6
    assert abs((ours == 0).mean() - 0.05) < 0.02
    assert abs((theirs == 0).mean() - 0.30) < 0.03
    speckle = ft.corrupted_test(x, Noise.SPECKLE, 0.06, 0, authors=True)
    assert ((speckle == 0) | (speckle == 1)).mean() > 0.9  # variance 600: saturated


def test_the_authors_preset_runs_end_to_end_and_merges_its_claims(tmp_path):
    """``glocal experiment fault-tolerance --preset authors --quick`` on digits: trains the
    three variants with the carried trace, saves the nets, writes the claims entry."""
    from glocal.golden.experiments.cli import run_cli

    claims = tmp_path / "claims.json"
    claims.write_text('{"fault_tolerance": {"other": {"seeds": 1}}}')
    args = {"preset": "authors", "quick": True, "data": "digits", "seeds": [0],
            "test_samples": 60, "levels": 2, "claims": str(claims),
            "out": str(tmp_path / "ft"), "no_progress": True}
    assert run_cli("fault-tolerance", args) == 0
    import json
    got = json.loads(claims.read_text())["fault_tolerance"]
    assert got["other"] == {"seeds": 1}, "an earlier entry was lost"
    entry = got["digits"]
    assert entry["semantics"] == "authors" and entry["seeds"] == 1
    assert set(entry["clean"]) == {"gp", "lp", "hp"}
    assert all(0 <= a <= 1 for a in entry["gaussian_0.06"].values())
    assert entry["precision"] == "int"  # --quick scores the integer model at every level
    assert sorted(p.name for p in (tmp_path / "ft" / "nets").iterdir()) == [
        "gp-seed0.pt", "hp-seed0.pt", "lp-seed0.pt"]


def test_meta_step_split_is_an_option_of_the_preset_with_its_own_claims_entry():
    """``--meta-step split`` changes only how the meta-parameters are stepped, and its
    claims entry does not overwrite the authors' (joint) one."""
    from glocal.golden.experiments.cli import settings_for

    joint = settings_for("fault-tolerance", {"preset": "authors", "data": "mnist14"})
    split = settings_for("fault-tolerance", {"preset": "authors", "data": "mnist14",
                                             "meta_step": "split"})
    assert joint.fit.meta_step == "joint" and split.fit.meta_step == "split"
    assert replace(split, fit=joint.fit) == joint
    levels = {"gaussian": [0.0, 0.06]}
    acc = {v: {"int": {"gaussian": np.full((1, 2), 0.5)}} for v in ("gp", "hp")}
    for settings, key in ((joint, "mnist14"), (split, "mnist14_split")):
        r = ft.Result(settings, levels, acc, {}, {}, [], 0.0, 0.0, 10)
        entry = ft.claims(r)["fault_tolerance"][key]
        assert entry["meta_step"] == settings.fit.meta_step
        assert entry["gaussian_0.06"] == {"gp": 0.5, "hp": 0.5}


def test_a_compiled_carried_model_starts_every_core_from_its_slice_of_h0(carried, tmp_path):
    """The compiler splits h0 by columns with the layer; the image keeps it; the chip-level
    reference (every sample from ``zero_states``) equals the layered one."""
    from dataclasses import replace

    from glocal.firmware import image
    from glocal.firmware.compiler import compile_model
    from glocal.golden import chip

    net, ds = carried
    model = from_net(net, encoding="analog", hebb_mode="carry")
    program = image.load(image.save(compile_model(model, cfg=replace(CFG, neurons=16)),
                                    tmp_path / "c.glimg"))
    assert program.names[:3] == ("layer0[0:16]", "layer0[16:32]", "layer1[0:10]")
    h0 = model.layers[0].h0
    np.testing.assert_array_equal(program.cores[1].h0[:64], h0[:, 16:32])
    assert program.cores[2].h0[:32, :10].any() and not program.cores[2].h0[32:].any()
    xs = encode_split(net, ft.corrupted_test(ds.x_test[:6], Noise.GAUSSIAN, 0.06, 0,
                                             authors=True), 1).numpy().astype(np.int64)
    for n in range(xs.shape[1]):
        want = run_network(model, xs[:, n])
        got = chip.run(program, xs[:, n])
        np.testing.assert_array_equal(got.output, want.membrane, err_msg=f"sample {n}")
        np.testing.assert_array_equal(np.concatenate([s.hebb for s in got.states[:2]], 1),
                                      want.states[0].hebb, err_msg=f"sample {n}: H")
    # Writes after the RESET put back h0's nonzero rows, each a run of whole rows.
    writes = image.start_writes(program)
    assert {w.core for w in writes} == {0, 1, 2}
    assert all(w.index % 16 == 0 and len(w.values) % 16 == 0 for w in writes)


def test_an_image_refuses_a_start_trace_outside_the_clamp(carried, tmp_path):
    from dataclasses import replace

    from glocal.firmware import image
    from glocal.firmware.compiler import compile_model
    from glocal.golden.chip import Program, ProgramError

    net, _ = carried
    program = compile_model(from_net(net, encoding="analog", hebb_mode="carry"))
    core = program.cores[0]
    big = core.h0.copy()
    big[3, 4] = -core.regs.h_max - 1
    with pytest.raises(ProgramError, match="core 0 .*h0 entries must be within ±h_max"):
        Program(**{**program.__dict__, "cores": (replace(core, h0=big), *program.cores[1:])})
    with pytest.raises(ProgramError, match="h0 must have shape"):
        Program(**{**program.__dict__,
                   "cores": (replace(core, h0=core.h0[:5]), *program.cores[1:])})
    path = image.save(program, tmp_path / "c.glimg")
    assert image.read(path).manifest["version"] == image.VERSION == 2
