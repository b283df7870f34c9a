"""One learner rank: a DeepSpeed ZeRO engine inside a Ray actor.

All ranks execute the same sequence of collective calls (train, export, save),
each on its own shard of the pairs. The reference log-probs are computed once
per iteration, before the first update.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import socket
from pathlib import Path

import pyarrow as pa
import ray
import torch

from spo.chat import load_tokenizer, row_conversation
from spo.cluster.cpus import claim_cpus
from spo.cluster.placement import Placed
from spo.io import atomic_dir
from spo.learner.config import LearnerConfig
from spo.learner.device import all_reduce
from spo.learner.logprobs import pair_logprobs, response_logprobs
from spo.learner.losses.base import LossInputs, compute_loss
from spo.learner.phases import PhaseClock
from spo.learner.prebuild import clear_stale_build_locks
from spo.learner.sampler_reference import check as check_sampler
from spo.learner.sampler_reference import older, usable
from spo.learner.sampler_reference import take as take_sampler
from spo.schemas import LOGPROB_COLUMNS


def deepspeed_config(cfg: LearnerConfig, world_size: int) -> dict:
    """The DeepSpeed config for a learner config (fp32 on CPU, bf16 on GPU).

    ZeRO shards state across ranks; a single rank has nothing to shard, and stages 1-3 would
    only add flatten/copy work (measured in benchmarks/results), so one rank runs stage 0.
    """
    return {
        "train_micro_batch_size_per_gpu": cfg.micro_batch_size,
        "gradient_accumulation_steps": cfg.grad_accum,
        "gradient_clipping": cfg.max_grad_norm,
        "zero_optimization": {"stage": cfg.zero_stage if world_size > 1 else 0},
        "zero_allow_untested_optimizer": True,
        "bf16": {"enabled": torch.cuda.is_available()},
        "steps_per_print": 2**31 - 1,
    }


def shard(rows: list, seed: int, iteration: int, rank: int, world_size: int) -> list:
    """Rank ``rank``'s share of ``rows`` for training call ``iteration``: a seeded shuffle, then equal slices (a
    remainder of fewer than ``world_size`` rows is left out, so every rank takes the same number of steps)."""
    rows = list(rows)
    random.Random(seed * 1_000_003 + iteration).shuffle(rows)
    per_rank = len(rows) // world_size
    return rows[rank * per_rank : (rank + 1) * per_rank]


class LearnerWorker(Placed):
    """One rank of the learner group."""

    def __init__(self, rank: int, world_size: int, threads: int, cores: tuple[int, ...] = ()):
        claim_cpus("learner", threads, cores)
        self.rank = rank
        self.world_size = world_size

    def address(self) -> tuple[str, int]:
        """This node's IP and a free port, for rank 0 to serve as the rendezvous."""
        with socket.socket() as s:
            s.bind(("", 0))
            port = s.getsockname()[1]
        return ray.util.get_node_ip_address(), port

    def setup(self, master_addr: str, master_port: int, model_path: str, cfg: LearnerConfig, seed: int) -> None:
        """Join the process group and build the DeepSpeed engine."""
        os.environ.update(
            RANK=str(self.rank),
            WORLD_SIZE=str(self.world_size),
            LOCAL_RANK="0",
            MASTER_ADDR=master_addr,
            MASTER_PORT=str(master_port),
        )
        import deepspeed
        from transformers import AutoModelForCausalLM

        from spo.learner.state_writer import BackgroundStateWriter

        clear_stale_build_locks()
        deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo",
                                   timeout=datetime.timedelta(seconds=cfg.timeout_s))  # fmt: skip
        torch.manual_seed(seed)
        self.cfg = cfg
        self.seed = seed
        self.reference_free = cfg.reference_free
        self.mismatched = cfg.mismatched_pairs
        self.tokenizer = load_tokenizer(model_path)
        model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32, use_safetensors=True)
        # fused: one kernel per step instead of a loop of small ops (CPU and CUDA; seen in benchmarks/bench_learner)
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
        warmup = cfg.warmup_steps
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / (warmup + 1)))
        self.engine, *_ = deepspeed.initialize(
            model=model, optimizer=optimizer, lr_scheduler=scheduler, config=deepspeed_config(cfg, self.world_size)
        )
        self.engine.checkpoint_engine = BackgroundStateWriter()  # save_state returns before its files are written
        self.reference = None
        if cfg.reference == "initial" and not self.reference_free:
            self.reference = AutoModelForCausalLM.from_pretrained(
                model_path, dtype=torch.float32, use_safetensors=True
            ).eval()
            self.reference.to(self.engine.device)

    def _shard(self, pairs: pa.Table, iteration: int) -> list[dict]:
        return shard(pairs.to_pylist(), self.seed, iteration, self.rank, self.world_size)

    def _micro_batches(self, rows: list[dict]):
        size = self.cfg.micro_batch_size
        for start in range(0, len(rows), size):
            yield rows[start : start + size]

    @torch.no_grad()
    def _attach_reference(self, rows: list[dict], sampler: tuple[str, int] | None = None) -> dict:
        """Reference log-probs for every row (and its KTO mismatch), once, before any update.

        With ``sampler`` (the policy's generator and version), rows it sampled take the engine's log-probs
        after one checked micro-batch (:mod:`spo.learner.sampler_reference`). Every rank runs the same
        number of forward passes, as ZeRO-3's parameter gathers are collective.
        """
        if self.reference_free:
            return {}
        model = self.reference if self.reference is not None else self.engine
        self.engine.eval()
        if self.mismatched:
            for i, row in enumerate(rows):
                row["kl_response"] = rows[(i + 1) % len(rows)]["chosen"]  # a mismatched response, fixed up front
        ok = usable(rows, *sampler) if sampler and not self.mismatched else [False] * len(rows)
        from_sampler = [r for r, u in zip(rows, ok) if u]
        rest = [r for r, u in zip(rows, ok) if not u]
        past, without = [], []
        if sampler and self.cfg.reference == "sampling_policy":
            past, rest, without = older(rest, *sampler)
        checked = from_sampler[: self.cfg.micro_batch_size]
        batches = ([checked] if checked else []) + list(self._micro_batches(rest))
        (count,) = all_reduce([len(batches)], op=torch.distributed.ReduceOp.MAX)
        batches += [rows[:1]] * (int(count) - len(batches))  # idle ranks keep the collective count
        diff = 0.0
        for k, batch in enumerate(batches):
            prompts = [row_conversation(b) for b in batch]
            chosen, rejected = [b["chosen"] for b in batch], [b["rejected"] for b in batch]
            c, r, _, _ = pair_logprobs(model, self.tokenizer, prompts, chosen, rejected, self.cfg.layout)
            if k == 0 and checked:
                diff = check_sampler(batch, c, r, self.cfg.sampler_tolerance)
            for b, ci, ri in zip(batch, c.cpu(), r.cpu()):  # kept on the CPU, beside the sampler's
                b["ref_chosen"], b["ref_rejected"] = ci, ri
            if self.mismatched:
                kl = response_logprobs(model, self.tokenizer, prompts, [b["kl_response"] for b in batch])[0]
                for b, ki in zip(batch, kl.cpu()):
                    b["ref_kl"] = ki
        take_sampler(from_sampler[len(checked) :] + past)
        return {"reference_from_sampler": len(from_sampler) - len(checked) + len(past), "sampler_max_diff": diff,
                "reference_not_sampling_policy": len(without)}  # fmt: skip

    def _loss_inputs(self, batch: list[dict]) -> LossInputs:
        prompts = [row_conversation(b) for b in batch]
        chosen, rejected = [b["chosen"] for b in batch], [b["rejected"] for b in batch]
        pc, pr, nc, nr = pair_logprobs(self.engine, self.tokenizer, prompts, chosen, rejected, self.cfg.layout)
        x = LossInputs(pc, pr, chosen_tokens=nc, rejected_tokens=nr)
        if not self.reference_free:
            x.ref_chosen = torch.stack([b["ref_chosen"] for b in batch]).to(pc.device)
            x.ref_rejected = torch.stack([b["ref_rejected"] for b in batch]).to(pc.device)
        if self.mismatched:
            with torch.no_grad():
                x.policy_kl = response_logprobs(
                    self.engine, self.tokenizer, prompts, [b["kl_response"] for b in batch]
                )[0]
            x.ref_kl = torch.stack([b["ref_kl"] for b in batch]).to(pc.device)
        return x

    def _step(self, batch: list[dict], clock: PhaseClock):
        """One micro-batch: loss, backward and (at an accumulation boundary) the optimizer step. Returns the loss
        terms, the mean loss, whether it stepped, the gradient norm there, and its response tokens."""
        with clock.phase("forward"):
            x = self._loss_inputs(batch)
            out = compute_loss(self.cfg.loss, x, self.cfg)
            loss = out.losses.mean()
        with clock.phase("backward"):
            self.engine.backward(loss)
        with clock.phase("step"):
            boundary = self.engine.is_gradient_accumulation_boundary()
            own_norm = self._untracked_grad_norm() if boundary else None
            self.engine.step()
        norm = own_norm if own_norm is not None else self.engine.get_global_grad_norm()
        tokens = (x.chosen_tokens.sum() + x.rejected_tokens.sum()).item()
        return out, loss.item(), boundary, norm if boundary else None, tokens

    def _untracked_grad_norm(self) -> float | None:
        """The global gradient norm before clipping where DeepSpeed records none: it clips fp32 gradients itself
        without ZeRO (stage 0, no bf16) and drops the norm. The gradients are already reduced across ranks."""
        if self.engine.zero_optimization_stage() or self.engine.bfloat16_enabled():
            return None
        norms = [torch.linalg.vector_norm(p.grad) for p in self.engine.module.parameters() if p.grad is not None]
        return torch.linalg.vector_norm(torch.stack(norms)).item() if norms else None

    def train(self, pairs: pa.Table, iteration: int, sampler: tuple[str, int] | None = None) -> dict:
        """Train ``epochs`` passes over this rank's shard; returns metrics averaged over all ranks, with each
        phase's time (:mod:`spo.learner.phases`).

        ``sampler``: the policy's generator and version, whose log-probs may serve as the reference.
        """
        rows = self._shard(pairs, iteration)
        if not rows:
            return {"steps": 0, "pairs_trained": 0}
        clock = PhaseClock()
        with clock.phase("reference"):
            reference = self._attach_reference(rows, sampler)
        self.engine.train()
        rng = random.Random(self.seed * 7919 + iteration)
        sums = [0.0] * 7  # loss, acc, chosen, rejected, grad_norm, n, response tokens
        first_loss, steps = None, 0
        total = max(1, self.cfg.epochs * -(-len(rows) // self.cfg.micro_batch_size) // self.cfg.grad_accum)
        for _epoch in range(self.cfg.epochs):
            rng.shuffle(rows)
            for batch in self._micro_batches(rows):
                out, loss, boundary, grad_norm, tokens = self._step(batch, clock)
                first_loss = loss if first_loss is None else first_loss
                steps += int(boundary)
                if boundary and self.rank == 0 and steps * 4 // total > (steps - 1) * 4 // total:
                    print(f"train {iteration}: step {steps}/{total}, loss {loss:.4f}", flush=True)
                n = len(batch)
                step_sums = (
                    out.losses.sum().item(),
                    (out.chosen_rewards > out.rejected_rewards).float().sum().item(),
                    out.chosen_rewards.sum().item(),
                    out.rejected_rewards.sum().item(),
                    float(grad_norm or 0.0) * n,
                    n,
                    tokens,
                )
                sums = [a + b for a, b in zip(sums, step_sums)]
        loss, acc, chosen, rejected, norm, n, tokens = all_reduce(sums)
        return {
            "steps": steps,
            "pairs_trained": len(rows) * self.world_size,
            "response_tokens_trained": int(tokens),  # chosen + rejected (each with its EOS), every epoch and rank
            "loss": loss / n,
            "loss_first": first_loss,
            "reward_accuracy": acc / n,
            "chosen_reward": chosen / n,
            "rejected_reward": rejected / n,
            "reward_margin": (chosen - rejected) / n,
            "grad_norm": norm / n,
            **self._reduce_reference(reference),
            **clock.mean_over_ranks(),
        }

    def _reduce_reference(self, reference: dict) -> dict:
        """The sampler-reference counts summed over ranks, and the largest checked difference."""
        if not reference:
            return {}
        taken, without = all_reduce([reference["reference_from_sampler"], reference["reference_not_sampling_policy"]])
        (diff,) = all_reduce([reference["sampler_max_diff"]], op=torch.distributed.ReduceOp.MAX)
        out = {"reference_from_sampler": int(taken), "sampler_max_diff": diff}
        if self.cfg.reference == "sampling_policy":
            out["reference_not_sampling_policy"] = int(without)
        return out

    @torch.no_grad()
    def pair_logprobs(self, pairs: pa.Table, with_reference: bool) -> pa.Table:
        """Log-probs of this rank's share of candidate pairs (rows ``rank::world``), keyed by ``pair_index``.

        Every rank runs the same number of forward passes (ZeRO-3 gathers are collective), so short
        shards are padded and the padding is dropped from the result.
        """
        idx = list(range(self.rank, pairs.num_rows, self.world_size))
        per_rank = -(-pairs.num_rows // self.world_size)
        padded = idx + [idx[-1] if idx else 0] * (per_rank - len(idx))
        rows = pairs.take(padded).to_pylist() if pairs.num_rows else []
        self.engine.eval()
        cols: dict[str, list] = {"chosen_logps": [], "rejected_logps": [], "chosen_tokens": [], "rejected_tokens": []}
        if with_reference:
            cols.update(ref_chosen_logps=[], ref_rejected_logps=[])
        for batch in self._micro_batches(rows):
            args = ([row_conversation(b) for b in batch], [b["chosen"] for b in batch], [b["rejected"] for b in batch])
            c, r, nc, nr = pair_logprobs(self.engine, self.tokenizer, *args, self.cfg.layout)
            for name, values in zip(LOGPROB_COLUMNS, (c, r, nc, nr)):
                cols[name] += values.tolist()
            if with_reference:
                rc, rr, _, _ = pair_logprobs(self.reference, self.tokenizer, *args, self.cfg.layout)
                cols["ref_chosen_logps"] += rc.tolist()
                cols["ref_rejected_logps"] += rr.tolist()
        keep = len(idx)
        return pa.table({"pair_index": pa.array(idx, pa.int64()), **{k: v[:keep] for k, v in cols.items()}})

    # ----------------------------------------------- generic hooks (weight transports, spo.sync)
    def call(self, fn, *args):
        """Run ``fn(self, *args)`` in this rank: how a weight transport's learner-side step runs here."""
        return fn(self, *args)

    @contextlib.contextmanager
    def full_parameters(self):
        """The full named parameters on rank 0 (gathered from ZeRO-3 shards; every rank must enter), ``None``
        on the other ranks."""
        gather = contextlib.nullcontext()
        if self.engine.zero_optimization_stage() == 3:  # the stage DeepSpeed runs (see deepspeed_config)
            import deepspeed

            gather = deepspeed.zero.GatheredParameters(list(self.engine.module.parameters()), modifier_rank=None)
        with gather:
            yield dict(self.engine.module.named_parameters()) if self.rank == 0 else None

    def parameter_specs(self) -> list[tuple[str, tuple[int, ...], str]]:
        """``(name, full shape, dtype)`` of every parameter, in order (shapes of ZeRO-3 shards are the full ones)."""
        return [
            (n, tuple(getattr(p, "ds_shape", p.shape)), str(p.dtype).removeprefix("torch."))
            for n, p in self.engine.module.named_parameters()
        ]

    def save_state(self, path: str) -> None:
        """Start writing model, optimizer, LR-scheduler and RNG state into ``path`` (every rank its own shard):
        the state is copied in memory here, and written on a background thread while the rank takes its next
        calls; :meth:`state_written` waits for the files."""
        from safetensors.torch import save_file

        self.engine.save_checkpoint(path, tag="state")
        save_file({"torch_cpu": torch.get_rng_state()}, os.path.join(path, f"rng_rank{self.rank}.safetensors"))

    @ray.method(concurrency_group="io")  # answers while the rank trains: it only waits for the writer thread
    def state_written(self) -> None:
        """Wait until every state file :meth:`save_state` started has been written; raise a write's error."""
        self.engine.checkpoint_engine.wait()

    def load_state(self, path: str) -> None:
        """Restore what :meth:`save_state` wrote."""
        from safetensors.torch import load_file

        loaded, _ = self.engine.load_checkpoint(path, tag="state", load_optimizer_states=True)
        if loaded is None:
            raise FileNotFoundError(f"{path}: no DeepSpeed state to resume from")
        torch.set_rng_state(load_file(os.path.join(path, f"rng_rank{self.rank}.safetensors"))["torch_cpu"])

    def save_checkpoint(self, path: str) -> None:
        """Write an HF checkpoint (safetensors + tokenizer) from rank 0."""
        with self.full_parameters() as params:
            if params is None:
                return
            with atomic_dir(Path(path)) as tmp:
                self.engine.module.save_pretrained(tmp)
                self.tokenizer.save_pretrained(tmp)
