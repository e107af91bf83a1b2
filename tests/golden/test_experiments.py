"""The paper's three experiments: corruptions, episodes, masks, and their quick runs."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from glocal.cli import main
from glocal.golden import network
from glocal.golden.data import load_digits
from glocal.golden.experiments import common, continual, corrupt, few_shot
from glocal.golden.experiments import fault_tolerance as ft
from glocal.golden.experiments.corrupt import Noise
from glocal.golden.model import Precision, Variant
from glocal.golden.train import encode_split, evaluate

# -- corruptions -----------------------------------------------------------------------------

GREY = np.full((400, 64), 0.5, dtype=np.float32)


def _rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("noise", [n for n in Noise if n is not Noise.OCCLUSION])
def test_every_noise_at_level_zero_is_the_identity(noise):
    x = load_digits().x_test
    assert np.array_equal(corrupt.corrupt(x, noise, 0.0, _rng()), x)


def test_gaussian_noise_has_the_requested_variance():
    y = corrupt.gaussian(GREY, 0.01, _rng())  # ±5 std stays inside [0, 1]: no clipping
    assert abs((y - GREY).var() - 0.01) < 0.0005
    assert abs((y - GREY).mean()) < 0.002


def test_speckle_noise_scales_with_the_intensity():
    x = GREY.copy()
    x[:, :32] = 0.0
    y = corrupt.speckle(x, 0.04, _rng())
    assert np.array_equal(y[:, :32], x[:, :32])  # nothing on black pixels
    assert abs((y[:, 32:] - 0.5).var() - 0.25 * 0.04) < 0.0006


@pytest.mark.parametrize("func,ones,zeros", [(corrupt.salt, 1.0, 0.0),
                                             (corrupt.pepper, 0.0, 1.0),
                                             (corrupt.salt_pepper, 0.5, 0.5)])
def test_impulse_noise_replaces_the_requested_fraction(func, ones, zeros):
    p = 0.1
    y = func(GREY, p, _rng())
    n = GREY.size
    assert set(np.unique(y)) <= {0.0, 0.5, 1.0}
    assert abs((y == 1.0).sum() / n - ones * p) < 0.006
    assert abs((y == 0.0).sum() / n - zeros * p) < 0.006


def test_occlusion_zeroes_exactly_the_centred_square():
    x = np.ones((3, 64), dtype=np.float32)
    img = corrupt.occlude(x, 4).reshape(3, 8, 8)
    assert (img[:, 2:6, 2:6] == 0).all()
    assert img.sum() == 3 * (64 - 16)
    assert corrupt.occlusion_levels(64) == [0, 2, 4, 6, 8]
    assert corrupt.occlusion_levels(784) == list(range(0, 19, 2))  # the paper's i = 0 … 9


def test_corruption_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="salt amount must be in \\[0, 1\\], not 1.5"):
        corrupt.salt(GREY, 1.5, _rng())
    with pytest.raises(ValueError, match="same parity .* not 3"):
        corrupt.occlude(GREY, 3)


# -- fault tolerance -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fault():
    return ft.run(ft.Settings.quick(progress=False))


def test_fault_tolerance_result_shapes(fault):
    s = fault.settings
    assert set(fault.acc) == {"gp", "lp", "hp"}
    for v in fault.acc.values():
        for prec in ("float", "int"):
            for noise, lv in fault.levels.items():
                assert v[prec][noise].shape == (len(s.seeds), len(lv))
                assert np.isfinite(v[prec][noise]).all()  # quick evaluates every level
    assert fault.levels["gaussian"] == [0.0, 0.01, 0.02, 0.03]
    assert fault.hebb_stats["hp"].shape == (len(s.seeds), s.levels, 4)


def test_noise_at_level_zero_equals_clean_accuracy(fault):
    """Every corruption at level 0 is the clean test set: one accuracy per variant and seed,
    equal to an independent evaluation of the clean inputs."""
    for v in fault.acc.values():
        for prec in ("float", "int"):
            first = np.stack([a[:, 0] for a in v[prec].values()])
            assert (first == first[0]).all(), prec
    ds = load_digits()
    seed = fault.settings.seeds[0]
    n = fault.test_samples
    net = common.make_net((64, fault.settings.hidden, 10), Variant.GP, fault.settings.steps,
                          seed)
    common.fit(net, ds.x_train, ds.y_train, fault.settings.fit, seed)
    xs = encode_split(net, ds.x_test[:n], seed + 1)
    clean = evaluate(net, xs, ds.y_test[:n], Precision.FLOAT)[0]
    assert fault.acc["gp"]["float"]["gaussian"][0, 0] == clean


def test_fault_tolerance_integer_reference_agrees_with_the_int_accuracy(fault):
    assert fault.int_agreement == [1.0] * len(fault.settings.seeds)
    # Far above chance for the trained variants on clean inputs.
    assert fault.acc["gp"]["int"]["gaussian"][:, 0].mean() > 0.5


def test_hebbian_off_ablation_changes_hp(fault):
    assert not np.array_equal(fault.hebb_off["gaussian"], fault.acc["hp"]["float"]["gaussian"])


def test_fault_chip_point_runs_on_the_integer_network():
    ds = load_digits()
    net = common.make_net((64, 16, 10), Variant.HP, 4, 0)
    chip, spikes = ft.chip_point(net, ds.x_test[:5], Noise.SALT, 0.05, 0)
    assert spikes.shape == (4, 5, 64) and set(np.unique(spikes)) <= {0, 1}
    ref = network.run_network(chip, spikes).prediction
    _, qat = evaluate(net, torch.from_numpy(spikes).float(), ds.y_test[:5], Precision.QAT)
    assert np.array_equal(ref, qat)


# -- few-shot ---------------------------------------------------------------------------------

def test_episodes_use_only_the_given_classes_and_disjoint_samples():
    y = np.repeat(np.arange(10), 30)
    ep = few_shot.sample_episode(y, (5, 6, 7, 8, 9), 5, 3, 4, _rng())
    assert set(ep.classes) == {5, 6, 7, 8, 9}
    assert not set(ep.support) & set(ep.query)
    assert np.array_equal(y[ep.support], ep.classes[ep.support_labels])
    assert np.array_equal(y[ep.query], ep.classes[ep.query_labels])
    assert np.bincount(ep.support_labels).tolist() == [3] * 5
    assert np.bincount(ep.query_labels).tolist() == [4] * 5


def test_few_shot_refuses_test_classes_seen_in_training():
    with pytest.raises(ValueError, match="held out from training; \\[4\\] are in both"):
        few_shot.Settings(train_classes=(0, 1, 2, 3, 4), test_classes=(4, 5, 6, 7, 8))


def test_test_pool_holds_only_held_out_classes():
    ds = load_digits()
    _, y = few_shot._pool(ds, (5, 6, 7, 8, 9))
    assert set(np.unique(y)) == {5, 6, 7, 8, 9}


def test_label_axons_drive_but_do_not_learn():
    s = few_shot.Settings.quick()
    layer = few_shot.plastic_layer(48, s)
    q = layer.codes(True)
    assert torch.equal(q.weight[48:], (2 * torch.eye(5) - 1).double() * 127)
    assert (q.weight[:48] == 0).all()
    assert (layer.beta[48:] == 0).all() and (layer.beta[:48] > 0).all()


@pytest.fixture(scope="module")
def episode():
    """A random-init GP feature net, its features on held-out classes, one 5-way 2-shot episode."""
    s = few_shot.Settings.quick(hidden=24, steps=5)
    ds = load_digits()
    net = common.make_net((64, 24, 5), Variant.GP, s.steps, 3, w_gain=3.0)
    x, y = few_shot._pool(ds, s.test_classes)
    x, y = x[:200], y[:200]
    feats = few_shot.features(net, x, 1)
    ep = few_shot.sample_episode(y, s.test_classes, 5, 2, 3, _rng())
    layer = few_shot.plastic_layer(24, s)
    with torch.no_grad():  # meta-parameters away from their init, as after meta-learning
        layer.alpha.fill_(0.03)
        layer.beta[:24] = torch.linspace(0.02, 0.4, 24)
        layer.eta.copy_(torch.linspace(-0.3, 0.3, 5))
    return s, net, x, feats, ep, layer


def test_hp_support_learning_binds_features_to_the_label(episode):
    """With alpha = 0 (the trace does not feed back during support) the label current alone
    sets the post term: positive on the label's neuron, negative on the others."""
    _, _, _, feats, ep, layer = episode
    assert feats.any(), "no feature spikes: the test would be vacuous"
    sup, sup_y, _, _ = few_shot._episode_tensors(feats, [ep])
    layer = copy.deepcopy(layer)
    with torch.no_grad():
        layer.alpha.zero_()
        h = few_shot.support(layer, sup, sup_y, Precision.QAT).hebb[0]
    assert h.abs().sum() > 0
    # A feature that fired only in class-k support samples has its largest H on neuron k.
    counts = sup.sum(1)[:, 0]  # (positions, features)
    checked = 0
    for k in range(5):
        own = counts[torch.from_numpy(sup_y[:, 0].numpy() == k)].sum(0)
        other = counts[torch.from_numpy(sup_y[:, 0].numpy() != k)].sum(0)
        only = torch.nonzero((own > 0) & (other == 0)).flatten()
        for i in only.tolist():
            assert h[i].argmax() == k and h[i, k] > 0, (k, i, h[i])
            checked += 1
    assert checked, "no class-specific feature: the test would be vacuous"


