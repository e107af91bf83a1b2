"""``glocal train`` end to end on tiny settings: outputs, meta-learning, the ablation."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from glocal.cli import main
from glocal.golden.export import load_model

TINY = ["--hidden", "16", "--epochs", "2", "--qat-epochs", "1", "--batch", "128",
        "--steps", "4", "--no-progress"]


def _run(tmp_path, *extra):
    out = tmp_path / "out"
    model = tmp_path / "m.npz"
    assert main(["train", "--out", str(out), "--model-path", str(model), *TINY, *extra]) == 0
    name = next(out.iterdir())
    return json.loads((name / "metrics.json").read_text()), name, model


def test_train_writes_metrics_curves_raster_and_a_loadable_model(tmp_path):
    m, run_dir, model = _run(tmp_path)
    for f in ("history.csv", "curves.png", "raster.png", "net.pt"):
        assert (run_dir / f).stat().st_size > 0, f
    rows = list(csv.DictReader((run_dir / "history.csv").read_text().splitlines()))
    assert [r["precision"] for r in rows] == ["float", "qat"]
    assert m["int_qat_agreement"] == 1.0 and m["int_test_acc"] == m["qat_test_acc"]
    assert m["float_test_acc"] > 0.3  # far above chance even after two tiny epochs
    chip = load_model(model)
    assert chip.sizes == (64, 16, 10) and chip.steps == 4
    assert chip.metadata["variant"] == "hp"
    # Meta-learning moved every meta-parameter.
    assert all(v > 0 for v in m["meta_moved"].values()), m["meta_moved"]


def test_frozen_meta_ablation_keeps_the_initial_values(tmp_path):
    m, run_dir, _ = _run(tmp_path, "--freeze-meta")
    assert run_dir.name.endswith("-frozen")
    assert m["meta_moved"] and all(v == 0 for v in m["meta_moved"].values())
    assert m["meta_samples"] == 0


@pytest.mark.parametrize("variant", ["gp", "lp"])
def test_other_variants_train_and_export(tmp_path, variant):
    m, _, model = _run(tmp_path, "--model", variant)
    assert m["int_qat_agreement"] == 1.0
    layer = load_model(model).layers[0]
    assert layer.regs.learn == (variant == "lp")


def test_bad_data_set_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--data", "mnist", "--data-dir", str(tmp_path), *TINY]) == 2
    assert "train-images-idx3-ubyte" in capsys.readouterr().err


def test_mnist_format_files_train_on_a_wider_core(tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("t10k", 6)):
        for kind, magic, arr in (("images-idx3", 0x803, rng.integers(0, 256, (n, 28, 28))),
                                 ("labels-idx1", 0x801, rng.integers(0, 10, n))):
            head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
            (data / f"{split}-{kind}-ubyte").write_bytes(head + arr.astype(np.uint8).tobytes())
    m, _, model = _run(tmp_path, "--data", "mnist", "--data-dir", str(data), "--epochs", "1",
                        "--batch", "16")
    chip = load_model(model)
    assert chip.sizes == (784, 16, 10) and chip.cfg.axons == 1024
    assert m["int_qat_agreement"] == 1.0
