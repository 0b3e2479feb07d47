"""Questions parameterised by the user's own incident.

A :class:`Template` reads an incident's probes (the JSON dict the capture hook
wrote) and, when they hold what it needs, yields *parameters*; ``build`` turns
parameters into an ordinary :class:`QuizQuestion` whose answer is computed
from them.  The card of a parameterised question is keyed by the template id
(stable across incidents) and keeps the parameters it was last asked with, so a
later review asks about the same config.

Probe shape used here (DESIGN.md, "Probes")::

    {"peft_configs": [{"class": "LoraConfig",
                       "fields": {"r": 8, "lora_alpha": 16, "use_rslora": false, ...}}]}

To add a template: write ``extract`` (probes → params or None, never raising
on odd probes) and ``build`` (params → QuizQuestion), register it in
``TEMPLATES`` and add a test in tests/test_quiz_truth.py that checks the
computed answer against the real library.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from diagnose.kb.schema import QuizQuestion


@dataclass(frozen=True)
class Template:
    id: str
    extract: Callable[[Mapping[str, Any]], dict | None]
    build: Callable[[Mapping[str, Any]], QuizQuestion]
    entry: str = ""  # the KB entry (error family) whose diagnosis computed what the question uses


def facts_of(probes: Mapping[str, Any] | None, message: str | None = None) -> dict[str, Any]:
    """What templates read: an incident's probes, plus the final exception's message when known."""
    facts = dict(probes) if isinstance(probes, Mapping) else {}
    if message and isinstance(message, str):
        facts["exception_message"] = message[:4000]
    return facts


def message_of(report: Mapping[str, Any] | None) -> str | None:
    """The exception message a stored report recorded."""
    try:
        return report["incident"]["exception"]["message"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def lora_config_fields(probes: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``fields`` of every LoRA config in the probes, in order."""
    found: list[Mapping[str, Any]] = []
    configs = probes.get("peft_configs") if isinstance(probes, Mapping) else None
    if not isinstance(configs, list):
        return found
    for config in configs:
        if not isinstance(config, Mapping):
            continue
        fields = config.get("fields")
        if not isinstance(fields, Mapping):
            continue
        cls = str(config.get("class", ""))
        if cls == "LoraConfig" or (not cls and "lora_alpha" in fields):
            found.append(fields)
    return found


# ---------------------------------------------------------------- LoRA scaling


def scaling_factor(params: Mapping[str, Any]) -> float:
    """What peft's LoraLayer.update_layer sets as ``scaling``: alpha/r, or alpha/sqrt(r) with rsLoRA."""
    r, alpha = float(params["r"]), float(params["lora_alpha"])
    return alpha / math.sqrt(r) if params.get("use_rslora") else alpha / r


def _scaling_extract(probes: Mapping[str, Any]) -> dict | None:
    for fields in lora_config_fields(probes):
        r, alpha = _number(fields.get("r")), _number(fields.get("lora_alpha"))
        if r is None or alpha is None or r <= 0:
            continue
        if fields.get("rank_pattern") or fields.get("alpha_pattern"):
            continue  # per-layer overrides: no single factor to ask about
        return {
            "r": int(r) if r.is_integer() else r,
            "lora_alpha": int(alpha) if alpha.is_integer() else alpha,
            "use_rslora": bool(fields.get("use_rslora", False)),
        }
    return None


def _scaling_build(params: Mapping[str, Any]) -> QuizQuestion:
    r, alpha, rslora = params["r"], params["lora_alpha"], bool(params.get("use_rslora"))
    factor = _show(scaling_factor(params))
    formula = "lora_alpha / sqrt(r)" if rslora else "lora_alpha / r"
    worked = f"{alpha} / sqrt({r})" if rslora else f"{alpha} / {r}"
    setting = f"r={r}, lora_alpha={alpha}" + (", use_rslora=True" if rslora else "")
    return QuizQuestion(
        id=SCALING_ID,
        kind="open",
        question=(
            f"Your LoraConfig had {setting}. By what factor does PEFT multiply the LoRA "
            f"update (B·A·x) before adding it to the frozen layer's output?"
        ),
        answer=f"{factor}: PEFT scales the update by {formula} = {worked} = {factor}.",
        concepts=[factor],
        hint="The factor is the `scaling` a LoRA layer stores; it combines lora_alpha and r.",
        explanation=(
            "A LoRA layer computes W·x + scaling·B·A·x. Raising lora_alpha raises the update's "
            "weight in proportion; raising r at a fixed lora_alpha lowers it (by sqrt(r) with rsLoRA). "
            "Changing either after training changes how strongly the learned update acts."
        ),
    )


