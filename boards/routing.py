"""The router, watched: its progress read from nextpnr's log as a curve, and a limit on how long
it may route (``epfpga build --route-minutes N``).

nextpnr's router1 logs, every 1,000 arcs it routes, the arcs it ripped up and the arcs still to
route; router2 logs, every iteration, the wires it overuses.  Either is the congestion curve
that ``report.json`` keeps (``router``): a design that does not converge shows it there,
rather than as a router that never returns.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from epfpga.errors import UserError

LOG = "top.tim"     # nextpnr's log in the build folder (amaranth's script: --log top.tim)
OUTPUT = "build.log"   # what the script prints
STARTED, DONE = "Info: Routing..", "Info: Routing complete."
# router1:  "Info:       1000 |      145        854 |  145   854 |     41250|       1.06       1.06|"
_ROUTER1 = re.compile(r"^Info:\s+(\d+) \|\s+(\d+)\s+(\d+) \|\s+\d+\s+\d+ \|\s+(\d+)\|\s+[\d.]+\s+([\d.]+)\|")
# router2:  "Info:      iter=3 wires=12345 overused=678 overuse=901 archfail=NA"
_ROUTER2 = re.compile(r"^Info:\s+iter=(\d+)\s+wires=(\d+)\s+overused=(\d+)\s+overuse=(\d+)")
POLL_SECONDS = 0.2


class RouteTimeout(Exception):
    """The router was still routing when its time was up (the CLI exits 1)."""


def curve(log: str) -> dict:
    """The router's progress in nextpnr's ``log``: which router, each logged step, and whether
    it completed."""
    router1, router2 = [], []
    for line in log.splitlines():
        if m := _ROUTER1.match(line):
            arcs, ripped, _, left, seconds = (int(g) if k < 4 else float(g) for k, g in enumerate(m.groups()))
            router1.append({"arcs": arcs, "ripped_up": ripped, "remaining": left, "seconds": seconds})
        elif m := _ROUTER2.match(line):
            iteration, wires, overused, overuse = map(int, m.groups())
            router2.append({"iteration": iteration, "wires": wires, "overused": overused, "overuse": overuse})
    router = "router2" if router2 else "router1"
    return {"router": router, "steps": router2 or router1, "complete": DONE in log}


def run(folder: Path, script: str, route_minutes: float | None, log=print) -> None:
    """Run the build ``script`` in ``folder``; with ``route_minutes``, stop it (and raise
    :class:`RouteTimeout`) once nextpnr has been routing that long."""
    with open(folder / OUTPUT, "wb") as output:   # (a file: a pipe nobody reads would fill)
        process = subprocess.Popen(["sh", f"{script}.sh"], cwd=folder, start_new_session=True,
                                   stdout=output, stderr=subprocess.STDOUT)
    routing_since = None
    try:
        while process.poll() is None:
            time.sleep(POLL_SECONDS)
            if route_minutes is None:
                continue
            text = read(folder / LOG)
            if routing_since is None and STARTED in text:
                routing_since = time.monotonic()
                log(f"routing (stopped after {route_minutes:g} min)")
            if routing_since is not None and DONE not in text and \
                    time.monotonic() - routing_since > 60 * route_minutes:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait()
                raise RouteTimeout(f"still routing after {route_minutes:g} min")
    except BaseException:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        raise
    if process.returncode:
        tail = "; ".join(read(folder / OUTPUT).strip().splitlines()[-3:])
        raise UserError(f"the build script failed (exit {process.returncode}): {tail}; see {folder}")


def read(path: Path) -> str:
    """A log as far as it is written (empty before it is begun)."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
