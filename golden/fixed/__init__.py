"""The fixed-point golden model: the integer arithmetic of the on-chip trainer, stage by stage."""
