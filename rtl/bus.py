"""The configuration bus: how the host interface reaches every memory and register.

A request stream and a response stream; every request gets exactly one response, in
order. Addresses are word addresses as defined in :mod:`glocal.golden.memmap`. A request
whose address is not mapped (or a write to a read-only register) is answered with
``error = 1`` and changes nothing.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from glocal.golden.memmap import ADDR_BITS

__all__ = ["Request", "Response", "Signature", "Control", "Pipe"]

Request = data.StructLayout({
    "addr": unsigned(ADDR_BITS),
    "write": unsigned(1),
    "data": unsigned(32),
})

Response = data.StructLayout({
    "data": unsigned(32),
    "error": unsigned(1),
})


class Signature(wiring.Signature):
    """Bus as seen by the responder (a core or the chip): requests in, responses out."""

    def __init__(self):
        super().__init__({
            "req": In(stream.Signature(Request)),
            "resp": Out(stream.Signature(Response)),
        })


class Control(wiring.Signature):
    """Step control of a core (or the chip), as seen by the core.

    Members
    -------
    start : In(1)
        One-cycle pulse: run one time step on the inputs written to ``Region.AXON``
        since the last start. Taken only in a cycle where ``ready`` is high.
    ready : Out(1)
        The core can take ``start``: the previous step's integration and firing are done
        (its learning pass may still run, overlapped with the next integration).
    busy : Out(1)
        Anything of any step still runs, learning included. When ``busy`` is low every
        memory reads back the reference model's state after the last step.
    """

    def __init__(self):
        super().__init__({
            "start": In(1),
            "ready": Out(1),
            "busy": Out(1),
        })


def _register(m: Module, name: str, i: stream.Interface, o: stream.Interface) -> None:
    """One register stage from stream ``i`` (taken in) to stream ``o`` (offered out).

    It holds one transfer; ``i.ready`` depends only on the stage's own state, so neither
    ``valid``/``payload`` nor ``ready`` pass combinationally through it.
    """
    full = Signal(name=f"{name}_full")
    m.d.comb += [i.ready.eq(~full), o.valid.eq(full)]
    with m.If(o.valid & o.ready):
        m.d.sync += full.eq(0)
    with m.If(i.valid & i.ready):
        m.d.sync += [full.eq(1), o.payload.eq(i.payload)]


class Pipe(wiring.Component):
    """A register stage in both directions of a bus, to cut long paths between blocks.

    The bus carries one request at a time (every responder answers before it takes the
    next request), so a stage that holds one transfer per direction costs one cycle of
    latency each way and no throughput.

    Members
    -------
    up : Out(Signature())
        Faces the initiator (the host interface).
    down : Out(Signature().flip())
        Faces the responder (a core, the chip's cores).
    """

    def __init__(self):
        super().__init__({"up": Out(Signature()), "down": Out(Signature().flip())})

    def elaborate(self, platform):
        m = Module()
        _register(m, "req", self.up.req, self.down.req)
        _register(m, "resp", self.down.resp, self.up.resp)
        return m
