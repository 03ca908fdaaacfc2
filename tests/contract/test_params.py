"""CoreParams: what names the gateware."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from epfpga import config as config_mod
from epfpga.contract.params import GATEWARE_KEYS, CoreParams


def test_the_digest_follows_the_documented_recipe():
    """``docs/protocol.md`` §6: the gateware keys as ``config show`` writes them, plus the
    contract version, sorted JSON, SHA-256, first 16 bytes."""
    cfg = config_mod.load("digits")
    shown = cfg.to_dict()
    keys = {k: shown[k] for k in ("sizes", "activation", "estimator", "nudge", "beta", "batch", "lanes", "lrs", "fixed")}
    keys["contract"] = 2
    want = hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).digest()[:16]
    assert CoreParams.from_config(cfg).digest == want


def test_a_build_without_pairs_names_its_layout_in_the_digest():
    """``hardware.pairs = false`` lays the memories out for one sample at a time: its digest
    adds ``"pairs": false`` to the recipe's keys, and the default's stays as it was."""
    cfg = config_mod.load("digits")
    alone = cfg.replace(hardware=dataclasses.replace(cfg.hardware, pairs=False))
    keys = {k: v for k, v in alone.to_dict().items() if k in GATEWARE_KEYS} | {"contract": 2, "pairs": False}
    assert CoreParams.from_config(alone).digest == hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).digest()[:16]
    assert CoreParams.from_config(alone).digest != CoreParams.from_config(cfg).digest


def test_learning_rates_that_round_to_the_same_power_of_two_still_name_different_gateware():
    """The digest names the config, not only what it quantises to: a host with lr 0.1 and a
    device built for 0.11 disagree even though both train at 2**-3."""
    a = CoreParams.from_config(config_mod.load("digits").replace(lrs=(0.1, 0.05)))
    b = CoreParams.from_config(config_mod.load("digits").replace(lrs=(0.11, 0.05)))
    assert a.spec.lr_q == b.spec.lr_q and a.digest != b.digest


def test_a_state_memory_has_the_documented_3h_plus_2b_slots():
    """``docs/architecture.md``: ping, pong and ``s*`` of each sample run at a time (``h``),
    then phase ``a``'s and phase ``b``'s slot of every sample."""
    for batch, pairs, halves in ((1, True, 1), (2, True, 2), (4, True, 2), (16, True, 2), (4, False, 1), (16, False, 1)):
        p = CoreParams.from_config(config_mod.from_dict({"sizes": [5, 6, 3], "batch": batch, "lanes": 4,
                                                         "hardware": {"pairs": pairs}}))
        assert p.halves == halves
        assert p.state_slots == 3 * halves + 2 * batch
        assert all(p.state_depth(n) == p.state_slots * p.slot_stride(n) for n in (1, 2))