def test_few_shot_integer_reference_equals_the_qat_episode(episode):
    """Support learned on the integer reference (learning on, label axons) and queries run
    with learning off give the QAT model's H and predictions exactly."""
    s, net, x, feats, ep, layer = episode
    spikes = few_shot.encode_set(x, few_shot.Encoding.RATE, s.steps, 1).numpy()
    chip = few_shot.chip_point(net, layer, spikes, ep)
    pred, score, learned = few_shot.run_chip_episode(chip)
    sup, sup_y, qry, qry_y = few_shot._episode_tensors(feats, [ep])
    with torch.no_grad():
        state = few_shot.support(layer, sup, sup_y, Precision.QAT)
        qat = few_shot.query(layer, state, qry, Precision.QAT)[0]
    assert np.array_equal(learned.hebb[:layer.n_in, :5], state.hebb[0].numpy())
    assert np.array_equal(score, (qat * (1 << layer.spec.vth_shift)).numpy())
    assert np.array_equal(pred, qat.argmax(-1).numpy())
    assert len(np.unique(score)) > 5, "degenerate scores: the comparison would be vacuous"


@pytest.fixture(scope="module")
def fewshot_result():
    return few_shot.run(few_shot.Settings.quick(progress=False))


def test_few_shot_quick_run_shapes_and_learning(fewshot_result):
    r = fewshot_result
    s = r.settings
    assert set(r.acc) == {"1-shot", "5-shot"}
    for per in r.acc.values():
        assert {m: a.shape for m, a in per.items()} == {
            m: (len(s.seeds), s.episodes) for m in few_shot._NAMES}
        assert ((per["hp_int"] >= 0) & (per["hp_int"] <= 1)).all()
    assert r.hebb_changed == [True]
    assert r.gp_lr[0] in s.gp_lrs
    assert r.meta[0]["alpha"] != s.alpha0  # meta-learning moved alpha
    # Features generalise to held-out classes: every method beats chance (20 %) at 5-shot.
    assert r.acc["5-shot"]["ncm"].mean() > 0.35
    assert r.acc["5-shot"]["gp_float"].mean() > 0.35


