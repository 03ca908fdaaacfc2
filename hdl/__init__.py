"""The on-chip trainer's gateware (Amaranth 0.5): pipelines, memories, sequencer, host port,
UART, protocol engine and system top, with its schedule model and Verilog generation.  The
simulation and verification harness is :mod:`epfpga.verification`."""
