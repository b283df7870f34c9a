"""``spo rm``: training reward models (``train``), and the tiny untrained bases of the toy task's proxies
(``tiny-base``). Heavy imports happen when a command runs."""

from __future__ import annotations

import logging


def _train(args) -> str | dict:
    from spo.reward.rm_data import labelled_answers, pairs_from_answers
    from spo.reward.rm_train import describe, train_reward_model

    logging.getLogger("spo.reward.rm_train").setLevel(logging.INFO)  # one line per epoch
    answers = labelled_answers(args.samples, args.scorer, rule=args.rule, augment=args.augment, seed=args.seed)
    pairs = pairs_from_answers(answers, max_per_prompt=args.max_per_prompt, seed=args.seed)
    result = train_reward_model(pairs, args.base, args.template, args.out, epochs=args.epochs, lr=args.lr,
                                batch_size=args.batch_size, heldout_fraction=args.heldout_fraction,
                                seed=args.seed, force=args.force, max_pairs=args.max_pairs,
                                label_noise=args.label_noise)  # fmt: skip
    if args.json:
        return result
    noise = f", {result['flipped_train_pairs']} of them with swapped labels" if result["flipped_train_pairs"] else ""
    return (f"trained on {result['train_pairs']} pairs{noise} (best epoch {result['best_epoch']} by validation "
            f"accuracy); {describe(result)}; saved {result['output']}")  # fmt: skip


def _tiny_base(args) -> str | dict:
    from spo.assets.tiny import build_tiny_reward_model

    path = build_tiny_reward_model(args.template, args.out, args.hidden, args.layers, 2 * args.hidden)
    shape = f"hidden {args.hidden}, {args.layers} layers"
    return {"output": str(path)} if args.json else f"untrained tiny RM ({shape}): {path}"


def add_rm_commands(sub) -> None:
    rm = sub.add_parser("rm", help="reward models").add_subparsers(dest="rm", required=True)
    rmt = rm.add_parser("train", help="Bradley-Terry RM on pairs from a run's samples, labelled by one scorer")
    rmt.add_argument("samples", help="a samples.parquet (e.g. runs/<name>/iter_0/samples.parquet)")
    rmt.add_argument("--base", required=True, help="HF model directory to start from (e.g. the prepared minilm)")
    rmt.add_argument("--template", required=True, help="model directory whose chat template renders conversations")
    rmt.add_argument("--out", required=True, help="where the trained RM goes")
    rmt.add_argument("--scorer", default="rule", help="the scorer whose stored reward labels the pairs")
    rmt.add_argument("--rule", help="label every answer with this rule instead ('module:function')")
    rmt.add_argument("--augment", help="'module:function' of edits to add, labelled by --rule")
    rmt.add_argument("--max-per-prompt", type=int, default=6, help="pairs per prompt (sampled pairs first)")
    rmt.add_argument("--max-pairs", type=int, help="a proxy's budget: at most this many training comparisons")
    rmt.add_argument("--label-noise", type=float, default=0.0,
                     help="a proxy's label noise: this share of training and validation pairs swapped")  # fmt: skip
    rmt.add_argument("--heldout-fraction", type=float, default=0.3, help="prompts held out for the accuracy")
    rmt.add_argument("--force", action="store_true", help="save even if not better than chance and the start")
    rmt.add_argument("--epochs", type=int, default=3, help="at most; the best epoch by validation is kept")
    rmt.add_argument("--lr", type=float, default=5e-5)
    rmt.add_argument("--batch-size", type=int, default=16)
    rmt.add_argument("--seed", type=int, default=0)
    rmt.add_argument("--json", action="store_true")
    rmt.set_defaults(fn=_train)
    tb = rm.add_parser("tiny-base", help="an untrained tiny Llama sequence classifier on a tiny policy's tokenizer")
    tb.add_argument("out", help="where it goes")
    tb.add_argument("--template", required=True, help="the tiny policy whose tokenizer it uses")
    tb.add_argument("--hidden", type=int, default=64, help="hidden size (a multiple of 64)")
    tb.add_argument("--layers", type=int, default=1)
    tb.add_argument("--json", action="store_true")
    tb.set_defaults(fn=_tiny_base)
