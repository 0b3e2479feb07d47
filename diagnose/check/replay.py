"""Peak memory of training steps, measured by replaying them on fake tensors (no weights, no GPU).

The model (built on the meta device, LoRA already applied) gets fake CPU
tensors in place of its parameters and buffers; two training steps (forward,
backward, AdamW step, zero_grad) run under ``FakeTensorMode`` while a dispatch
mode counts every storage alive, so the peak is the allocator's peak of the
real run on the simulated kernels.  Against a real CPU run's allocator peak
this is exact (tests/test_check_memory.py).  For a GPU prediction
(``cuda_like=True``) the one CPU kernel that saves more than CUDA's is swapped
for the CUDA one: dropout keeps a bool mask (fused ``native_dropout``), not a
mask in the input dtype.

Two transformers details are pinned for an unpadded batch: fake tensors look
like tracing to transformers, which would otherwise materialise a (b, 1, s, s)
mask that the real run never builds.

bitsandbytes layers cannot run on fake tensors: the linears it would quantize
hold their packed bytes (memory.nf4_bytes / int8_bytes) and dequantize a
transient full weight in forward and backward, saving nothing, as its
``gemm_4bit`` fallback does for training-sized inputs.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from dataclasses import dataclass
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from diagnose.check.memory import int8_bytes, nf4_bytes


class StorageTracker(TorchDispatchMode):
    """Counts the bytes of every tensor storage alive; keeps the peak (the allocator's view, not RSS)."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, int] = {}
        self.current = 0
        self.peak = 0

    def track(self, tensor: Any) -> None:
        if not isinstance(tensor, torch.Tensor):
            return
        storage = tensor.untyped_storage()
        key = storage._cdata
        if key in self.live:
            return
        size = storage.nbytes()
        self.live[key] = size
        self.current += size
        self.peak = max(self.peak, self.current)
        weakref.finalize(storage, self._release, key)

    def _release(self, key: int) -> None:
        self.current -= self.live.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            self.track(tensor)
        return out


@dataclass(slots=True)
class Quantized:
    """A linear bitsandbytes would have quantized."""

    module: torch.nn.Linear
    bits: int  # 4 | 8
    compute_dtype: torch.dtype
    double_quant: bool = False


@dataclass(slots=True)
class Replay:
    peak: int  # bytes, allocator peak over the steps
    weights: int  # bytes of parameters and buffers (quantized layers as packed)
    seconds: float


class _Dequantized(torch.autograd.Function):
    """A quantized linear's matmul: a transient full weight in forward and in backward; nothing saved."""

    @staticmethod
    def forward(ctx, x, rows: int, cols: int, dtype: torch.dtype, bias):
        ctx.shape = (rows, cols, dtype, x.dtype)
        weight = torch.empty((rows, cols), dtype=dtype, device=x.device)
        return torch.nn.functional.linear(x.to(dtype), weight, bias).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        rows, cols, dtype, in_dtype = ctx.shape
        weight = torch.empty((rows, cols), dtype=dtype, device=grad.device)
        return (grad.to(dtype) @ weight).to(in_dtype), None, None, None, None


def _quantize(spec: Quantized, memo: dict[int, Any]) -> None:
    module = spec.module
    rows, cols = module.out_features, module.in_features
    size = nf4_bytes(rows * cols, spec.double_quant) if spec.bits == 4 else int8_bytes(rows, cols)
    # the packed bytes stand as the weight; typed in the compute dtype (peft casts inputs to a weight's dtype,
    # and bitsandbytes computes in it), sized to the packed bytes (rounded up to one element)
    element = torch.empty((), dtype=spec.compute_dtype).element_size()
    packed = torch.nn.Parameter(torch.empty((-(-size // element), 1), dtype=spec.compute_dtype), requires_grad=False)
    memo[id(module.weight)] = packed
    module._parameters["weight"] = packed
    bias = module.bias

    def forward(x):
        return _Dequantized.apply(x, rows, cols, spec.compute_dtype, bias)

    module.forward = forward


def _fake_state(model: torch.nn.Module, quantized: list[Quantized]) -> list[torch.Tensor]:
    """Swap every parameter and buffer for a fake CPU tensor (shared tensors stay shared)."""
    memo: dict[int, Any] = {}
    for spec in quantized:
        _quantize(spec, memo)
    for module in model.modules():
        for name, param in list(module._parameters.items()):
            if param is None:
                continue
            if id(param) not in memo:
                fake = torch.empty(param.shape, dtype=param.dtype, device="cpu")
                memo[id(param)] = torch.nn.Parameter(fake, requires_grad=param.requires_grad)
            module._parameters[name] = memo[id(param)]
        for name, buffer in list(module._buffers.items()):
            if buffer is None:
                continue
            if id(buffer) not in memo:
                memo[id(buffer)] = torch.empty(buffer.shape, dtype=buffer.dtype, device="cpu")
            module._buffers[name] = memo[id(buffer)]
    return list(memo.values())


@contextlib.contextmanager
def _patched(owner: Any, name: str, value: Any):
    original = getattr(owner, name, None)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _cuda_dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002 - F.dropout's own signature
    if not training or p == 0:
        return input
    return torch.ops.aten.native_dropout(input, p, True)[0]


def _inputs(model: torch.nn.Module, batch: int, seq: int) -> dict[str, torch.Tensor]:
    ids = torch.zeros((batch, seq), dtype=torch.long)
    kind = type(getattr(model, "get_base_model", lambda: model)()).__name__
    if "SequenceClassification" in kind:
        return {"input_ids": ids, "labels": torch.zeros((batch,), dtype=torch.long)}
    return {"input_ids": ids, "labels": ids}


def replay_peak(
    model: torch.nn.Module,
    batch: int,
    seq: int,
    *,
    steps: int = 2,
    cuda_like: bool = True,
    quantized: list[Quantized] | None = None,
    autocast: torch.dtype | None = None,
    lr: float = 1e-4,
) -> Replay:
    """Allocator peak of ``steps`` AdamW training steps of ``model`` (on meta; it is left holding fake tensors)."""
    import transformers.masking_utils as masking

    started = time.perf_counter()
    tracker = StorageTracker()
    model.train()
    with contextlib.ExitStack() as stack:
        stack.enter_context(_patched(masking, "_ignore_causal_mask_sdpa", lambda *a, **k: True))
        stack.enter_context(_patched(masking, "find_packed_sequence_indices", lambda *a, **k: None))
        if cuda_like:
            stack.enter_context(_patched(torch.nn.functional, "dropout", _cuda_dropout))
        stack.enter_context(FakeTensorMode(allow_non_fake_inputs=False))
        state = _fake_state(model, quantized or [])
        for tensor in state:
            tracker.track(tensor)
        weights = tracker.current
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=lr) if trainable else None
        inputs = _inputs(model, batch, seq)
        for tensor in inputs.values():
            tracker.track(tensor)  # the batch is on the device too
        with tracker:
            for _ in range(steps):
                with torch.autocast("cpu", dtype=autocast) if autocast else contextlib.nullcontext():
                    loss = model(**inputs).loss
                loss.backward()
                del loss
                if optimizer is not None:
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
    return Replay(tracker.peak, weights, time.perf_counter() - started)
