"""Training traces: every state of every step, every prediction, every weight update.

The schema is ``docs/trace-format.md``; the fixed-point golden model writes it now and the RTL
simulation will write the same, so that :func:`compare` can hold one against the other bit for
bit.  Files are written deterministically (fixed zip timestamps), so the same run gives the
same bytes.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from epfpga.golden.phases import PHASES as ESTIMATOR_PHASES
from epfpga.golden.phases import RELAXATIONS

from .config import Config, dumps
from .errors import DataError
from .npz import read_npz, write_npz

SCHEMA = "epfpga-trace/1"
# Chronological order of the parts of one mini-batch.
PHASES = ("input", "free", "predict", "sign", "plus", "minus", "update")


IntState = list  # one int64 tensor [batch, n_n] per neuron layer


@dataclass(frozen=True)
class BatchRecord:
    """Everything one mini-batch leaves in a trace, as every integer backend reports it.

    ``free``, ``plus`` and ``minus`` hold the state after each step of the phase (``minus`` is
    ``None`` unless the estimator runs a ``−β`` phase); ``params`` the weights after the update.
    """

    x: object
    y: object
    free: list[IntState]
    plus: list[IntState]
    minus: list[IntState] | None
    pred: object
    sign: int
    params: dict[str, object]


class TraceWriter:
    """Collects a trainer's per-batch records (pass it as ``on_batch``) and saves them.

    Parameters
    ----------
    config : Config
        The run's configuration, stored in the trace.
    backend : str
        ``fixed`` or ``rtl``; informative only (:func:`compare` ignores it).
    initial : dict
        The integer weights before the first update.
    """

    def __init__(self, config: Config, backend: str, initial: dict[str, object]):
        self.config, self.backend = config, backend
        self.initial = {k: np.asarray(v) for k, v in initial.items()}
        self.records: list[BatchRecord] = []

    def __call__(self, record: BatchRecord) -> None:
        self.records.append(record)

    def arrays(self) -> dict[str, np.ndarray]:
        recs = self.records
        layers = len(self.config.neuron_sizes)
        out: dict[str, np.ndarray] = {
            "x": np.stack([np.asarray(r.x) for r in recs]),
            "y": np.stack([np.asarray(r.y) for r in recs]),
            "pred": np.stack([np.asarray(r.pred) for r in recs]),
            "sign": np.array([r.sign for r in recs]),
        }
        for phase in (r.name for r in RELAXATIONS):
            if getattr(recs[0], phase) is None:
                continue
            for n in range(layers):
                out[f"{phase}_L{n + 1}"] = np.stack([np.stack([np.asarray(s[n]) for s in getattr(r, phase)])
                                                     for r in recs])
        for name in recs[0].params:
            out[f"init_{name}"] = self.initial[name]
            out[name] = np.stack([np.asarray(r.params[name]) for r in recs])
        out = {k: v.astype(np.int64) for k, v in out.items()}
        meta = {"schema": SCHEMA, "backend": self.backend, "config": dumps(self.config),
                "batches": len(recs), "batch": self.config.batch}
        out["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
        return out

    def save(self, path: Path) -> None:
        if not self.records:
            raise DataError("no mini-batch was traced")
        write_npz(path, self.arrays())


@dataclass(frozen=True)
class Trace:
    path: str
    meta: dict
    arrays: dict[str, np.ndarray]

    @property
    def config(self) -> dict:
        return tomllib.loads(self.meta["config"])


def load(path: str | Path) -> Trace:
    """Read and check a trace; any problem is a :class:`DataError` naming the file."""
    arrays = read_npz(path, "trace")
    if "meta" not in arrays:
        raise DataError(f"trace {path}: no 'meta' array (not an epfpga trace)")
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        config = tomllib.loads(meta["config"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"trace {path}: corrupt 'meta' ({exc})") from None
    if meta.get("schema") != SCHEMA:
        raise DataError(f"trace {path}: schema {meta.get('schema')!r}, expected {SCHEMA!r}")
    trace = Trace(str(path), meta, arrays)
    _check_shapes(trace, config)
    return trace


def _expected_shapes(config: dict, batches: int) -> dict[str, tuple[int, ...]]:
    sizes, batch = config["sizes"], config["batch"]
    shapes = {"x": (batches, batch, sizes[0]), "y": (batches, batch), "pred": (batches, batch),
              "sign": (batches,)}
    phases = [(r.name, config[r.steps_key]) for r in ESTIMATOR_PHASES[config["estimator"]].relaxations]
    for phase, steps in phases:
        for n in range(1, len(sizes)):
            shapes[f"{phase}_L{n}"] = (batches, steps, batch, sizes[n])
    for n in range(1, len(sizes)):
        for name, shape in ((f"W{n}", (sizes[n], sizes[n - 1])), (f"b{n}", (sizes[n],))):
            shapes[f"init_{name}"] = shape
            shapes[name] = (batches, *shape)
    return shapes


def _check_shapes(trace: Trace, config: dict) -> None:
    try:
        expected = _expected_shapes(config, int(trace.meta["batches"]))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DataError(f"trace {trace.path}: corrupt 'meta' ({exc})") from None
    missing = sorted(set(expected) - set(trace.arrays))
    extra = sorted(set(trace.arrays) - set(expected))
    if missing or extra:
        raise DataError(f"trace {trace.path}: arrays missing {missing or '-'}, unexpected {extra or '-'}")
    for name, shape in expected.items():
        a = trace.arrays[name]
        if a.shape != shape or a.dtype != np.int64:
            raise DataError(f"trace {trace.path}: array {name} is {a.dtype}{list(a.shape)}, "
                            f"expected int64{list(shape)}")


@dataclass(frozen=True)
class Mismatch:
    sample: str
    phase: str
    step: int
    layer: str
    unit: str
    expected: int
    got: int

    def __str__(self) -> str:
        return (f"sample {self.sample}, phase {self.phase}, step {self.step}, layer {self.layer}, "
                f"unit {self.unit}: expected {self.expected}, got {self.got}")


@dataclass(frozen=True)
class Comparison:
    values: int
    mismatches: int
    first: Mismatch | None


def _locate(name: str, index: tuple[int, ...], batch: int) -> tuple[tuple, dict]:
    """Chronological sort key and report fields of one element of array ``name``.

    Keys order by mini-batch, then :data:`PHASES`, step, layer, sample, unit; within an update,
    ``W_n`` comes before ``b_n`` as the update pipeline writes them."""
    k = index[0]
    samples = f"{k * batch}-{k * batch + batch - 1}"
    if name.startswith(("free_", "plus_", "minus_")):
        phase, layer = name.split("_L")
        _, t, b, unit = index
        return ((k, PHASES.index(phase), t + 1, int(layer), b, (unit,)),
                dict(sample=str(k * batch + b), phase=phase, step=t + 1, layer=layer, unit=str(unit)))
    if name in ("x", "y", "pred"):
        b = index[1]
        unit = index[2:] if name == "x" else (-1,)
        phase = "predict" if name == "pred" else "input"
        return ((k, PHASES.index(phase), 0, 0, b, unit),
                dict(sample=str(k * batch + b), phase=phase, step=0, layer="0" if name == "x" else "-",
                     unit=str(unit[0]) if name == "x" else "label" if name == "y" else "-"))
    if name == "sign":
        return ((k, PHASES.index("sign"), 0, 0, 0, ()), dict(sample=samples, phase="sign", step=0, layer="-", unit="-"))
    order = 0 if name.startswith("W") else 1
    return ((k, PHASES.index("update"), 0, int(name[1:]), 0, (order, *index[1:])),
            dict(sample=samples, phase="update", step=0, layer=name, unit=",".join(map(str, index[1:]))))


def compare(a: Trace, b: Trace) -> Comparison:
    """Element-wise comparison of two traces of the same run (``a`` is the expectation)."""
    cfg_a, cfg_b = a.config, b.config
    for key in sorted(set(cfg_a) | set(cfg_b)):
        if cfg_a.get(key) != cfg_b.get(key):
            raise DataError(f"traces {a.path} and {b.path} are of different runs: config key "
                            f"'{key}' is {cfg_a.get(key)!r} vs {cfg_b.get(key)!r}")
    if a.meta["batches"] != b.meta["batches"]:
        raise DataError(f"traces {a.path} and {b.path} hold {a.meta['batches']} and "
                        f"{b.meta['batches']} mini-batches")
    for name in sorted(a.arrays):
        if name.startswith("init_") and not np.array_equal(a.arrays[name], b.arrays[name]):
            raise DataError(f"traces {a.path} and {b.path} start from different weights ({name[5:]})")
    batch = int(cfg_a["batch"])
    count = values = 0
    first: tuple | None = None
    for name in sorted(a.arrays):
        if name.startswith("init_"):
            continue
        x, y = a.arrays[name], b.arrays[name]
        values += x.size
        diff = x != y
        n = int(diff.sum())
        if not n:
            continue
        count += n
        index = np.unravel_index(int(np.argmax(diff)), diff.shape)
        key, fields = _locate(name, tuple(int(i) for i in index), batch)
        if first is None or key < first[0]:
            first = (key, Mismatch(expected=int(x[index]), got=int(y[index]), **fields))
    return Comparison(values, count, None if first is None else first[1])
