"""What the target platform changes in the RTL: its organisation, never what it computes.

`lean` is the one such choice the blocks share (`glocal.rtl.core.Core`,
`glocal.rtl.spikeout.Egress`): leave out the timing registers that cost flip-flops (and
cycles) but no function. The iCE40 UP5K runs out of LCs before its clock runs out of
time, so it is built lean; other targets are not (``docs/boards.md``).
"""

from __future__ import annotations

from amaranth.vendor import SiliconBluePlatform

__all__ = ["resolve_lean"]


def resolve_lean(lean: bool | None, platform) -> bool:
    """``lean`` as given, or, if ``None``, chosen by ``platform`` (lean on the iCE40)."""
    return lean if lean is not None else isinstance(platform, SiliconBluePlatform)