# -- continual ----------------------------------------------------------------------------------

def test_masks_are_disjoint_with_the_requested_sparsity():
    m = continual.make_masks((64, 128), 10, 0.1, _rng())
    assert m.shape == (10, 64, 128)
    assert (m.sum((1, 2)) == round(0.1 * 64 * 128)).all()
    assert m.sum(0).max() == 1  # no synapse in two tasks' masks


def test_overlapping_masks_when_density_times_tasks_exceeds_one():
    m = continual.make_masks((16, 8), 4, 0.5, _rng())
    assert (m.sum((1, 2)) == 64).all() and m.sum(0).max() > 1
    with pytest.raises(ValueError, match="density 0.0001 leaves no synapse"):
        continual.make_masks((16, 8), 4, 1e-4, _rng())


def test_task_zero_is_the_identity_and_others_permute():
    assert np.array_equal(continual.permutation(0, 64, 0), np.arange(64))
    p = continual.permutation(3, 64, 0)
    assert sorted(p) == list(range(64)) and not np.array_equal(p, np.arange(64))


def test_training_a_task_changes_only_its_masked_weights():
    s = continual.Settings.quick(tasks=3)
    ds = load_digits()
    net = continual.masked_net((64, 16, 10), Variant.HP, s, 0)
    before = [p.detach().clone() for p in continual._originals(net)]
    continual.set_task(net, 1)
    common.fit(net, ds.x_train[:200], ds.y_train[:200], replace(s.fit, epochs=1), 0,
               base=continual._originals(net))
    for layer, old in zip((net.hidden[0], net.readout), before, strict=True):
        mask = continual._mask(layer).masks[1].bool()
        new = layer.parametrizations.weight.original.detach()
        assert torch.equal(new[~mask], old[~mask])
        assert not torch.equal(new[mask], old[mask])
    assert torch.equal(net.hidden[0].hebb_mask, 1 - continual._mask(net.hidden[0]).masks[1])


