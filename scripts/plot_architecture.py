"""Draw the core's block diagram (docs/architecture.png).

    .venv/bin/python scripts/plot_architecture.py [--out docs/architecture.png]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

BOXES = {
    # name: (x, y, w, h, label, colour)
    "host": (0.2, 6.6, 2.6, 1.0, "host port\nplain bus: addr, wdata,\nwe, re → rdata (1 cycle)", "#dddddd"),
    "seq": (3.5, 6.6, 3.0, 1.0, "sequencer\nprogram memory (32 × 32 bit)\nsample loop, sign stream", "#f6d8a8"),
    "ctr": (7.2, 6.6, 2.6, 1.0, "cycle counters\ntotal, drive, relax, update", "#dddddd"),
    "x": (0.2, 4.6, 2.0, 1.1, "inputs x, labels y\nB samples", "#cfe2f3"),
    "w": (2.6, 4.6, 2.4, 1.1, "weights W_n, biases b_n\nP lanes a word,\nrows padded", "#cfe2f3"),
    "s": (5.4, 4.6, 2.2, 1.1, "states, per layer\nping, pong, s*,\nB × a, B × b", "#cfe2f3"),
    "pred": (8.0, 4.6, 1.8, 1.1, "predictions\nB", "#cfe2f3"),
    "nu": (0.2, 1.8, 4.8, 2.2,
           "neuron update (P lanes)\n1 weight read → 2 multiplies:\nw·q_pre → adder tree → row sum (+bias, nudge)\n"
           "w·q_post → feedback RMW (acc memory)\n→ activation (shift/clamp or ROM) → next state\n"
           "input drive D_1 once per sample", "#d9ead3"),
    "wu": (5.4, 1.8, 4.4, 2.2,
           "weight update (P lanes)\nbatch sum D from saved states, exact\n(W_1: 2 samples a cycle via diff memory)\n"
           "× lr_q, sign → round (nearest or\nxorshift32 stochastic) → saturate → write", "#d9ead3"),
    "arg": (8.0, 0.2, 1.8, 1.0, "prediction\nrunning argmax", "#d9ead3"),
}
ARROWS = [("host", "seq"), ("seq", "ctr"), ("host", "x"), ("host", "w"), ("seq", "nu"), ("seq", "wu"),
          ("x", "nu"), ("w", "nu"), ("s", "nu"), ("nu", "s"), ("x", "wu"), ("s", "wu"), ("wu", "w"),
          ("nu", "arg"), ("arg", "pred"), ("pred", "host")]


def centre(box):
    x, y, w, h = box[:4]
    return x + w / 2, y + h / 2


def edge(box, towards):
    """Where the line from the box's centre to ``towards`` leaves the box."""
    (cx, cy), (tx, ty) = centre(box), towards
    half_w, half_h = box[2] / 2 + 0.06, box[3] / 2 + 0.06
    dx, dy = tx - cx, ty - cy
    scale = min(half_w / abs(dx) if dx else float("inf"), half_h / abs(dy) if dy else float("inf"))
    return cx + dx * scale, cy + dy * scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/architecture.png")
    args = parser.parse_args()
    fig, ax = plt.subplots(figsize=(11, 8))
    for name, (x, y, w, h, label, colour) in BOXES.items():
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=colour, ec="black"))
        ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=8.5)
    for a, b in ARROWS:
        start, end = edge(BOXES[a], centre(BOXES[b])), edge(BOXES[b], centre(BOXES[a]))
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color="#555555",
                                     shrinkA=0, shrinkB=0, connectionstyle="arc3,rad=0.05", zorder=3))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 7.9)
    ax.axis("off")
    ax.set_title("epfpga core: memories (blue), pipelines (green), control (orange)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
