"""The model file: round trip, and clear refusals of a wrong version or a corrupt file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from glocal.golden import export
from glocal.golden.export import ModelFileError, from_net, load_model, save_model
from glocal.golden.model import Net, NetSpec


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
        assert a.params.regs == b.params.regs
        for k in ("weight", "bias", "beta", "theta", "p_table"):
            assert np.array_equal(getattr(a.params, k), getattr(b.params, k)), k
        b.params.check(back.cfg)
    assert back.layers[0].plasticity.beta.shape == (64,)
    assert back.layers[0].params.regs.learn and not back.layers[1].params.regs.learn


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
        m["manifest_sha256"] = export._manifest_sha(m)

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
