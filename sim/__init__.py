"""cocotb + Verilator harness that runs the RTL against the integer reference."""
