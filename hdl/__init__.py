"""Amaranth gateware of the on-chip trainer (to come: neuron- and weight-update pipelines, memories, sequencer)."""
