"""FPGA top-levels and bitstream builds for glocal (open toolchain only)."""
