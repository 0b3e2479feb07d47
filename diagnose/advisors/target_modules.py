"""target_modules names no layer of this model: say which names it does have.

From a capture: the model's own module names grouped by suffix (what peft
matches on), which of them LoRA can wrap, the closest to each requested name,
peft's default for this model_type and a corrected ``target_modules``.
From text alone: the requested names and, when the text shows the model
class, the usual names for that model type from peft's own mapping.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from diagnose.incident import Incident
from diagnose.libfacts import LORA_WRAPPABLE, model_type_by_class, peft_default_target_modules
from diagnose.report import Advice, Finding, FixView

# Names for the same role across architectures, as module-name suffixes.  A Falcon config's `dense` (its
# attention output) on Mistral is `o_proj`, not the `k_proj` that spelling alone would pick.
ROLES: dict[str, tuple[str, ...]] = {
    "fused-qkv": ("c_attn", "query_key_value", "qkv_proj", "Wqkv", "W_pack", "qkv", "in_proj"),
    "query": ("q_proj", "query", "q", "q_lin"),
    "key": ("k_proj", "key", "k", "k_lin"),
    "value": ("v_proj", "value", "v", "v_lin"),
    "attention-output": ("o_proj", "out_proj", "dense", "c_proj", "o", "out_lin"),
    "mlp-in": ("gate_proj", "up_proj", "gate_up_proj", "fc1", "c_fc", "dense_h_to_4h", "w1", "w3", "wi", "lin1"),
    "mlp-out": ("down_proj", "fc2", "dense_4h_to_h", "w2", "lin2", "c_proj", "wo"),
}
# When the model has no layer of the same role: what stands in for it (separate q/k/v <-> one fused layer).
STAND_INS = {
    "query": ("fused-qkv",),
    "key": ("fused-qkv",),
    "value": ("fused-qkv",),
    "fused-qkv": ("query", "key", "value"),
}
ATTENTION = {n for r in ("fused-qkv", "query", "key", "value", "attention-output") for n in ROLES[r]}
MLP = {n for r in ("mlp-in", "mlp-out") for n in ROLES[r]}
_REQUESTED = re.compile(r"Target modules? (\{.*?\}|\[.*?\]|'[^']*'|\S+) not found in the base model")
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_CLASS = re.compile(
    r"\b([A-Z][A-Za-z0-9]+(?:ForCausalLM|LMHeadModel|ForConditionalGeneration|"
    r"ForSequenceClassification|ForTokenClassification|ForQuestionAnswering|Model))\b"
)
USER_FIELDS = ("r", "lora_alpha", "target_modules", "lora_dropout", "bias", "task_type")


def advise(incident: Incident) -> Advice:
    requested = _requested(incident)
    model = _model_probe(incident)
    if model is None:
        return _from_text(incident, requested)
    return _from_model(incident, model, requested)


def _model_probe(incident: Incident) -> dict[str, Any] | None:
    models = [m for m in incident.probes.get("models", []) if m.get("suffixes")]
    return models[0] if models else None


def _lora_config(incident: Incident) -> dict[str, Any]:
    for config in incident.probes.get("peft_configs", []):
        if "target_modules" in config.get("fields", {}):
            return config["fields"]
    return {}


def _requested(incident: Incident) -> list[str]:
    targets = _lora_config(incident).get("target_modules")
    if isinstance(targets, list):
        return sorted(map(str, targets))
    if isinstance(targets, str):
        return [targets]
    exc = incident.exception
    found = _REQUESTED.search(exc.message if exc else "") or _REQUESTED.search(incident.text)
    if not found:
        return []
    # peft prints a Python set or list of names ({'q_proj', 'v_proj'}), or one bare name; module names
    # hold no quotes, so the quoted strings are the names (no ast: explain starts without it).
    names = {a or b for a, b in _QUOTED.findall(found.group(1))}
    return sorted(names) if names else [found.group(1).strip("'\"")]


def _wrappable(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Suffix groups whose layers LoRA can wrap: what target_modules should name."""
    return {
        suffix: group
        for suffix, group in model["suffixes"].items()
        if group.get("leaf")
        and set(group["types"]) <= LORA_WRAPPABLE
        and not suffix.isdigit()
        and suffix not in ("lm_head", "wte", "wpe", "embed_tokens", "embed_positions", "word_embeddings")
    }


