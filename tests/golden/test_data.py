"""Data loaders: the embedded digits and local files in the MNIST / N-MNIST formats."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from glocal.golden.data import DataError, load_dataset, load_digits, load_idx, load_nmnist


def test_digits_split_is_stratified_and_scaled():
    ds = load_digits()
    assert ds.x_train.shape == (1437, 64) and ds.x_test.shape == (360, 64)
    assert ds.x_train.min() >= 0 and ds.x_train.max() == 1
    assert np.bincount(ds.y_test).min() >= 35


def _idx(images: np.ndarray) -> bytes:
    magic = 0x803 if images.ndim == 3 else 0x801
    head = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in images.shape)
    return head + images.astype(np.uint8).tobytes()


def _write_mnist(root, n_train=5, n_test=3, gz=False):
    rng = np.random.default_rng(0)
    data = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, (n, 28, 28))
        labels = rng.integers(0, 10, n)
        data[split] = (imgs, labels)
        for kind, arr in (("images-idx3", imgs), ("labels-idx1", labels)):
            blob = _idx(arr)
            name = f"{split}-{kind}-ubyte"
            if gz:
                (root / (name + ".gz")).write_bytes(gzip.compress(blob))
            else:
                (root / name).write_bytes(blob)
    return data


@pytest.mark.parametrize("gz", [False, True])
def test_idx_files_load_with_or_without_gzip(tmp_path, gz):
    want = _write_mnist(tmp_path, gz=gz)
    ds = load_idx(tmp_path, "fashion")
    assert ds.x_train.shape == (5, 784) and ds.x_test.shape == (3, 784)
    assert np.allclose(ds.x_train * 255, want["train"][0].reshape(5, -1))
    assert np.array_equal(ds.y_test, want["t10k"][1])


def test_missing_idx_file_is_named(tmp_path):
    _write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_dataset("mnist", tmp_path)


def test_wrong_magic_is_reported_with_the_file_and_the_expected_value(tmp_path):
    _write_mnist(tmp_path)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x01" + bad.read_bytes()[4:])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.*0x00000803"):
        load_idx(tmp_path)


def test_truncated_idx_file_is_reported(tmp_path):
    _write_mnist(tmp_path)
    f = tmp_path / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(DataError, match="header says shape"):
        load_idx(tmp_path)


def _event_file(path, events):
    """Write N-MNIST events (x, y, polarity, t_us) in the 40-bit format."""
    raw = bytearray()
    for x, y, p, t in events:
        raw += bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(raw))


def test_nmnist_events_become_binary_frames(tmp_path):
    for split in ("Train", "Test"):
        _event_file(tmp_path / split / "3" / "00001.bin",
                    [(1, 2, 0, 10), (33, 33, 1, 299_999), (5, 6, 1, 150_000)])
        _event_file(tmp_path / split / "7" / "00002.bin", [(0, 0, 0, 0)])
    ds = load_nmnist(tmp_path, steps=3, duration_us=300_000)
    assert ds.x_train.shape == (2, 3, 2 * 34 * 34) and ds.events
    assert ds.y_train.tolist() == [3, 7]
    f = ds.x_train[0]
    assert f[0, 2 * 34 + 1] == 1                       # polarity 0, y=2, x=1, first bin
    assert f[2, (34 + 33) * 34 + 33] == 1              # polarity 1, last bin
    assert f[1, (34 + 6) * 34 + 5] == 1
    assert f.sum() == 3


def test_malformed_nmnist_file_is_named(tmp_path):
    _event_file(tmp_path / "Train" / "1" / "a.bin", [(1, 1, 0, 5)])
    (tmp_path / "Train" / "1" / "b.bin").write_bytes(b"\x01\x02\x03")
    _event_file(tmp_path / "Test" / "1" / "a.bin", [(1, 1, 0, 5)])
    with pytest.raises(DataError, match=r"b\.bin.*5-byte events"):
        load_nmnist(tmp_path)


def test_missing_nmnist_folder_and_unknown_set_are_clear(tmp_path):
    with pytest.raises(DataError, match="Train"):
        load_nmnist(tmp_path)
    with pytest.raises(DataError, match="unknown data set 'cifar'"):
        load_dataset("cifar", tmp_path)
