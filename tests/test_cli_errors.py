"""Catalogue of bad input: every case exits 2 with one line that names the problem."""

import subprocess
import sys
import warnings

import numpy as np
import pytest


def _toml(tmp, text):
    path = tmp / "bad.toml"
    path.write_text(text)
    return str(path)


def _mnist(tmp, damage):
    """A tiny valid MNIST folder, then damaged by ``damage(folder)``."""
    folder = tmp / "mnist"
    folder.mkdir()
    for prefix, n in (("train", 4), ("t10k", 2)):
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
            b"\x00\x00\x08\x03" + np.array([n, 28, 28], ">u4").tobytes() + bytes(n * 784))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
            b"\x00\x00\x08\x01" + np.array([n], ">u4").tobytes() + bytes(n))
    damage(folder)
    return f"mnist:{folder}"


def _truncate(folder):
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])


def _bad_magic(folder):
    path = folder / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x07" + path.read_bytes()[4:])


def _label_count(folder):
    (folder / "train-labels-idx1-ubyte").write_bytes(
        b"\x00\x00\x08\x01" + np.array([3], ">u4").tobytes() + bytes(3))


def _bad_label(folder):
    (folder / "t10k-labels-idx1-ubyte").write_bytes(
        b"\x00\x00\x08\x01" + np.array([2], ">u4").tobytes() + bytes([1, 42]))


def _not_gzip(folder):
    (folder / "t10k-labels-idx1-ubyte").unlink()
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"this is not gzip data")


_PTYS: list[tuple[int, int]] = []   # held open while the case runs: a port with nobody behind it


def _silent_port() -> str:
    import os
    master, slave = os.openpty()
    _PTYS.append((master, slave))
    return os.ttyname(slave)


def _weights(tmp, **arrays):
    path = tmp / "w.npz"
    np.savez(path, **arrays)
    return str(path)


DIGITS_CONV = ("sizes = [64, 10]\ninput_shape = [1, 8, 8]\nchannels = [2]\nkernels = [3]\n"
               "paddings = [0]\nlrs = [0.1, 0.1]\n")

