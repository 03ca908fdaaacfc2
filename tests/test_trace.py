"""Traces: deterministic bytes, and `epfpga compare` exit codes and mismatch reports."""

import json
import subprocess
import sys

import numpy as np
import pytest

from epfpga import trace
from epfpga.cli import main
from epfpga.npz import write_npz


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "epfpga.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """A symmetric and a random-sign trace of the digits preset (32 samples each)."""
    d = tmp_path_factory.mktemp("traces")
    for name, extra in (("sym", ""), ("rs", 'estimator = "random-sign"\n')):
        (d / f"{name}.toml").write_text(f'preset = "digits"\nsizes = [64, 24, 10]\nlrs = [0.1, 0.05]\n{extra}')
        assert main(["trace", "--config", str(d / f"{name}.toml"), "--samples", "32", "--out", str(d / f"{name}.npz")]) == 0
    return d


def _rewrite(src, dst, change):
    t = trace.load(src)
    arrays = {k: v.copy() for k, v in t.arrays.items()}
    meta = dict(t.meta)
    change(arrays, meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    write_npz(dst, arrays)
    return str(dst)


def test_same_config_gives_byte_identical_traces_across_processes(traced, tmp_path):
    again = tmp_path / "again.npz"
    proc = _cli("trace", "--config", str(traced / "sym.toml"), "--samples", "32", "--out", str(again), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert again.read_bytes() == (traced / "sym.npz").read_bytes()
    in_process = tmp_path / "in.npz"
    assert main(["trace", "--config", str(traced / "sym.toml"), "--samples", "32", "--out", str(in_process)]) == 0
    assert in_process.read_bytes() == again.read_bytes()


def test_trace_holds_every_phase_step_and_update(traced):
    t = trace.load(traced / "sym.npz")
    assert t.arrays["free_L1"].shape == (2, 20, 16, 24) and t.arrays["minus_L2"].shape == (2, 8, 16, 10)
    assert t.arrays["W1"].shape == (2, 24, 64) and not np.array_equal(t.arrays["W1"][0], t.arrays["init_W1"])
    assert set(np.unique(t.arrays["sign"])) == {1}
    rs = trace.load(traced / "rs.npz")
    assert "minus_L1" not in rs.arrays and set(np.unique(rs.arrays["sign"])) <= {-1, 1}


def test_identical_traces_compare_equal(traced, capsys):
    assert main(["compare", str(traced / "sym.npz"), str(traced / "sym.npz")]) == 0
    assert capsys.readouterr().out.startswith("identical:")


def test_first_mismatch_is_reported_with_its_coordinates(traced, tmp_path, capsys):
    def change(arrays, meta):
        arrays["plus_L2"][1, 3, 5, 7] += 1      # batch 1, step 4, sample 16 + 5, unit 7
        arrays["W2"][0, 2, 3] -= 1              # earlier batch: reported first
        arrays["free_L1"][1, 0, 0, 0] += 2
    bad = _rewrite(traced / "sym.npz", tmp_path / "bad.npz", change)
    assert main(["compare", str(traced / "sym.npz"), bad]) == 1
    out = capsys.readouterr().out.splitlines()
    w2 = int(trace.load(traced / "sym.npz").arrays["W2"][0, 2, 3])
    assert out[0] == f"first mismatch: sample 0-15, phase update, step 0, layer W2, unit 2,3: expected {w2}, got {w2 - 1}"
    assert out[1].startswith("3 of ")

    def later(arrays, meta):
        arrays["plus_L2"][1, 3, 5, 7] += 1
        arrays["minus_L1"][1, 0, 2, 4] += 1
    bad = _rewrite(traced / "sym.npz", tmp_path / "later.npz", later)
    assert main(["compare", str(traced / "sym.npz"), bad]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("first mismatch: sample 21, phase plus, step 4, layer 2, unit 7: expected ")


BAD = {
    "missing file": lambda d, t: str(t / "nowhere.npz"),
    "truncated": lambda d, t: (t / "cut.npz").write_bytes((d / "sym.npz").read_bytes()[:5000]) and str(t / "cut.npz"),
    "not a zip": lambda d, t: (t / "txt.npz").write_text("hello") and str(t / "txt.npz"),
    "plain npz": lambda d, t: np.savez(t / "plain.npz", a=np.zeros(3)) or str(t / "plain.npz"),
    "npy not npz": lambda d, t: np.save(t / "arr.npy", np.zeros(3)) or str(t / "arr.npy"),
    "directory": lambda d, t: str(t),
    "corrupt meta": lambda d, t: _rewrite(d / "sym.npz", t / "m.npz", lambda a, m: m.pop("config")),
    "other schema": lambda d, t: _rewrite(d / "sym.npz", t / "s.npz", lambda a, m: m.update(schema="x/9")),
    "missing array": lambda d, t: _rewrite(d / "sym.npz", t / "a.npz", lambda a, m: a.pop("plus_L1")),
    "wrong dtype": lambda d, t: _rewrite(d / "sym.npz", t / "d.npz",
                                         lambda a, m: a.update(W1=a["W1"].astype(np.float64))),
    "other run": lambda d, t: str(d / "rs.npz"),
    "other init": lambda d, t: _rewrite(d / "sym.npz", t / "i.npz", lambda a, m: a["init_b1"].__iadd__(1)),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_or_mismatching_traces_exit_2(case, traced, tmp_path):
    other = BAD[case](traced, tmp_path)
    proc = _cli("compare", str(traced / "sym.npz"), other, cwd=tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("epfpga: error: trace") and "Traceback" not in proc.stderr
    assert "identical" not in proc.stdout
