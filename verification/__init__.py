"""The simulation and verification harness of the gateware (``epfpga.hdl``): transports to
Amaranth's simulator and to cocotb in Icarus and Verilator, the one bus driver, the beat
checker, the RTL trainer, the simulated board and the link fuzzer.  It imports the gateware;
the gateware never imports it."""
