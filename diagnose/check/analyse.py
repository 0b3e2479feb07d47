"""What the dry run saw, turned into the check report (runs in the child, next to the live meta objects).

Target modules: the module names the real ``get_peft_model`` wrapped (or the
error it raised, with the model's own layers as the corrected value);
trainable parameters and their share; the first batch's shape; and the peak
memory of a training step (fake-tensor replay, closed form as the fallback),
with a verdict against the GPU and the changes that would make it fit.
"""

from __future__ import annotations

import traceback
from collections import Counter
from typing import Any

import torch

from diagnose.check import memory
from diagnose.check.memory import Estimate, Part

NOT_TARGETS = {"lm_head", "embed_out", "output", "score", "classifier"}
WRAPPABLE = ("Linear", "Conv1D", "Conv1d", "Conv2d", "Embedding", "Linear4bit", "Linear8bitLt")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _user_line(seen, stack) -> int | None:
    lines = [f.lineno for f in stack if str(f.filename) == str(seen.script)]
    return lines[-1] if lines else None


def wrappable_suffixes(model: torch.nn.Module) -> Counter:
    found: Counter = Counter()
    for name, module in model.named_modules():
        if name and not module._modules and type(module).__name__ in WRAPPABLE:
            suffix = name.rsplit(".", 1)[-1]
            if (
                suffix not in NOT_TARGETS
                and not suffix.isdigit()
                and "embed" not in suffix
                and suffix not in ("wte", "wpe")
            ):
                found[suffix] += 1
    return found


