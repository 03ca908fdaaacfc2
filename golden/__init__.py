"""Golden models: the float P-MLP (this package) and the fixed-point trainer (:mod:`.fixed`)."""