def roles_of(name: str) -> list[str]:
    return [role for role, members in ROLES.items() if name in members]


def closest(name: str, available: list[str]) -> list[str]:
    """Nearest names by role first (Falcon `dense` -> Llama `o_proj`), then stand-ins, then spelling."""
    by_role: list[str] = []
    for role in roles_of(name):
        by_role += [a for a in ROLES[role] if a in available]
    if not by_role:
        for role in roles_of(name):
            for stand_in in STAND_INS.get(role, ()):
                by_role += [a for a in ROLES[stand_in] if a in available]
    if by_role:
        return list(dict.fromkeys(by_role))[:3]
    return difflib.get_close_matches(name, available, n=3, cutoff=0.5)


def _from_model(incident: Incident, model: dict[str, Any], requested: list[str]) -> Advice:
    wrappable = _wrappable(model)
    model_type = model.get("model_type")
    default = peft_default_target_modules().get(model_type or "", [])
    present = [name for name in requested if name in model["suffixes"]]
    missing = [name for name in requested if name not in model["suffixes"]]
    corrected = _corrected(requested, present, wrappable, default)
    label = _label(model)

    rows = []
    for suffix, group in sorted(wrappable.items(), key=lambda kv: kv[1]["example"]):
        types = ", ".join(sorted(group["types"]))
        rows.append(
            [
                f"{suffix} ×{group['count']}",
                types,
                group["example"],
                "✓ in your target_modules" if suffix in requested else ("← suggested" if suffix in corrected else ""),
            ]
        )
    findings = [
        Finding(
            title=f"Your {label} has these LoRA-wrappable layers",
            text=(
                f"peft matches `target_modules` against the end of each module name. "
                f"None of {_names(missing)} is a module name in this model."
                if missing
                else ""
            ),
            columns=["name (suffix ×count)", "layer type", "first full name", ""],
            rows=rows,
        )
    ]
    lines = []
    for name in missing:
        near = closest(name, sorted(wrappable))
        full = f" (e.g. `{wrappable[near[0]]['example']}`)" if near else ""
        lines.append(f"- `{name}` → closest in your model: {_names(near) if near else 'none'}{full}")
    if lines:
        findings.append(Finding(title="Closest names to what you asked for", text="\n".join(lines)))
    if present:
        findings.append(Finding(title="Matched", text=f"These requested names do exist: {_names(present)}."))
    if default:
        findings.append(
            Finding(
                title=f"peft's default for model_type '{model_type}'",
                text=f"`{_py_list(default)}` (peft.utils.constants.TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING); "
                f"leaving target_modules out uses it.",
            )
        )
    corrected_types = {t for s in corrected for t in wrappable.get(s, {}).get("types", {})}
    if "Conv1D" in corrected_types:
        findings.append(
            Finding(
                title="Conv1D layers",
                text="These are transformers' `Conv1D` (weights stored transposed): peft sets "
                "`fan_in_fan_out=True` for them and warns; set it yourself to silence the warning.",
            )
        )
    config_line = _config_line(_lora_config(incident), corrected)
    fix = FixView(
        title=f"Target the layers your {label} really has",
        safety="safe",
        safety_reason="only the LoRA config changes; the model, data and weights are untouched",
        body=f"```python\n{config_line}\n```",
        tailored=True,
    )
    return Advice(findings=findings, fixes=[fix], params={"target_modules": corrected, "config_line": config_line})


def _corrected(requested: list[str], present: list[str], wrappable: dict[str, Any], default: list[str]) -> list[str]:
    if default and all(name in wrappable for name in default):
        picked = list(default)
    else:
        picked = list(present)
        for name in requested:
            if name not in present:
                picked += closest(name, sorted(wrappable))[:1]
    return list(dict.fromkeys(p for p in picked if p in wrappable)) or sorted(wrappable)[:2]


