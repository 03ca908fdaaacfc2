"""epfpga: Equilibrium Propagation training on FPGAs, with bit-exact golden models."""

__version__ = "0.1.0"
