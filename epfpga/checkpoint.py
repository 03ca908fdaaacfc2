"""Checkpoints of a training run: ``DIR/checkpoint.npz``, written by ``train --checkpoint-every N``
and read by ``train --resume DIR``.

A checkpoint holds the trainer's whole state (the integer weights and every PRNG stream:
``FixedTrainer.state`` / ``HostTrainer.state``), the data order (the generator's state at the
start of the epoch and the mini-batches of it already done), the counts of the epoch so far
and the metrics of the finished epochs.  A resumed run continues exactly where it stopped:
its weights, PRNG states and metrics are those of the uninterrupted run (``docs/results.md``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .config import Config
from .errors import DataError, UserError
from .npz import read_npz, write_npz

FILE = "checkpoint.npz"
# keys a resumed run may change: how long it runs, and where it writes
FREE_KEYS = ("epochs",)


@dataclass
class Position:
    """Where a run is: in ``epoch`` (1-based), ``batch`` mini-batches done, from the data-order
    generator's ``rng_state`` at the start of that epoch."""

    epoch: int
    batch: int
    rng_state: dict
    wrong: int
    seen: int
    seconds: float
    metrics: dict


def save(out: Path, state: dict[str, np.ndarray], position: Position) -> Path:
    path = out / FILE
    meta = json.dumps(asdict(position), sort_keys=True).encode()
    tmp = out / (FILE + ".tmp")   # a run killed while writing keeps the previous checkpoint
    write_npz(tmp, {**state, "position": np.frombuffer(meta, dtype=np.uint8)})
    tmp.replace(path)
    return path


def load(folder: Path, config: Config) -> tuple[dict[str, np.ndarray], Position]:
    """The checkpoint in ``folder``; refused when it was written by a run of another config."""
    path = Path(folder) / FILE
    arrays = read_npz(path, "checkpoint")
    try:
        meta = json.loads(arrays.pop("position").tobytes().decode())
        position = Position(**meta)
    except (KeyError, ValueError, TypeError) as exc:
        raise DataError(f"checkpoint {path}: no readable position ({exc})") from None
    saved = position.metrics.get("config", {})
    mine = config.to_dict()
    for key in sorted(set(saved) | set(mine)):
        if key not in FREE_KEYS and saved.get(key) != mine.get(key):
            raise UserError(f"checkpoint {path} was written with config key '{key}' = {saved.get(key)!r}, "
                            f"this run has {mine.get(key)!r}")
    return arrays, position
