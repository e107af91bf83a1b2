"""The chip image: round trip, the writes it stands for, and refusals that name the problem."""

import io
import json
import zipfile

import numpy as np
import pytest

from glocal.firmware import image
from glocal.firmware.compiler import compile_model
from glocal.firmware.image import ImageError
from glocal.golden import chip, memmap
from glocal.golden.config import CoreConfig
from glocal.golden.digest import manifest_sha256
from glocal.golden.export import save_model
from glocal.golden.memmap import Region
from glocal.golden.noc import Mesh
from glocal.sim.networks import random_inputs, random_model

CFG = CoreConfig(axons=32, neurons=8, lanes=4)


@pytest.fixture
def compiled(tmp_path):
    rng = np.random.default_rng(0)
    model = random_model(CFG, (12, 20, 4), rng)
    model_path = save_model(model, tmp_path / "m.npz")
    program = compile_model(model, mesh=Mesh(2, 3, depth=16, fanout=2))
    path = image.save(program, tmp_path / "a.glimg", source=model_path,
                      about={"steps": model.steps})
    return model, model_path, program, path


def _same_program(a, b):
    assert (a.cfg, a.mesh, a.inputs, a.outputs, a.names) == (b.cfg, b.mesh, b.inputs,
                                                             b.outputs, b.names)
    assert a.tables == b.tables
    for p, q in zip(a.cores, b.cores, strict=True):
        assert p.regs == q.regs
        for k in ("weight", "bias", "beta", "theta", "p_table"):
            np.testing.assert_array_equal(getattr(p, k), getattr(q, k), err_msg=k)


def test_round_trip_gives_back_the_program_and_the_same_run(compiled):
    model, model_path, program, path = compiled
    img = image.read(path)
    _same_program(img.program, program)
    assert img.source == {"file": "m.npz", "sha256": image.file_sha256(model_path)}
    assert img.about == {"steps": model.steps}
    x = random_inputs(model, np.random.default_rng(1), 1)[0]
    np.testing.assert_array_equal(chip.run(image.load(path), x).spikes,
                                  chip.run(program, x).spikes)


def test_the_manifest_is_readable_json_naming_cores_registers_and_arrays(compiled):
    _, _, program, path = compiled
    with zipfile.ZipFile(path) as z:
        m = json.loads(z.read("manifest.json"))
        assert f"arrays/{m['cores'][1]['regions']['WEIGHT']['array']}.npy" in z.namelist()
    assert m["format"] == image.FORMAT and m["version"] == image.VERSION
    assert m["mesh"] == {"rows": 2, "cols": 3, "depth": 16, "fanout": 2}
    assert m["cores"][1]["name"] == "layer0[8:16]"
    assert m["cores"][1]["registers"]["VTH_SHIFT"] == program.cores[1].regs.vth_shift
    assert m["inputs"][3] == [[0, 3], [1, 3], [2, 3]] and m["outputs"][0] == [3, 0]


def test_writes_cover_every_region_and_skipping_zeros_leaves_only_zeros_out(compiled):
    _, _, program, _ = compiled
    full = image.writes(program)
    sparse = image.writes(program, skip_zeros=True)
    mem, mem_sparse = {}, {}
    for ws, into in ((full, mem), (sparse, mem_sparse)):
        for w in ws:
            for i, v in enumerate(w.values):
                into[w.core, w.region, w.index + i] = int(v)
    for c in range(program.mesh.cores):
        size = memmap.region_size(CFG, Region.WEIGHT, program.mesh)
        got = [mem[c, Region.WEIGHT, i] for i in range(size)]
        assert got == program.cores[c].weight.reshape(-1).tolist()
        assert mem[c, Region.REGS, memmap.Reg.LEARN] == int(program.cores[c].regs.learn)
    assert set(mem_sparse) < set(mem)
    assert all(mem[k] == v for k, v in mem_sparse.items())
    assert all(v == 0 for k, v in mem.items() if k not in mem_sparse)
    assert sum(len(w.values) for w in sparse) < sum(len(w.values) for w in full) / 2


def _rewrite(src, dst, edit_manifest=None, edit_array=None, *, resign=False):
    """Copy an image, changing its manifest or one array (optionally re-signing the
    manifest, so that only the targeted check can catch the change)."""
    with zipfile.ZipFile(src) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    m = json.loads(entries["manifest.json"])
    if edit_manifest:
        edit_manifest(m)
    if resign:
        m["manifest_sha256"] = manifest_sha256(m)
    entries["manifest.json"] = json.dumps(m).encode()
    if edit_array:
        name, fn = edit_array
        a = np.load(io.BytesIO(entries[name]))
        buf = io.BytesIO()
        np.save(buf, fn(a.copy()))
        entries[name] = buf.getvalue()
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in entries.items():
            z.writestr(n, data)
    return dst


