"""A chip run against the chip-level reference: the one comparison every flow uses.

`compare` runs the same samples through :func:`glocal.golden.chip.run` of the program
the chip held (``Chip.program``) and counts, value by value, what the chip returned
differently: the outputs always, every core's spikes at every step when the run kept its
traces, every core's membranes at every step when it kept them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from glocal.firmware.chip import Results
from glocal.golden import chip as golden_chip
from glocal.golden.chip import Program
from glocal.golden.reference import CoreState

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    """A chip run against :func:`glocal.golden.chip.run`, sample after sample.

    Members
    -------
    samples_exact : int
        Samples whose every compared value equals the reference's.
    values, mismatches : int
        Values compared (the outputs; every core's spikes, and membranes, at every step
        when the run kept them) and how many differ.
    predictions_equal : int
        Samples whose prediction equals the reference's.
    reference : list of ChipRun
        The reference runs; ``reference[-1].states`` is the state after the last sample.
    """

    samples_exact: int
    values: int
    mismatches: int
    predictions_equal: int
    reference: list = field(repr=False)

    @property
    def agreement(self) -> float:
        """Fraction of compared values that are equal."""
        return 1.0 - self.mismatches / self.values if self.values else 0.0


def compare(program: Program, x: np.ndarray, results: Results, *, keep_hebb: bool,
            states: Sequence[CoreState] | None = None) -> Comparison:
    """Run ``x`` (samples, steps, inputs) through :func:`glocal.golden.chip.run` of
    ``program`` and compare ``results`` with it.

    Parameters
    ----------
    program : Program
        What the chip held during the run (``Chip.program``).
    x : ndarray, shape (samples, steps, inputs)
    results : Results
        The chip's run of ``x`` (`glocal.firmware.chip.Chip.run`). ``spikes`` and
        ``membranes`` are compared when present.
    keep_hebb : bool
        The Hebbian state carried from sample to sample (the run's ``keep_hebb``);
        otherwise every sample starts from the program's start state.
    states : sequence of CoreState, optional
        The state the first sample starts from (default: the program's start state).
    """
    exact = values = mismatches = same_pred = 0
    refs = []
    for s in range(len(x)):
        ref = golden_chip.run(program, x[s], states)
        states = golden_chip.next_sample(ref.states) if keep_hebb else None
        refs.append(ref)
        bad = int((results.outputs[s] != ref.output).sum())
        values += ref.output.size
        if results.spikes is not None:
            bad += int((results.spikes[s] != ref.spikes).sum())
            values += ref.spikes.size
        if results.membranes is not None:
            bad += int((results.membranes[s] != ref.membrane).sum())
            values += ref.membrane.size
        mismatches += bad
        exact += bad == 0
        same_pred += int(results.predictions[s]) == ref.prediction
    return Comparison(exact, values, mismatches, same_pred, refs)