def suggested_targets(model: torch.nn.Module) -> list[str]:
    """peft's default target modules for this model_type when the model has them, else its attention layers."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as DEFAULTS

    have = wrappable_suffixes(model)
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    default = [n for n in DEFAULTS.get(model_type or "", []) if n in have]
    if default:
        return default
    attention = [n for n in have if any(k in n for k in ("q", "v", "attn", "query", "value"))]
    return attention[:2] or list(have)[:2]


def _peft_record(seen, record: dict[str, Any]) -> dict[str, Any]:
    config = record["config"]
    base = record["base"]
    fields = config.to_dict() if hasattr(config, "to_dict") else {}
    asked = fields.get("target_modules")
    out: dict[str, Any] = {
        "config": _jsonable(
            {
                k: fields.get(k)
                for k in (
                    "peft_type",
                    "task_type",
                    "r",
                    "lora_alpha",
                    "lora_dropout",
                    "target_modules",
                    "modules_to_save",
                    "bias",
                )
            }
        ),
        "line": record.get("line"),
        "model_class": type(base).__name__,
        "model_type": getattr(getattr(base, "config", None), "model_type", None),
        "wrappable": dict(wrappable_suffixes(base)),
    }
    error = record["error"]
    if error is not None:
        out["error"] = {"type": type(error).__name__, "message": str(error).splitlines()[0][:500]}
        out["suggested_target_modules"] = suggested_targets(base)
        return out
    model = record["result"]
    targeted = list(getattr(model.base_model, "targeted_module_names", []) or [])
    by_suffix = Counter(name.rsplit(".", 1)[-1] for name in targeted)
    out["targeted"] = dict(by_suffix)
    out["targeted_count"] = len(targeted)
    out["targeted_examples"] = targeted[:3]
    if isinstance(asked, (list, set, tuple)):
        out["unmatched"] = sorted(n for n in asked if n not in by_suffix and not any(t.endswith(n) for t in targeted))
    trainable, total = model.get_nb_trainable_parameters()
    out["trainable"] = int(trainable)
    out["total"] = int(total)
    out["share"] = trainable / total if total else 0.0
    return out


def _batch_shape(seen, args: Any, options: dict[str, Any]) -> tuple[int | None, int | None, str]:
    batch = seen.batch or {}
    for key in ("input_ids", "inputs_embeds", "pixel_values"):
        shape = batch.get(key)
        if shape and len(shape) >= 2:
            return shape[0], shape[1], "the first training batch"
    size = getattr(args, "per_device_train_batch_size", None)
    seq = None
    for name in ("max_length", "max_seq_length"):
        value = getattr(args, name, None)
        if isinstance(value, int):
            seq = value
    seq = options.get("seq_len") or seq
    return (options.get("batch_size") or size), seq, "training arguments" if size else "not determined"


def _optimizer_name(seen, args: Any) -> str:
    if seen.optimizers:
        return seen.optimizers[-1]["class"]
    optim = getattr(args, "optim", None)
    return str(getattr(optim, "value", optim) or "adamw_torch") if args is not None else "AdamW (assumed)"


def _lora_shape(model: torch.nn.Module, layers: int) -> memory.Lora:
    d_in = modules = 0
    r = 8
    dropout = False
    for module in model.modules():
        lora_a = getattr(module, "lora_A", None)
        if isinstance(lora_a, torch.nn.ModuleDict) and "default" in lora_a:
            layer = lora_a["default"]
            d_in += getattr(layer, "in_features", 0)
            modules += 1
            r = getattr(layer, "out_features", r)
            dropouts = getattr(module, "lora_dropout", None)
            drop = dropouts["default"] if isinstance(dropouts, torch.nn.ModuleDict) and "default" in dropouts else None
            dropout = dropout or isinstance(drop, torch.nn.Dropout)
    return memory.Lora(d_in / layers if layers else 0, modules / layers if layers else 0, r, dropout)


def estimate_memory(seen, model, peft_info, options: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Peak memory of a training step of ``model`` (the PEFT model on meta)."""
    from diagnose.check import _child

    unknown: list[str] = []
    args = seen.training_args
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = getattr(base, "config", None)
    shape = memory.Shape.from_dims(config.to_dict() if config is not None else {})
    batch, seq, batch_source = _batch_shape(seen, args, options)
    checkpointing = bool(
        getattr(base, "is_gradient_checkpointing", False) or getattr(args, "gradient_checkpointing", False)
    )
    optimizer = _optimizer_name(seen, args)
    quant = _child.quantization_of(base) or {}
    bits = 4 if quant.get("load_in_4bit") else 8 if quant.get("load_in_8bit") else None
    compute = quant.get("bnb_4bit_compute_dtype") or "bfloat16"
    compute_dtype = getattr(torch, str(compute).replace("torch.", ""), torch.bfloat16)
    quantized = (
        [
            _replay_quantized(module, bits, compute_dtype, bool(quant.get("bnb_4bit_use_double_quant")))
            for _, module in _child.quantized_linears(base)
        ]
        if bits
        else []
    )

    params = list(model.parameters())
    trainable = [p for p in params if p.requires_grad]
    trainable_numel = sum(p.numel() for p in trainable)
    trainable_bytes = sum(p.numel() * p.element_size() for p in trainable)
    quantized_ids = {id(q.module.weight) for q in quantized}
    frozen_bytes = sum(
        p.numel() * p.element_size() for p in params if not p.requires_grad and id(p) not in quantized_ids
    )
    packed = sum(
        memory.nf4_bytes(q.module.weight.numel(), q.double_quant)
        if bits == 4
        else memory.int8_bytes(q.module.out_features, q.module.in_features)
        for q in quantized
    )
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    states, states_how = memory.optimizer_state_bytes(optimizer, trainable_numel, trainable_bytes)

    dtypes: Counter[str] = Counter()
    for p in params:
        if not p.requires_grad and id(p) not in quantized_ids:
            dtypes[str(p.dtype).replace("torch.", "")] += p.numel() * p.element_size()
    parts = [Part(f"base weights {dtype}", size) for dtype, size in dtypes.most_common()]
    if quantized:
        label = (
            "4-bit NF4" + (" + double quant" if quant.get("bnb_4bit_use_double_quant") else "")
            if bits == 4
            else "8-bit"
        )
        parts.append(
            Part(f"base weights {label} ({len(quantized)} linears)", packed, "packed weights + quantization state")
        )
    if buffers:
        parts.append(Part("buffers", buffers))
    parts += [
        Part("LoRA weights", trainable_bytes, f"{trainable_numel:,} parameters"),
        Part("gradients", trainable_bytes),
        Part(f"optimizer states ({optimizer})", states, states_how),
    ]
    if not batch or not seq:
        unknown.append(
            "batch size or sequence length (no training batch was reached): activations not estimated; "
            "give --batch-size and --seq-len"
        )
        weights = frozen_bytes + packed + buffers + trainable_bytes
        peak = weights + trainable_bytes + states
        est = Estimate(parts, peak, "weights and states only", batch, seq, checkpointing)
        return _finish(est, options), unknown

    elt = 4 if _compute_elt(base, bits) == 4 else 2
    lora = _lora_shape(model, shape.layers if shape else 0)
    method = "fake-tensor replay"
    peak = None
    if options.get("replay", True):
        try:
            peak = _replay(
                model, base, batch, seq, checkpointing, quantized, args, optimizer, trainable_numel, trainable_bytes
            )
        except Exception as error:  # noqa: BLE001 - any model the fake mode cannot run: the closed form, said so
            unknown.append(
                f"the fake-tensor replay failed ({type(error).__name__}: {str(error)[:160]}); "
                "activations from the closed form (Llama-like decoders)"
            )
            traceback.print_exc()
    weights = frozen_bytes + packed + buffers + trainable_bytes
    if peak is None:
        method = "closed form"
        if shape is None:
            unknown.append("the model's dimensions: activations not estimated")
            peak = weights + trainable_bytes + states
        else:
            peak = weights + trainable_bytes + states + memory.activations(shape, batch * seq, lora, elt, checkpointing)
    parts.append(
        Part(
            f"activations and transients, batch {batch} × {seq} tokens, "
            f"{'with' if checkpointing else 'without'} gradient checkpointing",
            peak - weights - trainable_bytes - states,
            f"from {batch_source}",
        )
    )
    est = Estimate(parts, peak, method, batch, seq, checkpointing, options.get("gpu"), options.get("gpu_bytes"))
    if shape is not None:
        est.changes = _changes(est, shape, lora, elt, bits, frozen_bytes, dtypes, states, trainable_numel, optimizer)
    return _finish(est, options), unknown