CASES = {
    # configuration files
    "unknown key": (lambda t: ["train", "--config", _toml(t, "betta = 0.5\n")], "betta"),
    "negative beta": (lambda t: ["train", "--config", _toml(t, "beta = -0.5\n")], "beta"),
    "nan beta": (lambda t: ["train", "--config", _toml(t, "beta = nan\n")], "beta"),
    "zero steps": (lambda t: ["train", "--config", _toml(t, "t1 = 0\n")], "t1"),
    "string for int": (lambda t: ["train", "--config", _toml(t, 't1 = "twenty"\n')], "t1"),
    "unknown activation": (lambda t: ["train", "--config", _toml(t, 'activation = "relu"\n')], "activation"),
    "unknown estimator": (lambda t: ["train", "--config", _toml(t, 'estimator = "two-sided"\n')], "estimator"),
    "one layer": (lambda t: ["train", "--config", _toml(t, "sizes = [64]\n")], "sizes"),
    "scalar sizes": (lambda t: ["train", "--config", _toml(t, "sizes = 5\n")], "sizes"),
    "scalar lrs": (lambda t: ["train", "--config", _toml(t, "lrs = 0.1\n")], "lrs"),
    "lrs count": (lambda t: ["train", "--config", _toml(t, "lrs = [0.1]\n")], "lrs"),
    "table for value": (lambda t: ["train", "--config", _toml(t, "beta = {a = 1}\n")], "beta"),
    "bad toml": (lambda t: ["train", "--config", _toml(t, "beta = = 1\n")], "TOML"),
    "frac >= bits": (lambda t: ["config", "show", _toml(t, "[fixed]\nweight_bits = 8\nweight_frac = 8\n")],
                     "fixed.weight_frac"),
    "unknown board": (lambda t: ["config", "show", _toml(t, '[hardware]\nboard = "de10"\n')], "hardware.board"),
    "unknown preset": (lambda t: ["config", "show", "cifar"], "cifar"),
    "unknown base preset": (lambda t: ["config", "show", _toml(t, 'preset = "cifar"\n')], "preset"),
    # arguments
    "zero epochs": (lambda t: ["train", "--epochs", "0"], "--epochs"),
    "zero threads": (lambda t: ["train", "--threads", "0"], "--threads"),
    "negative seed": (lambda t: ["train", "--seed", "-1"], "--seed"),
    "unknown option": (lambda t: ["train", "--fast"], "--fast"),
    "bad betas": (lambda t: ["gdu", "--betas", "0.1,abc", "--out", str(t / "g")], "--betas"),
    # the gateware: simulators and configurations it cannot run
    "verilator lanes": (lambda t: ["trace", "--backend", "rtl", "--sim", "verilator", "--config",
                                   _toml(t, "lanes = 6\n"), "--out", str(t / "t.npz")], "lanes"),
    "icarus ce": (lambda t: ["train", "--backend", "rtl", "--sim", "icarus", "--config",
                             _toml(t, 'loss = "ce"\nsizes = [64, 32, 10]\n'), "--out", str(t / "o")], "loss"),
    "sim without rtl": (lambda t: ["trace", "--sim", "amaranth", "--out", str(t / "t.npz")], "--backend rtl"),
    "unknown sim": (lambda t: ["trace", "--backend", "rtl", "--sim", "modelsim", "--out", str(t / "t.npz")],
                    "modelsim"),
    "verilog lanes": (lambda t: ["verilog", "--config", _toml(t, "lanes = 6\n"), "--out", str(t / "v")], "lanes"),
    "verilog no hidden": (lambda t: ["verilog", "--config", _toml(t, "sizes = [64, 10]\nlrs = [0.1]\n"),
                                     "--out", str(t / "v")], "sizes"),
    "verilog ce": (lambda t: ["verilog", "--config", _toml(t, 'loss = "ce"\nsizes = [64, 32, 10]\n'),
                              "--out", str(t / "v")], "loss"),
    "verilog beta": (lambda t: ["verilog", "--config", _toml(t, "beta = 0.3\n"), "--out", str(t / "v")], "beta"),
    "verilog unknown preset": (lambda t: ["verilog", "--config", "cifar", "--out", str(t / "v")], "cifar"),
    "verilog unwritable out": (lambda t: (t / "file").write_text("x") and ["verilog", "--out", str(t / "file" / "v")],
                               "file"),
    "rtl trace lanes": (lambda t: ["trace", "--backend", "rtl", "--config", _toml(t, "lanes = 12\n"),
                                   "--out", str(t / "t.npz")], "lanes"),
    "rtl trace tanh": (lambda t: ["trace", "--backend", "rtl", "--config", _toml(t, 'activation = "tanh"\n'),
                                  "--out", str(t / "t.npz")], "activation"),
    # configurations without a fixed-point form
    "fixed beta": (lambda t: ["train", "--backend", "fixed", "--config", _toml(t, "beta = 0.3\n")], "beta"),
    "fixed batch": (lambda t: ["train", "--backend", "fixed", "--config", _toml(t, "batch = 12\n")], "batch"),
    "fixed momentum": (lambda t: ["trace", "--config", _toml(t, "momentum = 0.9\n"), "--out", str(t / "t.npz")],
                       "momentum"),
    "fixed tanh": (lambda t: ["trace", "--config", _toml(t, 'activation = "tanh"\n'), "--out", str(t / "t.npz")],
                   "activation"),
    "fixed ctrd_hard_sig": (lambda t: ["trace", "--config", _toml(t, 'activation = "ctrd_hard_sig"\n'), "--out",
                                       str(t / "t.npz")], "activation"),
    "fixed conv": (lambda t: ["trace", "--config", _toml(t, DIGITS_CONV), "--out", str(t / "t.npz")], "channels"),
    "verilog conv": (lambda t: ["verilog", "--config", "mnist-conv", "--out", str(t / "v")], "channels"),
    "gdu with vf": (lambda t: ["gdu", "--config", _toml(t, 'feedback = "separate"\n'), "--out", str(t / "g")],
                    "feedback"),
    "conv input shape": (lambda t: ["train", "--config", _toml(t, 'preset = "mnist-conv"\ninput_shape = [1, 8, 8]\n')],
                         "input_shape"),
    "fixed acc width": (lambda t: ["trace", "--config", _toml(t, "[fixed]\nacc_bits = 20\n"), "--out",
                                   str(t / "t.npz")], "fixed.acc_bits"),
    "fixed lr too small": (lambda t: ["trace", "--config", _toml(t, "lrs = [1e-9, 0.05]\n"), "--out",
                                      str(t / "t.npz")], "lrs[0]"),
    "unwritable out": (lambda t: (t / "file").write_text("x") and ["train", "--limit", "32", "--epochs", "1",
                                                                  "--out", str(t / "file" / "run")], "file"),
    "trace into missing dir": (lambda t: ["trace", "--samples", "16", "--out", str(t / "no" / "t.npz")], "t.npz"),
    "trace samples": (lambda t: ["trace", "--samples", "20", "--out", str(t / "t.npz")], "--samples"),
    "device with fixed": (lambda t: ["train", "--backend", "fixed", "--device", "cpu"], "--device"),
    "cuda without gpu": (lambda t: ["train", "--device", "cuda", "--out", str(t / "o")], "cuda"),
    "check without rtl": (lambda t: ["train", "--check", "--out", str(t / "o")], "--check"),
    # data and weights files
    "unknown data": (lambda t: ["train", "--data", "cifar10"], "cifar10"),
    "missing mnist dir": (lambda t: ["train", "--data", f"mnist:{t / 'nowhere'}"], "nowhere"),
    "truncated idx": (lambda t: ["train", "--data", _mnist(t, _truncate)], "train-images-idx3-ubyte"),
    "bad idx magic": (lambda t: ["train", "--data", _mnist(t, _bad_magic)], "magic"),
    "label count": (lambda t: ["train", "--data", _mnist(t, _label_count)], "labels"),
    "label range": (lambda t: ["train", "--data", _mnist(t, _bad_label)], "42"),
    "not gzip": (lambda t: ["train", "--data", _mnist(t, _not_gzip)], "t10k-labels-idx1-ubyte.gz"),
    "inputs mismatch": (lambda t: ["train", "--config", "mnist", "--out", str(t / "o")], "sizes[0]"),
    "init is a folder": (lambda t: ["train", "--init", str(t)], "not a file"),
    "missing init": (lambda t: ["train", "--init", str(t / "none.npz")], "none.npz"),
    "init is npy": (lambda t: np.save(t / "w.npy", np.zeros(3)) or ["train", "--init", str(t / "w.npy")], "w.npy"),
    "init is text": (lambda t: (t / "w.txt").write_text("hello") and ["train", "--init", str(t / "w.txt")],
                     "not an .npz"),
    "init shape": (lambda t: ["train", "--init", _weights(t, W1=np.zeros((3, 3)), b1=np.zeros(256),
                                                          W2=np.zeros((10, 256)), b2=np.zeros(10))], "W1"),
    "init missing array": (lambda t: ["train", "--init", _weights(t, W1=np.zeros((256, 64)))], "b1"),
    "board port missing": (lambda t: ["train", "--backend", "board", "--port", "/dev/epfpga-none"],
                           "cannot open serial port /dev/epfpga-none"),
    "board no port": (lambda t: ["train", "--backend", "board"], "--port PORT"),
    "board sim and port": (lambda t: ["train", "--backend", "board", "--sim", "verilator", "--port", "/dev/ttyUSB9"],
                           "--sim verilator and --port /dev/ttyUSB9"),
    "board sim amaranth": (lambda t: ["train", "--backend", "board", "--sim", "amaranth"], "verilator only"),
    "port without board": (lambda t: ["train", "--port", "/dev/ttyUSB1"], "--port /dev/ttyUSB1"),
    "board no answer": (lambda t: ["train", "--backend", "board", "--timeout", "0.3", "--port", _silent_port()],
                        "no answer from /dev/pts/"),
    "board info no port": (lambda t: ["board", "info"], "--port PORT"),
    "board info sim and port": (lambda t: ["board", "info", "--sim", "verilator", "--port", "/dev/ttyUSB9"],
                                "--sim verilator and --port /dev/ttyUSB9"),
    "board timeout": (lambda t: ["train", "--backend", "board", "--timeout", "0", "--port", "/dev/ttyUSB9"],
                      "--timeout"),
    "usb latency of a board": (lambda t: ["train", "--backend", "board", "--usb-latency-ms", "1", "--port",
                                          "/dev/ttyUSB9"], "latency_timer"),
    "upload without sdram": (lambda t: ["board", "upload", "--config", "digits", "--sim", "verilator"],
                             "its build has no SDRAM (set [hardware] sdram = true"),
    "upload to the icebreaker": (lambda t: ["board", "upload", "--sim", "verilator", "--config", _toml(
        t, 'preset = "digits"\n[hardware]\nboard = "icebreaker"\nsdram = true\n')],
        "the icebreaker has no SDRAM"),
    "upload data mismatch": (lambda t: ["board", "upload", "--sim", "verilator", "--data", _mnist(t, lambda f: None),
                                        "--config", _toml(t, 'preset = "digits"\n[hardware]\nsdram = true\n')],
                             "sizes[0]"),
    "upload no port": (lambda t: ["board", "upload", "--config", _toml(t, 'preset = "digits"\n[hardware]\nsdram = true\n')],
                       "--port PORT"),
    "usb latency without board": (lambda t: ["train", "--usb-latency-ms", "1"], "--usb-latency-ms 1"),
    "resident on the icebreaker": (lambda t: ["train", "--backend", "board", "--resident", "--sim", "verilator",
                                              "--config", _toml(t, 'preset = "digits"\n[hardware]\nboard = "icebreaker"\n')],
                                   "the icebreaker has no SDRAM: train it streamed, without --resident"),
    "resident without sdram": (lambda t: ["train", "--backend", "board", "--resident", "--sim", "verilator",
                                          "--config", "digits"], "its build has no SDRAM (set [hardware] sdram = true)"),
    "sdram without coded inputs": (lambda t: ["train", "--config", _toml(
        t, 'preset = "digits"\n[hardware]\nsdram = true\ncoded_inputs = false\n')],
        "it needs hardware.coded_inputs = true"),
    "resident off the board": (lambda t: ["train", "--backend", "fixed", "--resident"], "it needs --backend board"),
    "check every without resident": (lambda t: ["train", "--backend", "board", "--check", "--check-every", "4",
                                                "--sim", "verilator"], "--check-every 4"),
    "usb latency out of range": (lambda t: ["train", "--backend", "board", "--sim", "verilator",
                                            "--usb-latency-ms", "300"], "0 to 255 ms"),
    "placer seed out of range": (lambda t: ["build", "--board", "ulx3s-85f", "--seed", str(1 << 31), "--out",
                                            str(t / "o")], "--seed: 2147483648 must be in [0, 2**31)"),
}


