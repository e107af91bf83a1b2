"""The authors' fault-tolerance networks on the native simulated chip: trained with the
carried trace (digits, quick sizes), saved, loaded, every sample from ``h0`` on the chip,
bit-exact with the chip-level reference, HP and GP on one chip."""

import json

import pytest

from glocal.flows import fault_tolerance as flow
from glocal.golden.experiments import common
from glocal.golden.experiments import fault_tolerance as ft
from glocal.golden.experiments.cli import settings_for
from glocal.golden.model import Variant


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    """The quick authors' preset on digits, HP and GP of seed 0, saved."""
    out = tmp_path_factory.mktemp("ft")
    settings = settings_for("fault-tolerance", {"preset": "authors", "quick": True,
                                                "data": "digits", "no_progress": True,
                                                "out": str(out)})
    ds = common.load_data("digits", None)
    for v in (Variant.HP, Variant.GP):
        ft.train_variant(ds, settings, v, 0)
    return settings, out / "nets"


def test_hp_and_gp_from_saved_nets_run_bit_exact_on_the_chip(nets):
    settings, folder = nets
    runs = flow.run(settings, samples=5, nets=folder, hebb_every=2, progress=False)
    hp, gp = runs
    assert (hp.variant, gp.variant) == ("hp", "gp")
    assert hp.learning_cores, "HP must learn on chip"
    assert not gp.learning_cores and gp.hebb_checks == 0
    for r in runs:
        assert r.values > 0 and r.mismatches == 0, f"{r.variant}: {r.mismatches} differ"
        assert r.samples_exact == r.samples == 5 and r.network_equal
        assert r.chip_accuracy == r.reference_accuracy
    # Samples 0, 2, 4 (every second and the last): H read back equal to the reference's.
    assert hp.hebb_checks == hp.hebb_equal == 3
    assert hp.exact and gp.exact


def test_the_cli_writes_its_summary_and_refuses_nets_of_other_data(nets, tmp_path):
    settings, folder = nets
    assert flow.run_cli(data="digits", samples=2, nets=str(folder), out=str(tmp_path),
                        progress=False) == 0
    summary = json.loads((tmp_path / "onchip-authors-digits.json").read_text())
    assert [v["variant"] for v in summary["variants"]] == ["hp", "gp"]
    assert all(v["exact"] and v["samples"] == 2 for v in summary["variants"])
    with pytest.raises(ValueError, match="has 64 inputs; mnist14 has 196"):
        flow.run(ft.Settings.authors(data="mnist14"), samples=2, nets=folder,
                 progress=False)
    with pytest.raises(FileNotFoundError, match="no saved network .*lp-seed0.pt"):
        flow.run(settings, variants=("lp",), samples=2, nets=folder, progress=False)
    with pytest.raises(ValueError, match="samples and hebb_every must be at least 1"):
        flow.run(settings, samples=0, nets=folder, progress=False)