SCALING_ID = "your-lora-scaling-factor"


# ---------------------------------------------------------------- helpers over probes


def _models(facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    models = facts.get("models")
    return [m for m in models if isinstance(m, Mapping)] if isinstance(models, list) else []


def _message(facts: Mapping[str, Any]) -> str:
    message = facts.get("exception_message")
    return message if isinstance(message, str) else ""


_WRAPPABLE = {"Linear", "Conv1D", "Conv1d", "Conv2d", "Conv3d", "Embedding", "Linear4bit", "Linear8bitLt"}
_ATTENTION_HINTS = ("qkv", "c_attn", "query_key_value", "q_proj", "query", "wqkv", "Wqkv")


def _leaf_layers(model: Mapping[str, Any]) -> list[tuple[str, int, str, str]]:
    """(name, count, class, example full name) of the model's wrappable leaf layers, by suffix."""
    out: list[tuple[str, int, str, str]] = []
    suffixes = model.get("suffixes")
    if not isinstance(suffixes, Mapping):
        return out
    for name, info in suffixes.items():
        if not isinstance(info, Mapping) or not info.get("leaf") or name.startswith(("lora_", "base_layer")):
            continue
        types = info.get("types")
        types = types if isinstance(types, Mapping) else {}
        cls = next((t for t in types if t in _WRAPPABLE), None)
        if cls is None or cls == "Embedding" or name in ("lm_head", "score", "classifier"):
            continue
        out.append((str(name), int(info.get("count") or 0), cls, str(info.get("example", name))))
    return out


def _requested_targets(facts: Mapping[str, Any]) -> list[str]:
    for fields in lora_config_fields(facts):
        targets = fields.get("target_modules")
        if isinstance(targets, list) and all(isinstance(t, str) for t in targets):
            return [str(t) for t in targets]
    found = re.search(r"Target modules \{([^}]*)\}", _message(facts))
    return sorted(re.findall(r"'([^']+)'", found.group(1))) if found else []


def _model_name(model: Mapping[str, Any]) -> str:
    kind = model.get("model_type")
    names = {"gpt2": "GPT-2", "llama": "Llama", "opt": "OPT", "bert": "BERT", "mistral": "Mistral", "qwen2": "Qwen2"}
    return names.get(str(kind), str(kind)) if kind else "model"


# ---------------------------------------------------------------- target_modules: your attention layer

ATTENTION_ID = "your-attention-layer"


def _attention_extract(facts: Mapping[str, Any]) -> dict | None:
    for model in _models(facts):
        layers = _leaf_layers(model)
        attention = [layer for layer in layers if any(h in layer[0] for h in _ATTENTION_HINTS)]
        if len(attention) != 1 or len(layers) < 2:
            continue
        others = [layer for layer in layers if layer is not attention[0]][:3]
        return {
            "model": _model_name(model),
            "attention": list(attention[0]),
            "others": [list(layer) for layer in others],
            "requested": _requested_targets(facts)[:4],
        }
    return None


def _attention_build(params: Mapping[str, Any]) -> QuizQuestion:
    name, count, cls, example = params["attention"]
    others = [tuple(layer) for layer in params["others"]]
    listing = ", ".join(f"{n} ×{c}" for n, c, _, _ in [(name, count, cls, example), *others])
    requested = params.get("requested") or []
    asked = f" and your target_modules asked for {', '.join(requested)}" if requested else ""
    why_wrong = {}
    for other, _, _, other_example in others:
        where = "sits in the MLP block" if "mlp" in other_example else "is another projection (an output one)"
        why_wrong[other] = f"{other} ({other_example}) {where}; it does not compute attention's query, key and value."
    return QuizQuestion(
        id=ATTENTION_ID,
        kind="choice",
        question=(
            f"Your {params['model']} has these LoRA-wrappable layers: {listing}{asked}. "
            "Which one computes attention's query, key and value, the layer to target for attention?"
        ),
        choices=[name, *[o[0] for o in others]],
        answer=name,
        why_wrong=why_wrong,
        hint="Look at the full names: which layer sits inside the attention block and projects its input?",
        explanation=(
            f"{name} ({cls}, e.g. {example}) is the attention's input projection. PEFT matches target_modules "
            "against the end of each module name, so only names this model really has can match."
        ),
    )


# ---------------------------------------------------------------- unsupported target: which one was refused

UNSUPPORTED_ID = "your-unsupported-target"


def _unsupported_extract(facts: Mapping[str, Any]) -> dict | None:
    found = re.search(r"Target module (\w+)\(", _message(facts))
    if not found:
        return None
    cls = found.group(1)
    requested = _requested_targets(facts)
    for model in _models(facts):
        suffixes = model.get("suffixes")
        suffixes = suffixes if isinstance(suffixes, Mapping) else {}
        refused = [t for t in requested if isinstance(suffixes.get(t), Mapping) and cls in suffixes[t].get("types", {})]
        if refused:
            return {"refused": refused[0], "class": cls, "requested": requested[:5]}
    return None


def _unsupported_build(params: Mapping[str, Any]) -> QuizQuestion:
    refused, cls = params["refused"], params["class"]
    return QuizQuestion(
        id=UNSUPPORTED_ID,
        kind="open",
        question=(
            f"Your target_modules were {', '.join(params['requested'])}. Which one did PEFT refuse, what kind of "
            "layer is it, and why can LoRA not adapt it?"
        ),
        answer=(
            f"{refused}: a {cls}. LoRA adds a low-rank update B·A to a weight matrix; a {cls} has no weight "
            "matrix to add it to (a LayerNorm only holds a scale and a bias vector)."
        ),
        concepts=[refused, cls, "weight matrix"],
        synonyms={"weight matrix": ["matrix", "2d weight", "no matrix", "vector"]},
        hint="The error names the module's class; what does LoRA add its update to?",
        explanation="PEFT wraps Linear, Conv1D, Conv and Embedding layers: the layers that multiply by a matrix.",
    )


# ---------------------------------------------------------------- pad token: your tokenizer's next id

PAD_ID = "your-pad-token-id"


def _pad_extract(facts: Mapping[str, Any]) -> dict | None:
    tokenizers = facts.get("tokenizers")
    if not isinstance(tokenizers, list):
        return None
    for tokenizer in tokenizers:
        if not isinstance(tokenizer, Mapping) or tokenizer.get("pad_token") is not None:
            continue
        size = _number(tokenizer.get("len"))
        if size is None or size < 2:
            continue
        return {"len": int(size), "eos_token": str(tokenizer.get("eos_token") or "")}
    return None


def _pad_build(params: Mapping[str, Any]) -> QuizQuestion:
    size = params["len"]
    eos = f" and its eos_token is {params['eos_token']!r}" if params.get("eos_token") else ""
    return QuizQuestion(
        id=PAD_ID,
        kind="open",
        question=(
            f"Your tokenizer has {size} tokens (len(tokenizer)){eos}. If you add a dedicated "
            "'[PAD]' with tokenizer.add_special_tokens, which id does it get, and what must you do to the model "
            "before training?"
        ),
        answer=(
            f"Id {size} (ids run from 0 to {size - 1}, a new token comes next). The embedding table has no row "
            f"for it yet: call model.resize_token_embeddings(len(tokenizer)), now {size + 1}."
        ),
        concepts=[str(size), "resize_token_embeddings"],
        synonyms={"resize_token_embeddings": ["resize the embeddings", "resize embeddings", "resize token embeddings"]},
        hint="Ids start at 0. Does the model's embedding table grow by itself?",
        explanation=(
            "Reusing the eos token as pad needs no new row but masks eos out of the labels with the default "
            "collator; a new pad token needs a new embedding row."
        ),
    )


# ---------------------------------------------------------------- dtype: what element-wise would have done

DTYPE_ID = "your-dtype-pair"
_DTYPE_NAMES = {"BFloat16": "bfloat16", "Float": "float32", "Half": "float16", "Double": "float64"}
_WIDTH = {"float16": 16, "bfloat16": 16, "float32": 32, "float64": 64}


def _dtype_extract(facts: Mapping[str, Any]) -> dict | None:
    found = re.search(r"got (\w+) and (\w+)", _message(facts)) or re.search(
        r"\((\w+)\) and bias type \((\w+)\)|found dtype (\w+) but expected (\w+)", _message(facts)
    )
    if not found:
        return None
    names = [_DTYPE_NAMES.get(g, g.lower()) for g in found.groups() if g]
    if len(names) != 2 or names[0] == names[1] or not all(n in _WIDTH for n in names):
        return None
    return {"a": names[0], "b": names[1]}


def promoted(a: str, b: str) -> str:
    """torch.promote_types for the floating dtypes here (bfloat16 with float16 gives float32)."""
    if {a, b} == {"bfloat16", "float16"}:
        return "float32"
    return max((a, b), key=lambda name: _WIDTH[name])


def _dtype_build(params: Mapping[str, Any]) -> QuizQuestion:
    a, b = params["a"], params["b"]
    result = promoted(a, b)
    choices = [
        f"A {result} result: element-wise ops promote to a common dtype; matmul and F.linear do not",
        f"The same error: torch never mixes {a} and {b}",
        f"A {a} result, the dtype of the first operand",
        "A float16 result, to save memory",
    ]
    if result == "float16":
        choices[3] = "A float32 result, the default dtype"
    return QuizQuestion(
        id=DTYPE_ID,
        kind="choice",
        question=(
            f"Your matmul got {a} and {b} and refused. What would an element-wise product `x * w` of a {a} tensor "
            f"and a {b} tensor have given?"
        ),
        choices=choices,
        answer=choices[0],
        why_wrong={
            choices[1]: "Element-wise ops (+, *, torch.add) follow type promotion; only matmul-like kernels refuse.",
            choices[2]: "The operand order does not decide the dtype; type promotion picks the wider one.",
            choices[3]: "Type promotion never narrows to save memory; it picks a dtype that holds both.",
        },
        hint="torch.promote_types answers this for element-wise ops.",
        explanation=(
            "Element-wise arithmetic promotes (torch.result_type); matmul, mm, bmm and F.linear require equal "
            "dtypes and raise. Cast one side (.to(dtype)) or run the forward under torch.autocast."
        ),
    )


# ---------------------------------------------------------------- CUDA OOM: what halving r saves in your run

OOM_ID = "your-rank-halving-savings"


def _oom_extract(facts: Mapping[str, Any]) -> dict | None:
    for model in _models(facts):
        counts = model.get("parameters")
        if not isinstance(counts, Mapping):
            continue
        trainable, total = _number(counts.get("trainable")), _number(counts.get("total"))
        if not trainable or not total or trainable >= total or not model.get("is_peft"):
            continue
        return {"trainable": int(trainable), "total": int(total)}
    return None


def _mib(value: float) -> str:
    return f"{value / 2**20:.3g}"


def _oom_build(params: Mapping[str, Any]) -> QuizQuestion:
    trainable, total = params["trainable"], params["total"]
    saved = trainable / 2 * 16  # fp32 weight + grad + two AdamW moments: 16 bytes per trainable parameter
    return QuizQuestion(
        id=OOM_ID,
        kind="open",
        question=(
            f"Your model trains {trainable:,} of its {total:,} parameters (LoRA). With float32 LoRA weights and "
            "AdamW (weight, gradient and two moments: 16 bytes per trainable parameter), about how many MiB does "
            "halving r save, and what holds the rest of the memory?"
        ),
        answer=(
            f"About {_mib(saved)} MiB ({trainable // 2:,} parameters × 16 bytes). The frozen base weights "
            "and the activations are unchanged by r: they are what fills the GPU."
        ),
        concepts=[_mib(saved), "base weights", "activations"],
        synonyms={
            "base weights": ["frozen weights", "base model", "model weights", "frozen model"],
            "activations": ["activation", "sequence length", "batch size", "batch"],
        },
        hint="Halving r halves the LoRA parameters. What in memory does not depend on r?",
        explanation=(
            "LoRA state is small next to the frozen weights and the activations; smaller batches, shorter "
            "sequences, gradient checkpointing or 4-bit base weights are what free memory."
        ),
    )


# ---------------------------------------------------------------- missing attribute: the object you held

ATTRIBUTE_ID = "your-missing-attribute"


def _attribute_extract(facts: Mapping[str, Any]) -> dict | None:
    found = re.search(r"'(\w+)' object has no attribute '(\w+)'", _message(facts))
    if not found or "Peft" in found.group(1):
        return None
    return {"cls": found.group(1), "attribute": found.group(2)}


def _attribute_build(params: Mapping[str, Any]) -> QuizQuestion:
    cls, attribute = params["cls"], params["attribute"]
    return QuizQuestion(
        id=ATTRIBUTE_ID,
        kind="open",
        question=(
            f"Your run called `.{attribute}` on a {cls}. Which object has that method, and how does your "
            "script get hold of it?"
        ),
        answer=(
            f"A PeftModel has it; get_peft_model returns one (a wrapper around your {cls}). Assign the "
            "return value: model = get_peft_model(model, config)."
        ),
        concepts=["PeftModel", "return value"],
        synonyms={
            "PeftModel": ["peft model", "peft wrapper", "wrapper"],
            "return value": ["returns", "assign", "model = get_peft_model", "returned"],
        },
        hint="Is get_peft_model an in-place call?",
        explanation="get_peft_model wraps the model and returns the wrapper; the variable you had still names the bare model.",
    )


# ---------------------------------------------------------------- adapter size mismatch: read your shapes

SHAPES_ID = "your-adapter-shapes"


def _shapes_extract(facts: Mapping[str, Any]) -> dict | None:
    found = re.search(
        r"size mismatch for ([\w.]+?lora_([AB])[\w.]*): copying a param with shape torch\.Size\(\[(\d+), (\d+)\]\)"
        r" from checkpoint, the shape in current model is torch\.Size\(\[(\d+), (\d+)\]\)",
        _message(facts),
    )
    if not found:
        return None
    which = found.group(2)
    saved = [int(found.group(3)), int(found.group(4))]
    current = [int(found.group(5)), int(found.group(6))]
    rank_axis = 0 if which == "A" else 1
    if saved[rank_axis] == current[rank_axis]:
        return None  # the width differs, not the rank
    return {"which": which, "saved": saved, "current": current, "rank_axis": rank_axis}


def _shapes_build(params: Mapping[str, Any]) -> QuizQuestion:
    which, saved, current, axis = params["which"], params["saved"], params["current"], params["rank_axis"]
    return QuizQuestion(
        id=SHAPES_ID,
        kind="open",
        question=(
            f"Your checkpoint's lora_{which} is {saved} and your model expects {current}. Which LoraConfig "
            "setting differs, and what was it when the adapter was trained and now?"
        ),
        answer=(
            f"The rank r: {saved[axis]} when the adapter was trained, {current[axis]} now "
            f"(lora_{which} is {'[r, in_features]' if which == 'A' else '[out_features, r]'})."
        ),
        concepts=["rank", str(saved[axis]), str(current[axis])],
        synonyms={"rank": ["r=", " r ", "lora rank"]},
        hint="lora_A is [r, in_features]; lora_B is [out_features, r].",
        explanation="Load an adapter with the LoraConfig saved beside it (PeftModel.from_pretrained reads it).",
    )


# ---------------------------------------------------------------- device mismatch: where your parameters are

PLACES_ID = "your-parameter-places"


def _device_counts(places: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for place, count in places.items():
        number = _number(count)
        if number is not None and isinstance(place, str):
            device = place.split("/", 1)[0]
            out[device] = out.get(device, 0) + int(number)
    return out


def _places_extract(facts: Mapping[str, Any]) -> dict | None:
    for model in _models(facts):
        counts = model.get("parameters")
        if not isinstance(counts, Mapping) or not isinstance(counts.get("by_place"), Mapping):
            continue
        devices = _device_counts(counts["by_place"])
        trainable = _device_counts(counts.get("trainable_by_place") or {})
        if len(devices) != 2:
            continue
        odd = min(devices, key=lambda d: devices[d])  # the few parameters that are not where the rest are
        main = max(devices, key=lambda d: devices[d])
        if odd == main:
            continue
        return {"devices": devices, "trainable": trainable, "odd": odd, "main": main}
    return None


def _places_build(params: Mapping[str, Any]) -> QuizQuestion:
    devices, trainable, odd, main = params["devices"], params["trainable"], params["odd"], params["main"]
    listing = ", ".join(f"{count:,} on {device}" for device, count in devices.items())
    odd_trainable = trainable.get(odd, 0) == devices[odd] and devices[odd] > 0
    who = "trainable (LoRA)" if odd_trainable else "frozen"
    answer = f"The {devices[odd]:,} {who} parameters, on {odd}"
    choices = [
        answer,
        f"The {devices[main]:,} {'frozen' if odd_trainable else 'trainable'} parameters, on {main}",
        f"All of them: the model is on {odd}",
        "None: only the input tensors can be on another device",
    ]
    meta = odd == "meta"
    return QuizQuestion(
        id=PLACES_ID,
        kind="choice",
        question=f"Your model's parameters sit on two devices: {listing}. Which parameters are the odd ones out?",
        choices=choices,
        answer=answer,
        why_wrong={
            choices[1]: f"Those are the bulk of the model, on {main}, where everything else is.",
            choices[2]: f"Only {devices[odd]:,} of the parameters are on {odd}; the rest are on {main}.",
            choices[3]: "Parameters can sit on different devices too; your run's own counts say where they are.",
        },
        hint="Compare the two counts, and which of them the optimizer trains.",
        explanation=(
            "A meta parameter has a shape and no data: it was created empty (low_cpu_mem_usage, "
            "init_empty_weights) and never loaded."
            if meta
            else f"One operation needs all its tensors on one device: move the odd ones with .to({main!r})."
        ),
    )


# ---------------------------------------------------------------- nothing trainable: empty optimizer, no grad_fn

TRAINABLE_ID = "your-trainable-count"


def _trainable_extract(facts: Mapping[str, Any]) -> dict | None:
    for model in _models(facts):
        counts = model.get("parameters")
        if not isinstance(counts, Mapping):
            continue
        trainable, total = _number(counts.get("trainable")), _number(counts.get("total"))
        if trainable == 0 and total:
            return {"total": int(total), "peft": bool(model.get("is_peft")), "cls": str(model.get("class", "model"))}
    return None


def _trainable_build(params: Mapping[str, Any]) -> QuizQuestion:
    total = params["total"]
    lora = " including its LoRA weights," if params.get("peft") else ""
    return QuizQuestion(
        id=TRAINABLE_ID,
        kind="open",
        question=(
            f"Your {params['cls']} had {total:,} parameters and 0 of them trainable when the error came:{lora} "
            "every one had requires_grad=False. What follows for the optimizer and for loss.backward(), and "
            "which flag brings the LoRA weights back?"
        ),
        answer=(
            "Nothing is trainable, so an optimizer over trainable parameters gets an empty list and the loss has "
            "no autograd graph (no grad_fn). The LoRA weights need requires_grad=True again: get_peft_model sets "
            "it, PeftModel.from_pretrained(..., is_trainable=True) keeps it, and a freezing loop must run before "
            "wrapping."
        ),
        concepts=["empty", "no grad_fn", "requires_grad"],
        synonyms={
            "empty": ["empty parameter list", "no parameters", "nothing to optimize", "nothing to train"],
            "no grad_fn": ["no graph", "grad_fn", "no autograd graph", "no gradient"],
            "requires_grad": ["requires grad", "is_trainable", "trainable"],
        },
        hint="What does an optimizer get from a filter on requires_grad when nothing requires grad?",
        explanation="get_peft_model freezes the base and leaves the LoRA weights trainable; check with "
        "model.print_trainable_parameters().",
    )


TRAINABLE_NO_GRAD_ID = "your-trainable-count-backward"


def _trainable_build_no_grad(params: Mapping[str, Any]) -> QuizQuestion:
    """The same question after a no-grad_fn diagnosis (its own card: the two families are learnt apart)."""
    return dataclasses.replace(_trainable_build(params), id=TRAINABLE_NO_GRAD_ID)


# ---------------------------------------------------------------- fp16 unscale: your float16 trainable weights

FP16_ID = "your-fp16-trainable"


def _fp16_extract(facts: Mapping[str, Any]) -> dict | None:
    for model in _models(facts):
        counts = model.get("parameters")
        places = counts.get("trainable_by_place") if isinstance(counts, Mapping) else None
        if not isinstance(places, Mapping):
            continue
        half = sum(int(n) for place, n in places.items() if str(place).endswith("/float16") and _number(n))
        if half and isinstance(counts, Mapping):
            return {"fp16": half, "trainable": int(_number(counts.get("trainable")) or half)}
    return None


def _fp16_build(params: Mapping[str, Any]) -> QuizQuestion:
    half, trainable = params["fp16"], params["trainable"]
    return QuizQuestion(
        id=FP16_ID,
        kind="open",
        question=(
            f"In your run {half:,} of the {trainable:,} trainable parameters were float16. Which dtype must "
            "trainable parameters have for GradScaler to unscale their gradients, and why?"
        ),
        answer=(
            "float32: the scaler multiplies the loss so small float16 gradients survive, then divides the "
            "gradients back before the step; that unscaling (and the optimizer update) needs float32 gradients "
            "and weights. The frozen base may stay float16."
        ),
        concepts=["float32", "loss scaling"],
        synonyms={
            "float32": ["fp32", "full precision"],
            "loss scaling": ["scales the loss", "multiplies the loss", "scaled", "scaler", "unscale"],
        },
        hint="The scaler divides the gradients by the scale before the optimizer step.",
        explanation="model.half() after get_peft_model turns the LoRA weights into float16; do not call it.",
    )


# ---------------------------------------------------------------- cuda unavailable: your torch build

TORCH_BUILD_ID = "your-torch-build"


def _torch_build_extract(facts: Mapping[str, Any]) -> dict | None:
    versions = facts.get("versions")
    torch_version = versions.get("torch") if isinstance(versions, Mapping) else None
    if not isinstance(torch_version, str) or "+" not in torch_version:
        return None
    return {"torch": torch_version}


def _torch_build_build(params: Mapping[str, Any]) -> QuizQuestion:
    version = params["torch"]
    local = version.split("+", 1)[1]
    cpu = local == "cpu"
    answer = (
        f"A CPU-only build: '+{local}' is the build tag, and this torch has no CUDA code, whatever GPU is installed"
        if cpu
        else f"A CUDA build ('+{local}'): it can use a GPU when the driver and a device are there"
    )
    choices = [
        answer,
        "A debug build of torch that runs slower",
        "A build for this machine's CPU model only",
        "A nightly build of torch",
    ]
    return QuizQuestion(
        id=TORCH_BUILD_ID,
        kind="choice",
        question=f"Your run used torch {version}. What does the part after '+' say about this torch?",
        choices=choices,
        answer=answer,
        why_wrong={
            choices[1]: "The local version tag names the compute platform (cpu, cu121, rocm6.0), not a debug build.",
            choices[2]: "Wheels are built for a CPU architecture (x86_64, arm64), named in the file name, not here.",
            choices[3]: "Nightlies carry .dev<date> in the version; '+' starts the compute platform tag.",
        },
        hint="pip's wheel index for torch names builds cpu, cu121, cu124, rocm…",
        explanation=(
            "torch.version.cuda is None in a CPU build; install the CUDA wheel from the index matching your "
            "driver to use a GPU."
        ),
    )


# ---------------------------------------------------------------- embedding index: your table's rows

ROWS_ID = "your-embedding-rows"


def _rows_extract(facts: Mapping[str, Any]) -> dict | None:
    rows = None
    for model in _models(facts):
        dims = model.get("dims")
        if isinstance(dims, Mapping) and _number(dims.get("vocab_size")):
            rows = int(dims["vocab_size"])
            break
    tokenizers = facts.get("tokenizers")
    size = None
    if isinstance(tokenizers, list):
        for tokenizer in tokenizers:
            if isinstance(tokenizer, Mapping) and _number(tokenizer.get("len")):
                size = int(tokenizer["len"])
                break
    if rows is None or size is None or size <= rows:
        return None
    return {"rows": rows, "len": size}


def _rows_build(params: Mapping[str, Any]) -> QuizQuestion:
    rows, size = params["rows"], params["len"]
    return QuizQuestion(
        id=ROWS_ID,
        kind="open",
        question=(
            f"Your model's embedding table has {rows} rows and your tokenizer {size} tokens (len(tokenizer)). "
            "Which token ids fail the lookup, and which call fixes the table?"
        ),
        answer=(
            f"Ids {rows} to {size - 1}: rows run from 0 to {rows - 1}. "
            f"model.resize_token_embeddings(len(tokenizer)) grows the table to {size} rows."
        ),
        concepts=[str(rows), "resize_token_embeddings"],
        synonyms={"resize_token_embeddings": ["resize the embeddings", "resize embeddings", "resize token embeddings"]},
        hint="Row numbers start at 0.",
        explanation="Tokens added to a tokenizer get new ids; the model's table does not grow by itself.",
    )


# ---------------------------------------------------------------- CPU OOM: your one allocation

BYTES_ID = "your-allocation-size"


def _bytes_extract(facts: Mapping[str, Any]) -> dict | None:
    found = re.search(r"you tried to allocate (\d+) bytes", _message(facts))
    if not found or int(found.group(1)) < 2**30:
        return None
    return {"bytes": int(found.group(1))}


def _bytes_build(params: Mapping[str, Any]) -> QuizQuestion:
    size = params["bytes"]
    gib = size / 2**30
    shown = f"{gib:.4g}"
    return QuizQuestion(
        id=BYTES_ID,
        kind="open",
        question=(
            f"Your run asked for {size:,} bytes in one allocation. How many GiB is that, and why does it fail "
            "with an error instead of the process being killed?"
        ),
        answer=(
            f"{shown} GiB ({size:,} / 2**30). One request that large is refused at once, so torch raises an "
            "error; the OOM killer only strikes when memory that was granted is used up."
        ),
        concepts=[shown, "single allocation"],
        synonyms={"single allocation": ["one allocation", "one request", "refused", "at once", "up front"]},
        hint="1 GiB is 2**30 = 1,073,741,824 bytes.",
        explanation="A tensor's bytes are its element count times its element size: look for a shape that squares.",
    )


TEMPLATES: dict[str, Template] = {
    ATTENTION_ID: Template(ATTENTION_ID, _attention_extract, _attention_build, "peft-target-modules-not-found"),
    UNSUPPORTED_ID: Template(
        UNSUPPORTED_ID, _unsupported_extract, _unsupported_build, "peft-unsupported-target-module"
    ),
    PAD_ID: Template(PAD_ID, _pad_extract, _pad_build, "pad-token-missing"),
    DTYPE_ID: Template(DTYPE_ID, _dtype_extract, _dtype_build, "dtype-mismatch"),
    OOM_ID: Template(OOM_ID, _oom_extract, _oom_build, "cuda-out-of-memory"),
    ATTRIBUTE_ID: Template(ATTRIBUTE_ID, _attribute_extract, _attribute_build, "peft-model-missing-attribute"),
    SHAPES_ID: Template(SHAPES_ID, _shapes_extract, _shapes_build, "adapter-size-mismatch"),
    PLACES_ID: Template(PLACES_ID, _places_extract, _places_build, "device-mismatch"),
    TRAINABLE_ID: Template(TRAINABLE_ID, _trainable_extract, _trainable_build, "empty-optimizer"),
    TRAINABLE_NO_GRAD_ID: Template(TRAINABLE_NO_GRAD_ID, _trainable_extract, _trainable_build_no_grad, "no-grad-fn"),
    FP16_ID: Template(FP16_ID, _fp16_extract, _fp16_build, "fp16-unscale"),
    TORCH_BUILD_ID: Template(TORCH_BUILD_ID, _torch_build_extract, _torch_build_build, "cuda-unavailable"),
    ROWS_ID: Template(ROWS_ID, _rows_extract, _rows_build, "embedding-index-out-of-range"),
    BYTES_ID: Template(BYTES_ID, _bytes_extract, _bytes_build, "cpu-out-of-memory"),
    # About any LoRA config, of no one error family: asked in `diagnose quiz`, not offered after a diagnosis.
    SCALING_ID: Template(SCALING_ID, _scaling_extract, _scaling_build),
}


def from_probes(
    probes: Mapping[str, Any] | None, entry_ids: Sequence[str] | None = None
) -> list[tuple[Template, dict]]:
    """Every template these facts (probes, plus ``exception_message``) can fill, with its parameters.

    ``entry_ids``: only templates of these entries (a run's diagnoses), in that order, then those of no entry.
    """
    if not isinstance(probes, Mapping):
        return []
    chosen = list(TEMPLATES.values())
    if entry_ids is not None:
        chosen = [t for entry in entry_ids for t in chosen if t.entry == entry] + [t for t in chosen if not t.entry]
    out = []
    for template in chosen:
        try:
            params = template.extract(probes)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            params = None  # odd probes from another version: no question, never a crash
        if params is not None:
            out.append((template, params))
    return out


def build(template_id: str, params: Mapping[str, Any]) -> QuizQuestion | None:
    """The question of a stored card; None when the template or its params are gone."""
    template = TEMPLATES.get(template_id)
    if template is None:
        return None
    try:
        return template.build(params)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