def _compute_elt(base, bits) -> int:
    if bits:
        return 2
    for p in base.parameters():
        if p.dtype in (torch.float16, torch.bfloat16):
            return 2
    return 4


def _replay_quantized(module, bits, compute_dtype, double_quant):
    from diagnose.check.replay import Quantized

    return Quantized(module, bits, compute_dtype, double_quant)


def _replay(model, base, batch, seq, checkpointing, quantized, args, optimizer, trainable_numel, trainable_bytes):
    from diagnose.check.replay import replay_peak

    if checkpointing and not getattr(base, "is_gradient_checkpointing", False):
        kwargs = getattr(args, "gradient_checkpointing_kwargs", None) or {"use_reentrant": False}
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        if hasattr(base, "enable_input_require_grads"):
            base.enable_input_require_grads()
    autocast = None
    if args is not None and (getattr(args, "bf16", False) or getattr(args, "fp16", False)):
        floats = {p.dtype for p in base.parameters() if p.is_floating_point()}
        if floats == {torch.float32}:
            autocast = torch.bfloat16 if getattr(args, "bf16", False) else torch.float16
    result = replay_peak(model, batch, seq, cuda_like=True, quantized=quantized, autocast=autocast)
    peak = result.peak
    adam, _ = memory.optimizer_state_bytes("adamw", trainable_numel, trainable_bytes)
    actual, _ = memory.optimizer_state_bytes(optimizer, trainable_numel, trainable_bytes)
    return peak - adam + actual  # the replay steps torch's AdamW; another optimizer's states are swapped in


