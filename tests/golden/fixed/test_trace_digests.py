"""Small traces are pinned by committed digests: drift of the contract fails here."""

import json

import pytest

from .digests import CASES, PATH, case_name, digest

EXPECTED = json.loads(PATH.read_text())


def test_every_case_has_a_digest():
    assert sorted(EXPECTED) == sorted(case_name(c) for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=case_name)
def test_trace_digest(case):
    assert digest(case) == EXPECTED[case_name(case)], \
        "the fixed-point trace changed: if the contract changed on purpose, update docs/fixed-point.md " \
        "and run scripts/trace_digests.py"