def _flip(a):
    a[0] ^= 1
    return a


def test_a_changed_array_fails_its_checksum(compiled, tmp_path):
    *_, path = compiled
    bad = _rewrite(path, tmp_path / "b.glimg", edit_array=("arrays/core1.WEIGHT.npy", _flip))
    with pytest.raises(ImageError, match="array 'core1.WEIGHT' fails its checksum"):
        image.read(bad)


def test_a_flipped_byte_in_the_file_is_refused_naming_the_entry(compiled, tmp_path):
    *_, path = compiled
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("arrays/core0.BIAS.npy")
    # The local header is 30 bytes plus the name; flip a byte of the compressed data.
    at = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    raw[at] ^= 0x10
    bad = tmp_path / "flip.glimg"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ImageError, match="core0.BIAS"):
        image.read(bad)


def test_an_edited_manifest_fails_its_checksum(compiled, tmp_path):
    *_, path = compiled
    bad = _rewrite(path, tmp_path / "e.glimg", lambda m: m["outputs"].reverse())
    with pytest.raises(ImageError, match="manifest.json fails its checksum"):
        image.read(bad)


def test_another_version_or_format_is_refused_by_name(compiled, tmp_path):
    *_, path = compiled
    newer = _rewrite(path, tmp_path / "v.glimg", lambda m: m.update(version=image.VERSION + 1),
                     resign=True)
    with pytest.raises(ImageError, match=f"image version {image.VERSION + 1} is not supported"
                                         f"; this reader reads version {image.VERSION}"):
        image.read(newer)
    other = _rewrite(path, tmp_path / "f.glimg", lambda m: m.update(format="glocal-model"),
                     resign=True)
    with pytest.raises(ImageError, match="format must be 'glocal-image', not 'glocal-model'"):
        image.read(other)


def test_truncated_missing_and_foreign_files_are_refused(compiled, tmp_path):
    model, model_path, _, path = compiled
    cut = tmp_path / "cut.glimg"
    cut.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    with pytest.raises(ImageError, match="cut.glimg is not a readable image file"):
        image.read(cut)
    with pytest.raises(ImageError, match="does not exist"):
        image.read(tmp_path / "none.glimg")
    with pytest.raises(ImageError, match="no manifest.json: not a glocal-image file"):
        image.read(model_path)     # a model file is a zip too, but not an image


def test_a_consistent_checksum_over_an_inconsistent_program_is_still_refused(compiled,
                                                                             tmp_path):
    *_, path = compiled

    def two_drivers(m):
        m["inputs"][0].append(m["inputs"][1][0])   # input 0 onto input 1's axon

    bad = _rewrite(path, tmp_path / "i.glimg", two_drivers, resign=True)
    with pytest.raises(ImageError, match="not a consistent program: input 1 enters axon 1 "
                                         "of core 0, which another input"):
        image.read(bad)


def test_a_program_with_plasticity_enables_round_trips_and_writes_them(tmp_path):
    cfg = CoreConfig(axons=32, neurons=8, lanes=4, plastic_mask=1)
    rng = np.random.default_rng(4)
    model = random_model(cfg, (12, 20, 4), rng)
    program = compile_model(model, mesh=Mesh(2, 3, depth=16, fanout=2))
    back = image.load(image.save(program, tmp_path / "m.glimg"))
    _same_program(back, program)
    for p, q in zip(program.cores, back.cores, strict=True):
        np.testing.assert_array_equal(p.plastic, q.plastic)
    plastic = {(w.core, w.index): w.values for w in image.writes(program)
               if w.region is Region.PLASTIC}
    assert sorted(plastic) == [(c, 0) for c in range(program.mesh.cores)]
    np.testing.assert_array_equal(plastic[1, 0], program.cores[1].plastic.reshape(-1))
    # Skipping zeros: the enables' nonzero entries are all still written, in packed spans.
    sparse = [w for w in image.writes(program, skip_zeros=True) if w.region is Region.PLASTIC]
    for c in range(program.mesh.cores):
        got = np.zeros(cfg.axons * cfg.neurons, np.int64)
        for w in (w for w in sparse if w.core == c):
            got[w.index:w.index + len(w.values)] = w.values
        np.testing.assert_array_equal(got, program.cores[c].plastic.reshape(-1))
    x = random_inputs(model, rng, 1)[0]
    np.testing.assert_array_equal(chip.run(back, x).spikes, chip.run(program, x).spikes)


def test_an_image_without_plasticity_enables_has_no_such_region(compiled):
    _, _, program, path = compiled
    assert all(w.region is not Region.PLASTIC for w in image.writes(program))
    with zipfile.ZipFile(path) as z:
        m = json.loads(z.read("manifest.json"))
    assert all("PLASTIC" not in c["regions"] for c in m["cores"])
