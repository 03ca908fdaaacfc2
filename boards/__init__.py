"""Board tops and builds for iCEBreaker and ULX3S-85F (to come)."""
