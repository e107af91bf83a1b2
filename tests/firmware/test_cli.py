"""`glocal compile`: model file in, image file out; mistakes are errors that name the limit."""

import numpy as np

from glocal.cli import main
from glocal.firmware import image
from glocal.firmware.compiler import compile_model
from glocal.golden.config import CoreConfig
from glocal.golden.export import save_model
from glocal.golden.noc import Mesh
from glocal.sim.networks import random_model

CFG = CoreConfig(axons=32, neurons=16, lanes=4)


def test_compile_writes_the_image_of_the_compiled_model(tmp_path, capsys):
    model = random_model(CFG, (12, 22, 4), np.random.default_rng(0))
    path = save_model(model, tmp_path / "m.npz")
    out = tmp_path / "m.glimg"
    assert main(["compile", "--model", str(path), "--out", str(out), "--mesh", "2x2",
                 "--neurons", "8"]) == 0
    assert "core 2 (x 0, y 1): layer0[16:22]" in capsys.readouterr().out
    img = image.read(out)
    want = compile_model(model, cfg=CoreConfig(axons=32, neurons=8, lanes=4),
                         mesh=Mesh(2, 2))
    assert img.program.names == want.names and img.program.tables == want.tables
    assert img.about["steps"] == model.steps and img.about["sizes"] == [12, 22, 4]
    assert img.source["sha256"] == image.file_sha256(path)


def test_compile_errors_name_the_limit_and_exit_2(tmp_path, capsys):
    path = save_model(random_model(CFG, (12, 30, 4), np.random.default_rng(0)),
                      tmp_path / "m.npz")
    out = tmp_path / "x.glimg"
    assert main(["compile", "--model", str(path), "--out", str(out), "--mesh", "1x2"]) == 2
    assert "the 1×2 mesh has 2" in capsys.readouterr().err and not out.exists()
    assert main(["compile", "--model", str(path), "--out", str(out), "--mesh", "2by2"]) == 2
    assert "mesh must be ROWSxCOLS such as 2x2, not '2by2'" in capsys.readouterr().err
    assert main(["compile", "--model", str(tmp_path / "no.npz"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_run_refuses_a_missing_image_with_an_error(tmp_path, capsys):
    assert main(["run", "--image", str(tmp_path / "no.glimg"), "--sim"]) == 2
    assert "image file" in capsys.readouterr().err
