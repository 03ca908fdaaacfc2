"""Command line shared by the scripts that train on a config and a data set."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn
from pathlib import Path

from epfpga import config as config_mod
from epfpga import data as data_mod
from epfpga.cli import positive
from epfpga.errors import UserError


def parse(description: str) -> tuple[config_mod.Config, data_mod.Dataset, Path]:
    """``--config``, ``--data``, ``--epochs``, ``--limit`` and ``--out``, loaded; bad input exits 2
    with one line."""
    parser = argparse.ArgumentParser(description=description)
    parser.error = fail   # one line, no usage dump
    parser.add_argument("--config", default="digits", help="preset or TOML file")
    parser.add_argument("--data", default="digits", help="'digits' or 'mnist:DIR'")
    parser.add_argument("--epochs", type=positive, help="override the config's epochs")
    parser.add_argument("--limit", type=positive, metavar="N", help="train on the first N training samples")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args()
    try:
        cfg = config_mod.load(args.config)
        if args.epochs:
            cfg = cfg.replace(epochs=args.epochs)
        return cfg, data_mod.load(args.data).limited(args.limit), Path(args.out)
    except UserError as exc:
        fail(str(exc))


def fail(message: str) -> NoReturn:
    """Exit 2 with one line on stderr naming the script and the problem."""
    print(f"{Path(sys.argv[0]).name}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(description: str, body: Callable[[config_mod.Config, data_mod.Dataset, Path], str]) -> int:
    """Parse the command line, run ``body`` and print what it returns; a :class:`UserError`
    (a config without a fixed-point form, …) exits 2 with one line."""
    cfg, dataset, out = parse(description)
    try:
        print(body(cfg, dataset, out))
    except UserError as exc:
        fail(str(exc))
    return 0
