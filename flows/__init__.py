"""Flows that join the layers: a trained network, the driver and a simulated chip.

``golden/`` (contracts, reference, training), ``firmware/`` (compiler, image, driver) and
``sim/`` (the simulated chip) do not import one another upward; what runs an experiment
*on* a simulated chip needs all three, so it lives here, above them. Nothing below
imports this package.
"""
