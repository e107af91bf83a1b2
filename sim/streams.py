"""Stream helpers for Amaranth-simulator testbenches (``sim.add_testbench``, async)."""

from __future__ import annotations

__all__ = ["put", "get"]


async def put(ctx, stream, payload, *, idle: int = 0) -> None:
    """Offer ``payload`` on ``stream`` until the sink takes it, after ``idle`` empty cycles."""
    for _ in range(idle):
        await ctx.tick()
    ctx.set(stream.valid, 1)
    ctx.set(stream.payload, payload)
    await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def get(ctx, stream, *, idle: int = 0):
    """Take one payload from ``stream`` after refusing it for ``idle`` cycles."""
    for _ in range(idle):
        await ctx.tick()
    ctx.set(stream.ready, 1)
    payload, = await ctx.tick().sample(stream.payload).until(stream.valid)
    ctx.set(stream.ready, 0)
    return payload
