"""Phase-sequencer programs, their assembler and the host driver (to come)."""
