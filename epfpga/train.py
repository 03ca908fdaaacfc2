"""The training loop shared by every backend, and the files it writes.

Each epoch visits the training set in the order of ``numpy.random.default_rng(seed)``
permutations (one per epoch, drawn in sequence), in mini-batches of ``config.batch``; the
last incomplete mini-batch of an epoch is dropped, so every backend sees the same batches.
After each epoch the test set is evaluated (free phase only) and ``metrics.json`` is
rewritten, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from tqdm import tqdm

from . import checkpoint
from .config import Config
from .data import Dataset
from .errors import UserError
from .npz import write_npz


class Backend(Protocol):
    backend: str

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray: ...

    def predict(self, x: np.ndarray) -> np.ndarray: ...

    def weights(self) -> dict[str, np.ndarray]: ...


@dataclass
class EpochResult:
    epoch: int
    train_error: float
    test_error: float
    seconds: float
    samples_per_s: float


def batches(n: int, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [order[i:i + batch] for i in range(0, n - batch + 1, batch)]


EVAL_CHUNK = 1000


def error_rate(backend: Backend, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of wrong free-phase predictions, evaluated ``EVAL_CHUNK`` samples at a time."""
    wrong = sum(int(np.sum(backend.predict(x[i:i + EVAL_CHUNK]) != y[i:i + EVAL_CHUNK]))
                for i in range(0, len(y), EVAL_CHUNK))
    return wrong / len(y)


def run(config: Config, data: Dataset, backend: Backend, out: Path, *, progress: bool | None = None,
        checkpoint_every: int | None = None, resume: Path | None = None) -> dict:
    """Train for ``config.epochs`` epochs, writing ``metrics.json``, ``weights.npz`` and
    ``curves.png`` to ``out``.  ``progress=None`` shows a bar only on a terminal.

    ``checkpoint_every`` (mini-batches) also writes ``out/checkpoint.npz`` that often and
    after every epoch; ``resume`` continues from the checkpoint in that folder.
    """
    data.check_fits(config)
    n_batches = len(data.train_y) // config.batch
    if n_batches == 0:
        raise UserError(f"{len(data.train_y)} training samples do not fill one mini-batch "
                        f"of {config.batch}")
    if checkpoint_every is not None and not hasattr(backend, "state"):
        raise UserError(f"--checkpoint-every: the {backend.backend} backend has no checkpoints "
                        f"(fixed, rtl and board have)")
    rng = np.random.default_rng(config.seed)
    double_buffered = getattr(backend, "double_buffered", False)
    metrics: dict = {"backend": backend.backend, "config": config.to_dict(), "data": data.name,
                     "train_samples": n_batches * config.batch, "test_samples": len(data.test_y),
                     "threads": torch.get_num_threads(), "device": getattr(backend, "device", "cpu"),
                     "epochs": [], "test_error": None}
    first_epoch, skip, wrong, seen, seconds = 1, 0, 0, 0, 0.0
    if resume is not None:
        state, position = checkpoint.load(resume, config)
        if not hasattr(backend, "restore"):
            raise UserError(f"--resume: the {backend.backend} backend has no checkpoints (fixed, rtl and board have)")
        backend.restore(state)
        rng.bit_generator.state = position.rng_state
        metrics = {**position.metrics, "config": config.to_dict()}
        first_epoch, skip = position.epoch, position.batch
        wrong, seen, seconds = position.wrong, position.seen, position.seconds
        if hasattr(backend, "mismatches"):
            backend.mismatches = metrics.get("mismatches", 0)
    out.mkdir(parents=True, exist_ok=True)
    done = 0   # mini-batches of this process, for the checkpoint period

    def save_checkpoint(epoch: int, batch: int, rng_state: dict, elapsed: float, wrong: int, seen: int) -> None:
        if hasattr(backend, "mismatches"):
            metrics["mismatches"] = backend.mismatches
        checkpoint.save(out, backend.state(), checkpoint.Position(epoch, batch, rng_state, wrong, seen, elapsed,
                                                                  metrics))

    for epoch in range(first_epoch, config.epochs + 1):
        rng_state = rng.bit_generator.state
        order = batches(len(data.train_y), config.batch, rng)
        todo = list(enumerate(order))[skip:]
        skip = 0
        bar = tqdm(total=len(todo), desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                   disable=None if progress is None else not progress, leave=False, file=sys.stderr)
        start = time.perf_counter()
        if getattr(backend, "resident", False):   # the device runs the epoch from its own memory, pausing for the checkpoints
            first = todo[0][0] if todo else 0

            def paused(k: int, errors: int, first=first, rng_state=rng_state, start=start) -> None:
                save_checkpoint(epoch, first + k, rng_state, seconds + time.perf_counter() - start,
                                wrong + errors, seen + k * config.batch)

            wrong += backend.train_epoch([idx for _, idx in todo], bar, checkpoint_every, paused)
            seen += len(todo) * config.batch
        else:
            for k, idx in todo:
                if double_buffered:   # the next mini-batch goes to the device while it trains on this one
                    upcoming = order[k + 1] if k + 1 < len(order) else None
                    pred = backend.train_batch(data.train_x[idx], data.train_y[idx],
                                               None if upcoming is None else (data.train_x[upcoming], data.train_y[upcoming]))
                else:
                    pred = backend.train_batch(data.train_x[idx], data.train_y[idx])
                wrong += int(np.sum(pred != data.train_y[idx]))
                seen += len(idx)
                done += 1
                bar.update(1)
                bar.set_postfix(train_error=f"{wrong / seen:.3f}", refresh=False)
                if checkpoint_every is not None and done % checkpoint_every == 0 and k + 1 < len(order):
                    save_checkpoint(epoch, k + 1, rng_state, seconds + time.perf_counter() - start, wrong, seen)
        bar.close()
        seconds += time.perf_counter() - start
        if hasattr(backend, "end_epoch"):
            backend.end_epoch()
        result = EpochResult(epoch, wrong / seen, error_rate(backend, data.test_x, data.test_y),
                             seconds, seen / seconds)
        angles = backend.angles() if hasattr(backend, "angles") else {}
        metrics["epochs"].append({**result.__dict__, **({"angles": angles} if angles else {})})
        metrics["test_error"] = result.test_error
        if hasattr(backend, "mismatches"):  # train --check
            metrics["mismatches"] = backend.mismatches
        if hasattr(backend, "link_report"):  # --backend board
            metrics["link"] = backend.link_report()
        print(f"epoch {epoch}/{config.epochs}: train error {100 * result.train_error:.2f} %, "
              f"test error {100 * result.test_error:.2f} %, {result.samples_per_s:,.0f} samples/s",
              file=sys.stderr)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        write_npz(out / "weights.npz", backend.weights())
        wrong, seen, seconds = 0, 0, 0.0
        if checkpoint_every is not None:
            save_checkpoint(epoch + 1, 0, rng.bit_generator.state, 0.0, 0, 0)
    plot_curves(metrics, out / "curves.png")
    return metrics


def plot_curves(metrics: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [e["epoch"] for e in metrics["epochs"]]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key, label in (("train_error", "train"), ("test_error", "test")):
        ax.plot(epochs, [100 * e[key] for e in metrics["epochs"]], marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%)")
    ax.set_title(f"{metrics['config']['name']} ({metrics['backend']} backend)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