def _changes(est, shape, lora, elt, bits, frozen_bytes, dtypes, states, trainable_numel, optimizer):
    """The changes that lower the peak, cheapest to adopt first, each priced with the closed form."""

    def acts(batch=est.batch, seq=est.seq, checkpointing=est.checkpointing):
        return memory.activations(shape, batch * seq, lora, elt, checkpointing)

    now = acts()
    found = []

    def fits(peak):
        return None if est.gpu_bytes is None else memory.HEADROOM * peak + memory.CUDA_CONTEXT <= est.gpu_bytes

    def add(title, saves, how, safety):
        if saves > 0.001 * est.peak:  # a change that saves nothing worth saying is not offered
            found.append(memory.Change(title, saves, est.peak - saves, fits(est.peak - saves), how, safety))

    if not est.checkpointing:
        add(
            "gradient checkpointing",
            now - acts(checkpointing=True),
            "TrainingArguments(gradient_checkpointing=True), or model.gradient_checkpointing_enable()",
            "safe",
        )
    batch = est.batch
    while batch > 1:  # the largest smaller batch that fits; batch 1 when none does
        batch //= 2
        if batch > 1 and not fits(est.peak - (now - acts(batch=batch))):
            continue
        factor = est.batch // batch
        add(
            f"batch {est.batch} → {batch} with gradient_accumulation_steps ×{factor}",
            now - acts(batch=batch),
            f"per_device_train_batch_size={batch}, gradient_accumulation_steps multiplied by {factor} "
            "(same effective batch)",
            "safe",
        )
        break
    if "8bit" not in optimizer.lower():
        add("8-bit paged AdamW", states - 2.0 * trainable_numel, 'TrainingArguments(optim="paged_adamw_8bit")', "safe")
    if est.seq >= 128:
        add(
            f"sequences {est.seq} → {est.seq // 2} tokens",
            now - acts(seq=est.seq // 2),
            f"truncate to max_length={est.seq // 2}",
            "manual",
        )
    if not bits:
        linear = sum(size for dtype, size in dtypes.items()) - 2 * shape.vocab * shape.hidden * (elt // 2)
        per = 2 if elt == 2 else 4
        saves = max(0, linear) * (1 - memory.NF4_DOUBLE_QUANT / per)
        add(
            "load the base model in 4-bit (QLoRA)",
            saves,
            "BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4', bnb_4bit_use_double_quant=True, "
            "bnb_4bit_compute_dtype=torch.bfloat16)",
            "unsafe",
        )
    order = {"safe": 0, "manual": 1, "unsafe": 2}
    return sorted(found, key=lambda c: (order[c.safety], -c.saves))


def _finish(est: Estimate, options: dict[str, Any]) -> dict[str, Any]:
    est.gpu = options.get("gpu")
    est.gpu_bytes = options.get("gpu_bytes")
    for change in est.changes:
        if est.gpu_bytes is not None:
            change.fits = memory.HEADROOM * change.new_peak + memory.CUDA_CONTEXT <= est.gpu_bytes
    return est.to_dict()


def _models(seen) -> list[dict[str, Any]]:
    out = []
    for record in seen.models:
        model = record["model"]
        config = getattr(model, "config", None)
        out.append(
            {
                "name": record["name"],
                "class": type(model).__name__,
                "model_type": getattr(config, "model_type", None),
                "config_source": record["config_source"],
                "dtype": str(next((p.dtype for p in model.parameters()), "")).replace("torch.", ""),
                "parameters": sum(p.numel() for p in model.parameters()),
                "quantization": record["quantization"],
                "skipped_kwargs": record["skipped_kwargs"],
            }
        )
    return out


def _optimizers(seen) -> list[dict[str, Any]]:
    trainable = set()
    for record in seen.peft:
        if record["result"] is not None:
            trainable |= {id(p) for p in record["result"].parameters() if p.requires_grad}
    out = []
    for opt in seen.optimizers:
        out.append(
            {
                "class": opt["class"],
                "parameters": opt["numel"],
                "frozen_parameters": opt["frozen_numel"],
                "before_get_peft_model": opt["before_peft"] and bool(seen.peft),
                "holds_all_trainable": bool(trainable) and trainable <= opt["ids"],
            }
        )
    return out


def analyse(seen, outcome: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    peft = [_peft_record(seen, r) for r in seen.peft]
    args = seen.training_args
    report: dict[str, Any] = {
        "outcome": outcome,
        "events": seen.events[:50],
        "models": _models(seen),
        "peft": peft,
        "optimizers": _optimizers(seen),
        "training_args": _jsonable(
            {
                k: getattr(args, k, None)
                for k in (
                    "per_device_train_batch_size",
                    "gradient_accumulation_steps",
                    "gradient_checkpointing",
                    "optim",
                    "bf16",
                    "fp16",
                    "max_length",
                    "max_seq_length",
                    "learning_rate",
                )
            }
        )
        if args is not None
        else None,
        "batch": seen.batch,
        "prepared_kbit": seen.prepared_kbit,
        "memory": None,
        "undetermined": list(seen.unknown),
    }
    model = next((r["result"] for r in reversed(seen.peft) if r["result"] is not None), None)
    if model is None and seen.models:
        report["undetermined"].append("no PEFT model was made: trainable parameters and memory not estimated")
    if model is not None and options.get("memory", True):
        try:
            report["memory"], unknown = estimate_memory(seen, model, peft[-1], options)
            report["undetermined"] += unknown
        except Exception as error:  # noqa: BLE001 - report what could not be done instead of failing the check
            report["undetermined"].append(f"memory not estimated: {type(error).__name__}: {str(error)[:200]}")
            traceback.print_exc()
    return report
