"""One point of each experiment on the native simulated chip through the driver and its
``socket://`` link, learning on chip, equal to the integer reference value for value.

One simulation (1×2 mesh of 256-axon × 48-neuron cores) serves the module; each test
trains its experiment's quick network and loads it.
"""

import numpy as np
import pytest

from glocal.flows import onchip
from glocal.golden.config import CoreConfig
from glocal.golden.experiments import continual, fault_tolerance, few_shot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chip():
    with onchip.open_chip(onchip.target(CoreConfig())) as chip:
        yield chip


def test_a_fault_tolerance_point_learning_on_chip_equals_the_reference(chip):
    p = onchip.fault_tolerance(fault_tolerance.Settings.quick(), variant="hp", seed=0,
                               noise="gaussian", level=0.06, samples=3, chip=chip)
    assert p.learn[0], "the HP hidden core must learn on chip"
    assert p.values > 0 and p.mismatches == 0, f"{p.mismatches} of {p.values} differ"
    assert p.hebb_equal and np.count_nonzero(p.hebb[0]) > 0
    assert p.samples_exact == p.samples == 3
    np.testing.assert_array_equal(p.chip_outputs, p.reference_outputs)
    np.testing.assert_array_equal(p.chip_predictions, p.reference_predictions)
    assert p.cycles_per_sample > 0


def test_a_few_shot_episode_learned_on_chip_equals_run_chip_episode(chip):
    p = few_shot.Settings.quick(queries=2)
    e = onchip.few_shot(p, seed=0, shots=1, chip=chip)
    assert (e.ways, e.support, e.queries) == (5, 5, 10)
    assert e.hebb_nonzero > 0, "the support set must have written H on chip"
    assert e.hebb_equal
    np.testing.assert_array_equal(e.chip_scores, e.reference_scores)
    np.testing.assert_array_equal(e.chip_predictions, e.reference_predictions)
    assert e.mismatches == 0, f"{e.mismatches} of {e.values} spikes/outputs differ"


def test_a_continual_gp_point_equals_the_reference(chip):
    p = onchip.continual(continual.Settings.quick(), variant="gp", seed=0, task=1,
                         samples=3, chip=chip)
    assert p.learn == [False, False]
    assert p.values > 0 and p.mismatches == 0, f"{p.mismatches} of {p.values} differ"
    np.testing.assert_array_equal(p.chip_outputs, p.reference_outputs)
    np.testing.assert_array_equal(p.chip_predictions, p.reference_predictions)


def test_a_continual_hp_point_learning_on_the_unmasked_synapses_equals_the_reference(chip):
    p = onchip.continual(continual.Settings.quick(), variant="hp", seed=0, task=1,
                         samples=3, chip=chip)
    assert p.learn == [True, False], "the HP hidden core must learn on chip"
    enabled, total = p.info["plastic_synapses"][0], 64 * 32
    assert 0 < enabled < total, "the task's mask must leave some synapses without plasticity"
    assert p.values > 0 and p.mismatches == 0, f"{p.mismatches} of {p.values} differ"
    assert p.samples_exact == p.samples == 3
    np.testing.assert_array_equal(p.chip_outputs, p.reference_outputs)
    np.testing.assert_array_equal(p.chip_predictions, p.reference_predictions)
    # H read back after the last sample: the reference's, learned only where enabled.
    assert p.hebb_equal
    plastic = chip.program.cores[0].plastic
    assert np.count_nonzero(p.hebb[0][plastic == 1]) > 0
    assert not p.hebb[0][plastic == 0].any()


def test_few_shot_episodes_share_one_trained_network_and_one_chip():
    eps = onchip.few_shot_episodes(few_shot.Settings.quick(queries=2), seed=0, shots=1,
                                   count=2)
    assert len(eps) == 2 and [e.info["episode"] for e in eps] == [0, 1]
    for e in eps:
        assert (e.ways, e.support, e.queries) == (5, 5, 10)
        assert e.exact and e.hebb_nonzero > 0, f"{e.mismatches} of {e.values} differ"
    # Two draws from one generator: different episodes.
    assert not np.array_equal(eps[0].query_labels, eps[1].query_labels) or \
        not np.array_equal(eps[0].chip_scores, eps[1].chip_scores)
