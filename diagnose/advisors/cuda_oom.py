"""cuda-out-of-memory: where the memory went for this run, and the fixes ranked by what each saves.

From a capture: the model's parameters by device and dtype (4-bit packed
weights included), the trainable LoRA parameters, their gradients and
optimizer states (AdamW: two states per trainable parameter, in its dtype; 8-bit
optimizers: two bytes), an activation estimate from the failing batch's shape
and the model's dimensions, and the allocator's numbers at failure (the cuda
probe, else the OOM message).  Each fix is then priced for this model in MiB
and the list is sorted by that: smaller batch with gradient accumulation
(effective batch kept), shorter sequences, gradient checkpointing, 4-bit
loading, an 8-bit/paged optimizer, and a smaller r (honestly shown as small).

The activation estimate is the closed form of diagnose/check/memory.py, the
memory model ``diagnose check`` uses too (Llama-like decoder, sdpa, unpadded
batch; within a few % of measured allocator peaks, rougher for other
architectures): an estimate, said so.
From text alone: the allocator's numbers parsed from the message, the stage
that ran out (loading, forward, backward, optimizer step) and the fixes in
their usual order of effect.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from diagnose.advisors._common import (
    DTYPE_BYTES,
    fmt_bytes,
    fmt_count,
    main_model,
    mib,
    model_var,
    parse_size,
    peft_config_fields,
    split_place,
    strip_log_prefixes,
    tensors,
    text_only_note,
)
from diagnose.incident import Incident
from diagnose.report import Advice, Finding, FixView

TIED = {"gpt2", "opt", "bloom", "gemma", "gemma2", "gemma3", "gpt_neox"}  # input/output embeddings usually shared

_NEW = re.compile(
    r"Tried to allocate ([\d.]+ \w+)\. GPU (\d+) has a total capac\w* of ([\d.]+ \w+) of which "
    r"([\d.]+ \w+) is free\.(?: Including non-PyTorch memory, this process has ([\d.]+ \w+) memory "
    r"in use\.)?(?: Of the allocated memory ([\d.]+ \w+) is allocated by PyTorch, and ([\d.]+ \w+) is "
    r"reserved by PyTorch but unallocated)?"
)
_OLD = re.compile(
    r"Tried to allocate ([\d.]+ \w+) \(GPU (\d+); ([\d.]+ \w+) total capacity; ([\d.]+ \w+) already "
    r"allocated; ([\d.]+ \w+) free; ([\d.]+ \w+) reserved in total by PyTorch\)"
)


class Allocator(NamedTuple):
    source: str  # "cuda probe" | "message"
    device: str | None = None
    tried: float | None = None
    total: float | None = None
    free: float | None = None
    process: float | None = None
    allocated: float | None = None
    reserved: float | None = None


def parse_message(text: str) -> Allocator | None:
    flat = strip_log_prefixes(text)
    found = _NEW.search(flat)
    if found:
        tried, gpu, total, free, process, allocated, unallocated = found.groups()
        alloc = parse_size(allocated) if allocated else None
        unallocated_bytes = parse_size(unallocated) if unallocated else None
        reserved = alloc + unallocated_bytes if alloc is not None and unallocated_bytes is not None else None
        return Allocator(
            "message",
            f"cuda:{gpu}",
            parse_size(tried),
            parse_size(total),
            parse_size(free),
            parse_size(process) if process else None,
            alloc,
            reserved,
        )
    found = _OLD.search(flat)
    if found:
        tried, gpu, total, allocated, free, reserved_text = found.groups()
        return Allocator(
            "message",
            f"cuda:{gpu}",
            parse_size(tried),
            parse_size(total),
            parse_size(free),
            None,
            parse_size(allocated),
            parse_size(reserved_text),
        )
    return None


def allocator(incident: Incident) -> Allocator | None:
    parsed = parse_message(incident.text)
    devices = (incident.probes.get("cuda") or {}).get("devices") or []
    if devices:
        wanted = parsed.device if parsed else None
        dev = next((d for d in devices if f"cuda:{d.get('index')}" == wanted), None) or max(
            devices, key=lambda d: d.get("allocated", 0)
        )
        return Allocator(
            "cuda probe",
            f"cuda:{dev.get('index')}",
            parsed.tried if parsed else None,
            dev.get("total"),
            dev.get("free"),
            None,
            dev.get("allocated"),
            dev.get("reserved"),
        )
    return parsed


def stage(incident: Incident) -> str | None:
    functions = [f.function for exc in incident.exceptions() for f in exc.frames]
    text = incident.text
    if "backward" in functions or "run_backward" in text or "_engine_run_backward" in text:
        return "backward"
    if any(f in ("step", "_single_tensor_adamw", "_multi_tensor_adamw", "_fused_adamw") for f in functions):
        return "optimizer step"
    if (
        any(
            f
            in (
                "_apply",
                "convert",
                "to",
                "cuda",
                "from_pretrained",
                "_load_state_dict_into_meta_model",
                "load_state_dict",
                "dispatch_model",
            )
            for f in functions
        )
        or "in _apply" in text
    ):
        return "loading the model"
    if "generate" in functions:
        return "generation"
    if "forward" in functions or " in forward" in text:
        return "forward"
    return None


class Breakdown:
    """The memory of a run, filled in field by field by ``breakdown()``.

    A plain class (no dataclass: see diagnose/record.py); the defaults of the
    immutable fields are class attributes, the dicts are made per instance.
    """

    weights_total: float = 0.0
    total_params: int = 0
    trainable: int = 0
    trainable_bytes: float = 0.0
    optimizer_bytes: float = 0.0
    optimizer_label: str = ""
    batch: int | None = None
    seq: int | None = None
    activations: float | None = None
    activations_other_gc: float | None = None  # the same with gradient checkpointing toggled
    checkpointing: bool = False
    quantized_4bit: bool = False
    elt: int = 2  # bytes per activation element of the compute dtype
    lora_layers: int = 0
    lora_din: float = 0.0  # Σ input width of the LoRA-wrapped layers, whole model
    r: int | None = None

    def __init__(self) -> None:
        self.weights: dict[str, float] = {}  # "cuda:0 bfloat16" -> bytes
        self.dims: dict[str, int] = {}


def breakdown(incident: Incident, model: dict[str, Any]) -> Breakdown:
    out = Breakdown()
    params = model.get("parameters", {})
    on_gpu = {p: n for p, n in params.get("by_place", {}).items() if split_place(p)[0].startswith("cuda")}
    places = on_gpu or params.get("by_place", {})
    quant = model.get("quantization_config", {}).get("fields", {}) if model.get("quantization_config") else {}
    out.quantized_4bit = bool(model.get("is_loaded_in_4bit") or quant.get("load_in_4bit"))
    for place, count in places.items():
        device, dtype = split_place(place)
        size = count * DTYPE_BYTES.get(dtype, 2)
        label = f"{device} {dtype}" + (" (4-bit packed)" if dtype == "uint8" and out.quantized_4bit else "")
        out.weights[label] = out.weights.get(label, 0) + size
        out.weights_total += size
    out.total_params = int(params.get("total", 0))
    out.trainable = int(params.get("trainable", 0))
    for place, count in params.get("trainable_by_place", {}).items():
        out.trainable_bytes += count * DTYPE_BYTES.get(split_place(place)[1], 4)
    out.optimizer_bytes, out.optimizer_label = _optimizer(incident, out)
    floats = {
        split_place(p)[1]: n for p, n in places.items() if split_place(p)[1] in ("float32", "bfloat16", "float16")
    }
    compute = max(floats, key=lambda dtype: floats[dtype]) if floats else "bfloat16"
    out.elt = 4 if compute == "float32" and not out.quantized_4bit else 2
    out.dims = {k: v for k, v in (model.get("dims") or {}).items() if isinstance(v, int)}
    out.lora_layers = sum(g.get("count", 0) for s, g in (model.get("suffixes") or {}).items() if s == "lora_A")
    config = peft_config_fields(incident)
    out.r = config.get("r") if isinstance(config.get("r"), int) else None
    out.checkpointing = bool(model.get("is_gradient_checkpointing")) or _training_flag(
        incident, "gradient_checkpointing"
    )
    out.batch, out.seq = _batch_shape(incident, out.dims.get("hidden_size"))
    out.lora_din = _lora_input_width(model, out)
    if out.batch and out.seq and out.dims.get("hidden_size") and out.dims.get("num_hidden_layers"):
        out.activations = _activations(out, out.checkpointing)
        out.activations_other_gc = _activations(out, not out.checkpointing)
    return out


DOWN_PROJECTIONS = {"down_proj", "fc2", "dense_4h_to_h", "w2", "wo", "fc_out"}


def _lora_input_width(model: dict[str, Any], b: Breakdown) -> float:
    """Σ d_in over the wrapped layers, from the names of the trainable lora_A weights (down projections read the
    intermediate width), scaled up when the name list was cut short."""
    h, inter = b.dims.get("hidden_size"), b.dims.get("intermediate_size") or b.dims.get("n_inner")
    names = [n for n in model.get("parameters", {}).get("trainable_names", []) if ".lora_A." in n]
    if not names or not h or not b.lora_layers:
        return 0.0
    widths = [(inter or 4 * h) if n.split(".lora_A.")[0].rsplit(".", 1)[-1] in DOWN_PROJECTIONS else h for n in names]
    return sum(widths) * b.lora_layers / len(widths)


def _training_flag(incident: Incident, name: str) -> Any:
    for args in incident.probes.get("training_args", []):
        value = args.get("fields", {}).get(name)
        if value is not None:
            return value
    return None


def _optimizer(incident: Incident, out: Breakdown) -> tuple[float, str]:
    names = [o.get("class", "") for o in incident.probes.get("optimizers", [])]
    optim = str(_training_flag(incident, "optim") or "")
    label = names[0] if names else (optim or "")
    low = label.lower()
    if "8bit" in low or "8bit" in optim:
        return 2.0 * out.trainable, f"{label} (2 × 1 byte per trainable parameter)"
    if "sgd" in low:
        return out.trainable_bytes, f"{label} (momentum: 1 state per trainable parameter, at most)"
    if label:
        return 2 * out.trainable_bytes, f"{label} (2 states per trainable parameter, in its dtype)"
    return 2 * out.trainable_bytes, "AdamW assumed (2 states per trainable parameter)"


def _batch_shape(incident: Incident, hidden: int | None) -> tuple[int | None, int | None]:
    found = tensors(incident)
    for t in found:
        name = t.get("name", "")
        if "input_ids" in name and len(t.get("shape", [])) == 2:
            return t["shape"][0], t["shape"][1]
    for t in found:  # token ids the user built under another name (a corpus, a batch)
        if t.get("user_code") and t.get("dtype") in ("int64", "int32") and len(t.get("shape", [])) == 2:
            return t["shape"][0], t["shape"][1]
    for t in found:
        shape = t.get("shape", [])
        if hidden and len(shape) == 3 and shape[-1] == hidden:
            return shape[0], shape[1]
    batch = _training_flag(incident, "per_device_train_batch_size")
    seq = _training_flag(incident, "max_seq_length") or _training_flag(incident, "max_length")
    return (batch if isinstance(batch, int) else None), (seq if isinstance(seq, int) else None)


def _activations(
    b: Breakdown, checkpointing: bool, batch: int | None = None, seq: int | None = None, r: int | None = None
) -> float:
    """Activation bytes of a training step: the closed form of diagnose.check.memory (the one memory model)."""
    from diagnose.check.memory import Lora, Shape, activations  # dataclasses: kept off explain's start path

    d = b.dims
    shape = Shape.from_dims(d)
    if shape is None:  # the callers check the dims first
        return 0.0
    layers = shape.layers
    rank = r or b.r or 8
    lora_modules = b.lora_layers / layers if b.lora_layers else 0
    d_in = (
        b.lora_din / layers
        if b.lora_din
        else (b.trainable / (2 * (b.r or 8)) / layers)
        if b.trainable and b.lora_layers
        else 0
    )  # Σ d_in per layer
    tokens = (batch or b.batch or 1) * (seq or b.seq or 1)
    return activations(shape, tokens, Lora(d_in, lora_modules, rank, dropout=True), b.elt, checkpointing)


class Saving(NamedTuple):
    title: str
    saved: float
    body: str
    safety: str
    reason: str


def savings(incident: Incident, b: Breakdown, var: str) -> list[Saving]:
    from diagnose.check.memory import NF4_DOUBLE_QUANT

    found: list[Saving] = []
    act = b.activations
    if act and b.batch and b.batch > 1:
        new = max(1, b.batch // 2)
        factor = b.batch // new
        gas = _training_flag(incident, "gradient_accumulation_steps") or 1
        saved = act - _activations(b, b.checkpointing, batch=new)
        found.append(
            Saving(
                f"Batch size {b.batch} → {new} with gradient accumulation ×{factor} (same effective batch)",
                saved,
                f"```python\nTrainingArguments(..., per_device_train_batch_size={new}, "
                f"gradient_accumulation_steps={gas * factor})\n```\nThe effective batch stays {b.batch * gas}; "
                "a step takes longer.",
                "safe",
                "the same effective batch and the same updates, only slower",
            )
        )
    if act and b.seq and b.seq >= 64:
        new_seq = b.seq // 2
        saved = act - _activations(b, b.checkpointing, seq=new_seq)
        found.append(
            Saving(
                f"Sequences of {b.seq} → {new_seq} tokens",
                saved,
                f"Truncate or pack to {new_seq} tokens (`tokenizer(..., truncation=True, max_length={new_seq})`, "
                f"or `max_length={new_seq}` in trl's SFTConfig).",
                "manual",
                "longer texts are cut: the model sees less context per example",
            )
        )
    if act and b.activations_other_gc is not None and not b.checkpointing:
        found.append(
            Saving(
                "Gradient checkpointing",
                act - b.activations_other_gc,
                f'```python\n{var}.activation_checkpointing_enable(activation_checkpointing_kwargs={{"use_reentrant": False}})\n'
                f"{var}.enable_input_require_grads()\n```\nor `TrainingArguments(activation_checkpointing=True)` "
                "(transformers before 5.24: `gradient_checkpointing`).",
                "safe",
                "recomputes activations in backward: the same result, about 20-30% slower",
            )
        )
    if not b.quantized_4bit and b.dims.get("vocab_size") and b.dims.get("hidden_size"):
        embeddings = b.dims["vocab_size"] * b.dims["hidden_size"]
        model = main_model(incident) or {}
        embeddings *= 1 if model.get("model_type") in TIED else 2
        frozen = max(0, b.total_params - b.trainable - embeddings)
        per = (b.weights_total / b.total_params) if b.total_params else 2
        saved = frozen * max(0.0, per - NF4_DOUBLE_QUANT)
        if saved > 0:
            found.append(
                Saving(
                    "Load the base model in 4-bit (QLoRA)",
                    saved,
                    "```python\nfrom transformers import BitsAndBytesConfig\n\n"
                    'bnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,\n'
                    "                         bnb_4bit_compute_dtype=torch.bfloat16)\n"
                    'model = AutoModelForCausalLM.from_pretrained(name, quantization_config=bnb, device_map={"": 0})\n'
                    "model = prepare_model_for_kbit_training(model)\n```\n"
                    f"≈{NF4_DOUBLE_QUANT} bytes per linear weight instead of {per:.2g} (embeddings and norms stay as they are; "
                    "`prepare_model_for_kbit_training` casts those to float32, which gives some back).",
                    "unsafe",
                    "quantizes the frozen weights: results change slightly, and bitsandbytes needs a CUDA GPU",
                )
            )
    if b.optimizer_bytes and "8bit" not in b.optimizer_label.lower():
        saved = b.optimizer_bytes - 2.0 * b.trainable
        found.append(
            Saving(
                "8-bit paged AdamW",
                max(0.0, saved),
                '`TrainingArguments(..., optim="paged_adamw_8bit")` (bitsandbytes): states in 8 bits, paged to CPU '
                "memory under pressure.",
                "safe",
                "the same optimizer with quantized states; a well-tested default for QLoRA",
            )
        )
    if b.r and b.r > 1 and b.trainable:
        new_r = max(1, b.r // 2)
        state = b.trainable_bytes * 2 + b.optimizer_bytes  # params + grads + states
        saved = state * (1 - new_r / b.r)
        if act:
            saved += act - _activations(b, b.checkpointing, r=new_r)
        found.append(
            Saving(
                f"Smaller LoRA rank r={b.r} → {new_r} (small)",
                max(0.0, saved),
                f"`LoraConfig(r={new_r}, lora_alpha=...)`. The adapter is a tiny part of the memory: this saves little "
                "and changes what the adapter can learn.",
                "manual",
                "a different model capacity; results change",
            )
        )
    # a fix that saves nothing for this model is not offered; the rank stays, to show how little it saves
    found = [s for s in found if s.saved >= 2**20 or s.title.startswith("Smaller LoRA rank")]
    return sorted(found, key=lambda s: -s.saved)


def advise(incident: Incident) -> Advice:
    alloc = allocator(incident)
    where = stage(incident)
    model = main_model(incident)
    if model is None:
        return _from_text(incident, alloc, where)
    var = model_var(incident)
    b = breakdown(incident, model)
    findings = []
    rows = [[f"weights {label}", fmt_bytes(size)] for label, size in sorted(b.weights.items(), key=lambda kv: -kv[1])]
    rows.append(
        [f"trainable (LoRA) parameters: {fmt_count(b.trainable)}", fmt_bytes(b.trainable_bytes) + " (in the weights)"]
    )
    rows.append(["gradients", fmt_bytes(b.trainable_bytes)])
    rows.append([f"optimizer: {b.optimizer_label}", fmt_bytes(b.optimizer_bytes)])
    if b.activations is not None:
        gc = "with" if b.checkpointing else "without"
        rows.append(
            [f"activations, batch {b.batch} × {b.seq} tokens, {gc} checkpointing (estimate)", fmt_bytes(b.activations)]
        )
        total = (
            b.weights_total + b.trainable_bytes + b.optimizer_bytes + b.activations
        )  # weights + grads + states + acts
        rows.append(["estimated peak (allocated)", fmt_bytes(total)])
    findings.append(
        Finding(
            title=f"Memory of this run ({_model_label(model)})",
            columns=["what", "size"],
            rows=rows,
            text="Activations are an estimate (closed form for Llama-like decoders, sdpa, unpadded "
            "batches); the rest is counted from your model's parameters."
            if b.activations is not None
            else "The failing batch's shape was not captured, so activations are not estimated.",
        )
    )
    if alloc:
        findings.append(_allocator_finding(alloc, where))
    fixes = []
    for saving in savings(incident, b, var):
        fixes.append(
            FixView(
                title=f"{saving.title}: saves ≈{mib(saving.saved):,.0f} MiB",
                safety=saving.safety,
                safety_reason=saving.reason,
                body=saving.body,
                tailored=True,
            )
        )
    fixes += _fragmentation_fix(alloc)
    params: dict[str, Any] = {
        "model_var": var,
        "batch_size": b.batch,
        "seq_len": b.seq,
        "gradient_checkpointing": b.checkpointing,
        "ranked": [f.title for f in fixes],
    }
    return Advice(findings=findings, fixes=fixes, params=params)


def _model_label(model: dict[str, Any]) -> str:
    dims = model.get("dims") or {}
    parts = [
        model.get("model_type") or model.get("class", "model"),
        f"{fmt_count(model.get('parameters', {}).get('total', 0))} parameters",
    ]
    if dims.get("num_hidden_layers"):
        parts.append(f"{dims['num_hidden_layers']} layers × hidden {dims.get('hidden_size')}")
    return ", ".join(parts)


def _allocator_finding(alloc: Allocator, where: str | None) -> Finding:
    rows = []
    for label, value in (
        ("tried to allocate", alloc.tried),
        ("GPU total", alloc.total),
        ("free", alloc.free),
        ("in use by this process (all)", alloc.process),
        ("allocated by PyTorch", alloc.allocated),
        ("reserved by PyTorch", alloc.reserved),
    ):
        if value is not None:
            rows.append([label, fmt_bytes(value)])
    if alloc.reserved is not None and alloc.allocated is not None:
        rows.append(["reserved but unallocated (fragmentation)", fmt_bytes(alloc.reserved - alloc.allocated)])
    text = f"From the {alloc.source}" + (f", {alloc.device}" if alloc.device else "") + "."
    if where:
        text += f" It ran out during **{where}**."
    if alloc.process is not None and alloc.reserved is not None and alloc.process - alloc.reserved > 2**29:
        text += (
            f" {fmt_bytes(alloc.process - alloc.reserved)} of the process's memory is outside PyTorch's allocator "
            "(CUDA context, cuBLAS workspaces, NCCL buffers, other libraries)."
        )
    return Finding(title="The allocator at the moment of failure", text=text, columns=["", ""], rows=rows)


def _fragmentation_fix(alloc: Allocator | None) -> list[FixView]:
    if alloc is None or alloc.reserved is None or alloc.allocated is None or not alloc.total:
        return []
    gap = alloc.reserved - alloc.allocated
    if gap < 2**30 and gap < 0.05 * alloc.total:
        return []
    return [
        FixView(
            title=f"Reduce fragmentation ({fmt_bytes(gap)} reserved but unallocated)",
            safety="safe",
            safety_reason="changes how the allocator grows its segments; no numerics change",
            body="Before starting Python:\n\n```bash\nexport PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True\n```",
            tailored=True,
        )
    ]


def _from_text(incident: Incident, alloc: Allocator | None, where: str | None) -> Advice:
    findings = []
    if alloc:
        findings.append(_allocator_finding(alloc, where))
    fixes = []
    if where == "loading the model":
        fixes.append(
            FixView(
                title="The weights alone do not fit: load them in 4-bit, or spread them",
                safety="unsafe",
                safety_reason='quantizing changes results slightly; device_map="auto" may offload to CPU and be slow',
                body='```python\nbnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")\n'
                'model = AutoModelForCausalLM.from_pretrained(name, quantization_config=bnb, device_map={"": 0})\n```\n'
                'or `device_map="auto"` to spread the model over the GPUs (and CPU) available.',
                tailored=True,
            )
        )
    fixes.append(
        FixView(
            title="Usual order of effect for LoRA training",
            safety="manual",
            safety_reason="which one fits depends on your model and batch, which were not captured",
            body=(
                "1. Smaller per-device batch with `gradient_accumulation_steps` raised to keep the effective batch.\n"
                "2. Shorter sequences (`max_length`).\n"
                "3. Activation (gradient) checkpointing (`model.activation_checkpointing_enable()` + "
                "`model.enable_input_require_grads()`).\n"
                "4. Load the base model in 4-bit (`BitsAndBytesConfig(load_in_4bit=True)`).\n"
                '5. `optim="paged_adamw_8bit"`.\n'
                "6. A smaller LoRA `r` — the adapter's states are usually ~1% of the peak, so this saves little."
            ),
            tailored=True,
        )
    )
    fixes += _fragmentation_fix(alloc)
    params: dict[str, str | float] = {"model_var": model_var(incident)}
    if alloc and alloc.total:
        params["gpu_total_bytes"] = alloc.total
    return Advice(
        findings=findings,
        fixes=fixes,
        params=params,
        note=text_only_note(
            "the model's parameters and the batch shape were not captured, so the "
            "breakdown and the MiB each fix saves are not computed."
        ),
    )