def _label(model: dict[str, Any]) -> str:
    kind = model.get("model_type") or model.get("class", "model")
    pretty = {
        "gpt2": "GPT-2",
        "llama": "Llama",
        "qwen2": "Qwen2",
        "opt": "OPT",
        "mistral": "Mistral",
        "gpt_neox": "GPT-NeoX",
        "bloom": "BLOOM",
        "falcon": "Falcon",
        "phi": "Phi",
        "gemma": "Gemma",
        "t5": "T5",
        "bert": "BERT",
        "roberta": "RoBERTa",
    }.get(kind, kind)
    return (
        f"{pretty} ({model['class']})"
        if model.get("class") and "Peft" not in model["class"] and model["class"] != "LoraModel"
        else pretty
    )


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "—"


def _config_line(fields: dict[str, Any], corrected: list[str]) -> str:
    if not fields:
        return f"target_modules={corrected!r}".replace("'", '"')
    args = []
    for name in USER_FIELDS:
        value = corrected if name == "target_modules" else fields.get(name)
        if value is None or (name == "bias" and value == "none" and "bias" not in fields):
            continue
        args.append(f"{name}={value!r}".replace("'", '"'))
    return f"lora_config = LoraConfig({', '.join(args)})"


_MODELING_FILE = re.compile(r"transformers/models/(\w+)/modeling_\1\.py")
_CONFIG_MODEL_TYPE = re.compile(r"""["']?model_type["']?\s*[:=]\s*["'](\w+)["']""")
_PART_CLASS = re.compile(r"\b([A-Z][A-Za-z0-9]*?)(?:Attention|SdpaAttention|DecoderLayer|MLP|Block|RMSNorm)\(")


def architecture_in_text(text: str) -> tuple[str, str] | None:
    """(what showed it, model_type) from a traceback or log: a model class, a modeling file in the frames,
    a printed config's model_type, or a module class in a printed model (MistralAttention)."""
    classes = model_type_by_class()
    for name in dict.fromkeys(_CLASS.findall(text)):
        if name in classes:
            return name, classes[name]
    known = set(classes.values())
    for pattern, label in ((_MODELING_FILE, "modeling_{}.py in the traceback"), (_CONFIG_MODEL_TYPE, "the config")):
        for model_type in pattern.findall(text):
            if model_type in known:
                return label.format(model_type), model_type
    for prefix in dict.fromkeys(_PART_CLASS.findall(text)):
        for suffix in ("ForCausalLM", "Model"):
            if prefix + suffix in classes:
                return f"{prefix} modules in the printed model", classes[prefix + suffix]
    return None


def _from_text(incident: Incident, requested: list[str]) -> Advice:
    shown = architecture_in_text(incident.text)
    model_type = shown[1] if shown else None
    default = peft_default_target_modules().get(model_type or "", [])
    findings = []
    if requested:
        findings.append(Finding(title="You asked for", text=f"target_modules = {_names(requested)}"))
    if default and shown:
        findings.append(
            Finding(
                title=f"Usual names for {shown[0]} (model_type '{model_type}')",
                text=f"peft's own default for '{model_type}' is `{default}`. Check them against "
                f"`[n for n, _ in model.named_modules()]` before training.",
            )
        )
    fixes = []
    if default:
        fixes.append(
            FixView(
                title=f"Use the {model_type} names peft itself uses",
                safety="safe",
                safety_reason="only the LoRA config changes; the model, data and weights are untouched",
                body=f"```python\ntarget_modules={default!r}\n```".replace("'", '"'),
                tailored=True,
            )
        )
    return Advice(
        findings=findings,
        fixes=fixes,
        params={"target_modules": default} if default else {},
        note="From the text alone: the model's own module names were not captured. "
        "Run the script under `diagnose run` to see them listed.",
    )


def _py_list(names: list[str]) -> str:
    return "[" + ", ".join(f'"{n}"' for n in names) + "]"
