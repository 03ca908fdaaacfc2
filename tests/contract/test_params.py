"""CoreParams: what names the gateware."""

from __future__ import annotations

import hashlib
import json

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams


def test_the_digest_follows_the_documented_recipe():
    """``docs/protocol.md`` §6: the gateware keys as ``config show`` writes them, plus the
    contract version, sorted JSON, SHA-256, first 16 bytes."""
    cfg = config_mod.load("digits")
    shown = cfg.to_dict()
    keys = {k: shown[k] for k in ("sizes", "activation", "estimator", "nudge", "beta", "batch", "lanes", "lrs", "fixed")}
    keys["contract"] = 2
    want = hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).digest()[:16]
    assert CoreParams.from_config(cfg).digest == want


def test_learning_rates_that_round_to_the_same_power_of_two_still_name_different_gateware():
    """The digest names the config, not only what it quantises to: a host with lr 0.1 and a
    device built for 0.11 disagree even though both train at 2**-3."""
    a = CoreParams.from_config(config_mod.load("digits").replace(lrs=(0.1, 0.05)))
    b = CoreParams.from_config(config_mod.load("digits").replace(lrs=(0.11, 0.05)))
    assert a.spec.lr_q == b.spec.lr_q and a.digest != b.digest


def test_a_state_memory_has_the_documented_3h_plus_2b_slots():
    """``docs/architecture.md``: ping, pong and ``s*`` of each sample run at a time (``h``),
    then phase ``a``'s and phase ``b``'s slot of every sample."""
    for batch, halves in ((1, 1), (2, 2), (4, 2), (16, 2)):
        p = CoreParams.from_config(config_mod.from_dict({"sizes": [5, 6, 3], "batch": batch, "lanes": 4}))
        assert p.halves == halves
        assert p.state_slots == 3 * halves + 2 * batch
        assert all(p.state_depth(n) == p.state_slots * p.slot_stride(n) for n in (1, 2))
