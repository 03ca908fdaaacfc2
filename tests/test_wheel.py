"""The built wheel holds every module of the package's folders (explicit package maps lose
nested folders easily), and the C++ and Verilog files the simulators build from."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"epfpga": "epfpga", "golden": "epfpga/golden", "hdl": "epfpga/hdl", "verification": "epfpga/verification",
           "firmware": "epfpga/firmware", "boards": "epfpga/boards"}


def test_wheel_contains_every_module(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel, = tmp_path.glob("epfpga-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"{target}/{path.relative_to(ROOT / folder).as_posix()}"
                for folder, target in FOLDERS.items() for path in (ROOT / folder).rglob("*.py")}
    # the C++ benches, the chip model and the cell models the simulators compile
    expected |= {f"epfpga/verification/{path.relative_to(ROOT / 'verification').as_posix()}"
                 for pattern in ("*.cpp", "*.h", "models/*.v") for path in (ROOT / "verification").glob(pattern)}
    assert expected, "no modules found"
    missing = sorted(expected - names)
    assert not missing, f"missing from the wheel: {missing}"