def run_cli(argv: list[str], capfd) -> tuple[int, str, str]:
    """``epfpga argv`` in this process (a fresh interpreter per case costs the suite minutes of
    imports): the exit status, and what reached the file descriptors 1 and 2.  A warning a user
    would see (any but a deprecation) fails the case, as would its line on stderr."""
    import torch

    from epfpga import cli

    threads = torch.get_num_threads()   # (the commands set it: the worker's runs keep theirs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = cli.main(argv)
        except SystemExit as exc:   # argparse
            code = exc.code
        finally:
            torch.set_num_threads(threads)
    shown = [w for w in caught if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert not shown, [str(w.message) for w in shown]
    out, err = capfd.readouterr()
    return code, out, err


def assert_one_line(code: int, out: str, err: str, needle: str) -> None:
    """Exit 2, nothing on stdout, and one line on stderr, epfpga's, naming the problem."""
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("epfpga")
    assert needle in lines[0], lines[0]
    assert out == ""


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_line(case, tmp_path, capfd, monkeypatch):
    make_args, needle = CASES[case]
    monkeypatch.chdir(tmp_path)
    assert_one_line(*run_cli(make_args(tmp_path), capfd), needle)


# the entry point itself, a fresh interpreter: an argument, a config and a file case
@pytest.mark.parametrize("case", ["unknown option", "unknown key", "missing init"])
def test_bad_input_exits_2_with_one_line_from_the_command(case, tmp_path):
    make_args, needle = CASES[case]
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", *make_args(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert_one_line(proc.returncode, proc.stdout, proc.stderr, needle)
