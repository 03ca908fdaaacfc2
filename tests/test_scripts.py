"""The scripts in scripts/ run end to end on small settings and print what they promise."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script(name, *args, cwd):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_benchmark_prints_both_rates_and_the_ratio(tmp_path):
    out = _script("bench_explicit_vs_autograd.py", "--config", "digits", "--data", "digits", "--seconds", "0.5",
                  cwd=tmp_path)
    assert "explicit dynamics" in out and "autograd of Phi" in out and "speed-up:" in out


def test_compare_float_fixed_writes_both_curves(tmp_path):
    out = _script("compare_float_fixed.py", "--config", "digits", "--epochs", "1", "--out", str(tmp_path / "c"),
                  cwd=tmp_path)
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert {"float_test_error", "fixed_test_error", "gap_points"} <= set(summary)
    assert (tmp_path / "c" / "curves.png").stat().st_size > 10_000 and "gap" in out


def test_precision_study_writes_table_and_plot(tmp_path):
    out = _script("precision_study.py", "--config", "digits", "--epochs", "1", "--out", str(tmp_path / "p"),
                  cwd=tmp_path)
    report = json.loads((tmp_path / "p" / "precision.json").read_text())
    assert len(report["runs"]) == 2 * 7 + 5 + 2
    assert (tmp_path / "p" / "precision.png").stat().st_size > 10_000
    assert out.count("\n|") == len(report["runs"]) + 2  # header and separator rows
    preset = [r for r in report["runs"] if r["fixed"] == report["config"]["fixed"] and r["batch"] == 16]
    assert len(preset) == 3 and len({r["test_error"] for r in preset}) == 1


def test_scripts_reject_bad_input_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "compare_float_fixed.py"), "--config", "nope",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "nope" in proc.stderr