@pytest.fixture(scope="module")
def cont(tmp_path_factory):
    out = tmp_path_factory.mktemp("continual")
    assert main(["experiment", "continual", "--quick", "--no-progress", "--out", str(out)]) == 0
    return out, json.loads((out / "continual.json").read_text())


def test_continual_cli_writes_json_table_and_plot(cont):
    out, r = cont
    assert (out / "continual.png").stat().st_size > 0
    assert "| GP |" in (out / "continual.md").read_text()
    tasks = r["settings"]["tasks"]
    for v in ("gp", "hp"):
        acc = np.array(r["acc"][v], dtype=float)
        assert acc.shape == (1, tasks, tasks)
        assert np.isnan(acc[0][np.triu_indices(tasks, 1)]).all()
        assert np.allclose(np.array(r["average"][v]), np.nanmean(acc, axis=2))


def test_gp_with_disjoint_masks_forgets_nothing(cont):
    _, r = cont
    acc = np.array(r["acc"]["gp"], dtype=float)[0]
    for j in range(len(acc)):
        assert (acc[j:, j] == acc[j, j]).all(), acc


def test_continual_chip_point_gp_exports_its_masked_weights():
    s = continual.Settings.quick()
    ds = load_digits()
    gp = continual.masked_net((64, 16, 10), Variant.GP, s, 0)
    chip, spikes = continual.chip_point(gp, 2, ds.x_test[:6], 0)
    w = chip.layers[0].weight
    assert np.count_nonzero(w) <= continual._mask(gp.hidden[0]).masks[2].sum()
    assert chip.cfg.plastic_mask == 0 and chip.layers[0].plastic is None
    continual.set_task(gp, 2)
    _, qat = evaluate(gp, torch.from_numpy(spikes).float(), ds.y_test[:6], Precision.QAT)
    assert np.array_equal(network.run_network(chip, spikes).prediction, qat)


def test_continual_chip_point_hp_carries_the_hebbian_mask_as_plasticity_enables():
    s = continual.Settings.quick()
    ds = load_digits()
    hp = continual.masked_net((64, 16, 10), Variant.HP, s, 0)
    chip, spikes = continual.chip_point(hp, 1, ds.x_test[:8], 0)
    mask = continual._mask(hp.hidden[0]).masks[1].numpy()
    assert chip.cfg.plastic_mask == 1
    np.testing.assert_array_equal(chip.layers[0].plastic, 1 - mask)
    assert chip.layers[0].regs.learn and chip.layers[1].plastic is None
    # The QAT forward (H learns where the mask leaves out) equals the integer network.
    _, qat = evaluate(hp, torch.from_numpy(spikes).float(), ds.y_test[:8], Precision.QAT)
    run = network.run_network(chip, spikes)
    assert np.array_equal(run.prediction, qat)
    with torch.no_grad():
        out = hp.double()(torch.from_numpy(spikes).double(), Precision.QAT)
    hp.float()
    np.testing.assert_array_equal(run.spikes[0], out.spikes[0].numpy())
    np.testing.assert_array_equal(run.membrane, out.membrane.numpy())
    # H learned only on enabled synapses, and the enables changed what it learned.
    hebb = run.states[0].hebb[:, :64, :16]
    assert np.count_nonzero(hebb) > 0 and not hebb[:, mask == 1].any()
    free = replace(chip, layers=(replace(chip.layers[0], plastic=None),) + chip.layers[1:])
    assert network.run_network(free, spikes).states[0].hebb[:, :64, :16][:, mask == 1].any()


def test_experiment_cli_rejects_a_missing_data_folder(tmp_path, capsys):
    assert main(["experiment", "continual", "--quick", "--data", "mnist", "--data-dir",
                 str(tmp_path), "--no-progress"]) == 2
    assert "train-images-idx3-ubyte" in capsys.readouterr().err


def test_continual_runs_on_mnist_format_files(tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("t10k", 12)):
        for kind, magic, arr in (("images-idx3", 0x803, rng.integers(0, 256, (n, 28, 28))),
                                 ("labels-idx1", 0x801, rng.integers(0, 10, n))):
            head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
            (data / f"{split}-{kind}-ubyte").write_bytes(head + arr.astype(np.uint8).tobytes())
    out = tmp_path / "out"
    assert main(["experiment", "continual", "--quick", "--data", "mnist", "--data-dir",
                 str(data), "--tasks", "2", "--epochs", "1", "--hidden", "16",
                 "--no-progress", "--out", str(out)]) == 0
    r = json.loads((out / "continual.json").read_text())
    assert r["settings"]["data"] == "mnist" and r["test_samples"] == 12
    assert np.array(r["acc"]["hp"], dtype=float).shape == (1, 2, 2)
