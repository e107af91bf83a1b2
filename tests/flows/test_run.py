"""The flows' shared pieces: `compare` (a chip run against the chip-level reference) and
the digits test set `glocal run` and the demo feed the chip."""

import numpy as np

from glocal.firmware.chip import Results
from glocal.firmware.compiler import compile_model
from glocal.flows.compare import compare
from glocal.flows.run import digits_test_set
from glocal.golden import chip as golden_chip
from glocal.golden.config import CoreConfig
from glocal.sim.networks import random_inputs, random_model

CFG = CoreConfig(axons=32, neurons=16, lanes=4)


def test_compare_counts_every_differing_output_and_spike():
    rng = np.random.default_rng(2)
    model = random_model(CFG, (12, 20, 4), rng)
    program = compile_model(model)
    x = random_inputs(model, rng, 3)
    refs = [golden_chip.run(program, s) for s in x]
    res = Results(outputs=np.stack([r.output for r in refs]),
                  predictions=np.array([r.prediction for r in refs]),
                  cycles=np.ones(3, np.int64), syn_ops=np.ones(3, np.int64),
                  spikes=np.stack([r.spikes for r in refs]))
    same = compare(program, x, res, keep_hebb=False)
    assert (same.mismatches, same.samples_exact, same.predictions_equal) == (0, 3, 3)
    assert same.values == 3 * (4 + model.steps * program.mesh.cores * CFG.neurons)
    res.spikes[1, 2, 0, 3] ^= 1
    res.outputs[2, 1] += 1
    off = compare(program, x, res, keep_hebb=False)
    assert (off.mismatches, off.samples_exact) == (2, 1)
    assert off.agreement == 1 - 2 / same.values


def test_the_digits_test_set_is_encoded_as_the_model_was_evaluated():
    info = {"steps": 5, "encoding": "rate", "metadata": {"encoding_seed": 3}}
    x, y = digits_test_set(info, 7)
    assert x.shape == (7, 5, 64) and y.shape == (7,) and set(np.unique(x)) <= {0, 1}
    again, _ = digits_test_set(info, 7)
    other, _ = digits_test_set({**info, "metadata": {"encoding_seed": 4}}, 7)
    assert np.array_equal(x, again) and not np.array_equal(x, other)
    whole, _ = digits_test_set(info)
    assert np.array_equal(whole[:7], x)     # a prefix of the split as a whole encodes it


def test_compare_counts_membranes_when_kept_and_starts_from_the_given_state():
    rng = np.random.default_rng(5)
    model = random_model(CFG, (12, 20, 4), rng)
    program = compile_model(model)
    x = random_inputs(model, rng, 3)
    first = golden_chip.run(program, x[0])
    start = golden_chip.next_sample(first.states)   # the Hebbian state of sample 0 kept
    refs, states = [], start
    for s in x[1:]:
        refs.append(golden_chip.run(program, s, states))
        states = golden_chip.next_sample(refs[-1].states)
    res = Results(outputs=np.stack([r.output for r in refs]),
                  predictions=np.array([r.prediction for r in refs]),
                  cycles=np.ones(2, np.int64), syn_ops=np.ones(2, np.int64),
                  spikes=np.stack([r.spikes for r in refs]),
                  membranes=np.stack([r.membrane for r in refs]))
    same = compare(program, x[1:], res, keep_hebb=True, states=start)
    assert (same.mismatches, same.samples_exact) == (0, 2)
    assert same.values == 2 * (4 + 2 * model.steps * program.mesh.cores * CFG.neurons)
    res.membranes[0, 1, 1, 2] += 1
    assert compare(program, x[1:], res, keep_hebb=True, states=start).mismatches == 1
