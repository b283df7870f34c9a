"""The ``spo`` command: analyses of finished runs (``spo analyze ...``)."""

from __future__ import annotations

import argparse
import json
import sys

from spo.analysis.runs import expand_runs, load_run


def _analyze_transfer(args) -> str | dict:
    from spo.analysis.transfer import format_transfer, transfer

    result = transfer(args.a, args.b, args.scorer_a, args.scorer_b, plot=args.plot, seed=args.seed)
    return result if args.json else format_transfer(result)


def _analyze_bins(args) -> str | dict:
    from spo.analysis.sweeps import bins_analysis

    result = bins_analysis([load_run(p) for p in expand_runs(args.runs)], plot=args.plot)
    return result["rows"] if args.json else result["table"]


def _analyze_sweep(args) -> str | dict:
    from spo.analysis.sweeps import sweep_analysis

    result = sweep_analysis([load_run(p) for p in expand_runs(args.runs)], out_dir=args.out)
    return {k: v for k, v in result.items() if k != "table"} if args.json else result["table"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    analyze = sub.add_parser("analyze", help="analyses of finished runs").add_subparsers(dest="analysis", required=True)

    t = analyze.add_parser("transfer", help="rank agreement of two difficulty estimates")
    t.add_argument("a", help="prompts.parquet / difficulty.parquet or a run directory")
    t.add_argument("b", help="the same, for the other side")
    t.add_argument("--scorer-a", help="difficulty/<scorer> column of A, when it has several")
    t.add_argument("--scorer-b", help="difficulty/<scorer> column of B, when it has several")
    t.add_argument("--plot", default="transfer.png", help="scatter plot PNG path ('' for none)")
    t.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    t.add_argument("--json", action="store_true", help="print the figures as JSON")
    t.set_defaults(fn=_analyze_transfer)

    b = analyze.add_parser("bins", help="final held-out reward per training-difficulty bin across runs")
    b.add_argument("runs", nargs="+", help="run directories or multirun folders")
    b.add_argument("--plot", default="bins.png", help="bar chart PNG path ('' for none)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(fn=_analyze_bins)

    s = analyze.add_parser("sweep", help="aggregate a fraction-pruned x model-size sweep")
    s.add_argument("runs", nargs="+", help="run directories or multirun folders")
    s.add_argument("--out", default="sweep", help="folder for the PNG plots ('' for none)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_analyze_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.fn(args)
    except (ValueError, KeyError) as exc:
        print(f"spo: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str) if isinstance(result, (dict, list)) else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
