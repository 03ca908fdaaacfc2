"""The router, watched: its curve read from nextpnr's log (router1's and router2's lines as
nextpnr writes them), and a build script stopped once it has routed too long, or failing."""

from __future__ import annotations

import time

import pytest

from epfpga.boards import routing
from epfpga.errors import UserError

ROUTER1 = """Info: Routing..
Info: Setting up routing queue.
Info: Routing 42076 arcs.
Info:            |   (re-)routed arcs  |   delta    | remaining|       time spent     |
Info:    IterCnt |  w/ripup   wo/ripup |  w/r  wo/r |      arcs| batch(sec) total(sec)|
Info:       1000 |      145        854 |  145   854 |     41250|       1.06       1.06|
Info:       2000 |      239       1760 |   94   906 |     40392|       0.37       1.43|
Info:      54647 |     9665      43639 |  163   460 |         0|       5.30      40.07|
Info: Routing complete.
"""
ROUTER2 = """Info: Routing..
Info: Running main router loop...
Info:     iter=1 wires=190234 overused=21034 overuse=25470 archfail=NA
Info:     iter=2 wires=188100 overused=14077 overuse=16020 archfail=NA
Info:     iter=3 wires=187003 overused=9623 overuse=10411 archfail=NA
"""


def test_router1s_curve_is_its_remaining_arcs():
    got = routing.curve(ROUTER1)
    assert got["router"] == "router1" and got["complete"]
    assert got["steps"] == [{"arcs": 1000, "ripped_up": 145, "remaining": 41250, "seconds": 1.06},
                            {"arcs": 2000, "ripped_up": 239, "remaining": 40392, "seconds": 1.43},
                            {"arcs": 54647, "ripped_up": 9665, "remaining": 0, "seconds": 40.07}]


def test_router2s_curve_is_its_overuse_by_iteration():
    got = routing.curve(ROUTER2)
    assert got["router"] == "router2" and not got["complete"]
    assert [(s["iteration"], s["overused"], s["overuse"]) for s in got["steps"]] == \
        [(1, 21034, 25470), (2, 14077, 16020), (3, 9623, 10411)]


def script(tmp_path, body: str) -> None:
    (tmp_path / "build_top.sh").write_text(f"set -e\n{body}\n")


def test_a_script_still_routing_is_stopped(tmp_path):
    script(tmp_path, f"printf '{routing.STARTED}\\n' > {routing.LOG}\nsleep 30\necho done > finished")
    start = time.monotonic()
    with pytest.raises(routing.RouteTimeout, match="still routing after 0.005 min"):
        routing.run(tmp_path, "build_top", 0.005, log=lambda message: None)
    assert time.monotonic() - start < 5 and not (tmp_path / "finished").exists()


def test_a_script_that_routes_in_time_runs_to_its_end(tmp_path):
    """The limit is on routing: packing after it may take longer."""
    script(tmp_path, f"printf '{routing.STARTED}\\n' > {routing.LOG}\nsleep 0.3\n"
                     f"printf '{routing.DONE}\\n' >> {routing.LOG}\nsleep 2\necho done > finished")
    routing.run(tmp_path, "build_top", 0.02, log=lambda message: None)
    assert (tmp_path / "finished").read_text() == "done\n"


def test_a_failing_script_names_its_last_lines(tmp_path):
    script(tmp_path, "echo 'ERROR: Max frequency not met' >&2\nexit 3")
    with pytest.raises(UserError, match="the build script failed [(]exit 3[)]: ERROR: Max frequency not met"):
        routing.run(tmp_path, "build_top", None, log=lambda message: None)
