"""The contract between the gateware and the host: what both sides of the wire must agree on.

The core's parameters (:mod:`.params`), its host-bus address map (:mod:`.address_map`), the
sequencer's instruction set, assembler and programs (:mod:`.isa`, :mod:`.assembler`,
:mod:`.programs`) and the link protocol (:mod:`.protocol`).  ``hdl`` builds the gateware from
it and ``firmware`` talks to that gateware by it; neither imports the other
(``tests/test_layers.py``).
"""
