"""The static half of ``diagnose check``: known LoRA mistakes read from the script's source.

The script is parsed with libcst (never executed); this is the whole check
when the dry run (diagnose/check/_child.py) cannot run, and adds what the dry
run does not see (a pad token used later, a method called on the wrong
variable). These are looked for:

* ``load_in_8bit=`` / ``load_in_4bit=`` passed to ``from_pretrained``
  (bnb-quantization-args: transformers 5 rejects them there);
* ``LoraConfig(target_modules=[...])`` names that the model loaded by
  ``from_pretrained`` does not have, when that model is a local folder with a
  ``config.json`` (the model is built on the meta device from the config --
  no weights are read -- to list its real module names; peft's default names
  for its ``model_type`` are the fallback);
* a tokenizer used with padding and no pad token set, when the tokenizer is a
  local folder whose files show it has none (pad-token-missing);
* ``print_trainable_parameters`` (and other PeftModel methods) called on a
  variable that holds the transformers model, not the PeftModel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from diagnose.errors import UsageError
from diagnose.patches._cst import PatchError, Script, call_name, dotted, keyword, string_value

PADDING_COLLATORS = (
    "DataCollatorWithPadding",
    "DataCollatorForLanguageModeling",
    "DataCollatorForSeq2Seq",
    "DataCollatorForTokenClassification",
)
NOT_TARGETS = {"lm_head", "wte", "wpe", "embed_tokens", "embed_positions", "word_embeddings"}
NO_PAD_FAMILIES = ("llama", "mistral", "gpt2", "falcon", "gpt-neo", "gptj", "gpt-j", "mpt")


@dataclass
class CheckFinding:
    id: str  # the KB entry id this mistake leads to
    line: int
    column: int
    message: str
    fix: str

    def text(self, name: str) -> str:
        return f"{name}:{self.line}:{self.column}: {self.id}: {self.message}\n    fix: {self.fix}"


def read_script(path: Path) -> Script:
    """The parsed script; a missing, unreadable, binary or unparsable one is a UsageError (exit 2)."""
    if not path.is_file():
        raise UsageError(f"diagnose check: no such script: {path}")
    try:
        source = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise UsageError(f"diagnose check: cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"diagnose check: {path} is not UTF-8 text") from None
    try:
        return Script(source, path.name)
    except PatchError as error:
        raise UsageError(f"diagnose check: {error}") from None


def check_file(path: Path) -> list[CheckFinding]:
    return check_script(read_script(path), path)


def check_script(script: Script, path: Path, target_modules: bool = True) -> list[CheckFinding]:
    """Every static check; ``target_modules=False`` leaves out the one that builds the model (it imports torch),
    for when the dry run's real get_peft_model answers it."""
    findings = _quantization_args(script) + _pad_token(script, path) + _peft_methods(script) + _config_types(script)
    if target_modules:
        findings += static_target_modules(script, path)
    return sorted(findings, key=lambda f: (f.line, f.column))


def _where(script: Script, node: cst.CSTNode) -> tuple[int, int]:
    span = script._positions[node]
    return span.start.line, span.start.column + 1


# --------------------------------------------------------------------- config value types


def _config_types(script: Script) -> list[CheckFinding]:
    """Config keywords whose value has the wrong type (``lora_dropout=os.environ.get(...)`` is a str)."""
    from diagnose.advisors.config_type import static_mistyped

    return [
        CheckFinding(
            "config-value-wrong-type",
            m.line or 1,
            m.column or 1,
            f"{m.config}({m.field}=...) is given a {m.actual}; {m.config} declares {m.declared} and does not "
            f"convert it (it fails later, inside the library)",
            f"{m.field}={m.expected}(...)" + (f"  # {m.value!r} -> {m.expected}" if m.value is not None else ""),
        )
        for m in static_mistyped(script.module.code)
    ]


# --------------------------------------------------------------------- bnb


def _quantization_args(script: Script) -> list[CheckFinding]:
    from diagnose.patches.quantization import TRIGGERS, quantized_loads

    found = []
    for call in quantized_loads(script):
        for name in TRIGGERS:
            arg = keyword(call, name)
            if arg is not None:
                line, column = _where(script, arg)
                found.append(
                    CheckFinding(
                        "bnb-quantization-args",
                        line,
                        column,
                        f"{name}= passed directly to {call_name(call)}; transformers 5 no longer accepts it there "
                        f"(it reaches the model's __init__: TypeError)",
                        f"quantization_config=BitsAndBytesConfig({name}=True) (from transformers import "
                        f"BitsAndBytesConfig)",
                    )
                )
    return found


# --------------------------------------------------------------------- target_modules


def _string(script: Script, node: cst.BaseExpression, before_line: int) -> str | None:
    """The model name a from_pretrained argument spells: a literal, a variable set to one,
    or the string handed to a helper such as ``model_dir("gpt2")``."""
    value = string_value(node)
    if value is not None:
        return value
    if isinstance(node, cst.Name):
        assigns = script.assignments(node.value, before_line=before_line)
        if assigns:
            return _string(script, assigns[-1].value, before_line)
    if isinstance(node, cst.Call) and node.args:
        return string_value(node.args[0].value)
    return None


def _model_type_from_name(name: str) -> str | None:
    """'meta-llama/Llama-2-7b-hf' -> 'llama', 'gpt2' -> 'gpt2': the longest model_type the name starts with."""
    from diagnose.libfacts import peft_default_target_modules

    squashed = "".join(ch for ch in name.rsplit("/", 1)[-1].lower() if ch.isalnum())
    known = [t for t in peft_default_target_modules() if squashed.startswith(t.replace("_", "").replace("-", ""))]
    return max(known, key=len) if known else None


def _local_folder(name: str | None, path: Path) -> Path | None:
    if not name:
        return None
    for base in (Path.cwd(), path.resolve().parent):
        folder = (base / name).expanduser()
        if folder.is_dir():
            return folder
    return None


def _loaded_model(script: Script, path: Path) -> tuple[Path | str, str] | None:
    """(local model folder, or a model_type guessed from a hub name; the Auto class) of the
    first from_pretrained that loads a model."""
    for call in script.calls(lambda c: call_name(c).endswith("from_pretrained")):
        name = call_name(call)
        if "Tokenizer" in name or "Peft" in name or "Config" in name or not call.args:
            continue
        auto_class = name.rsplit(".", 1)[0].rsplit(".", 1)[-1]
        model_name = _string(script, call.args[0].value, script.lines(call)[0])
        folder = _local_folder(model_name, path)
        if folder is not None and (folder / "config.json").is_file():
            return folder, auto_class
        model_type = _model_type_from_name(model_name) if model_name else None
        if model_type:
            return model_type, auto_class
    return None


def _model_modules(folder: Path | str, auto_class: str) -> tuple[str, dict[str, set[str]]] | None:
    """model_type and {suffix: {layer types}} of the model in ``folder``, built on the meta device.

    ``folder`` may instead be a model_type guessed from a hub name: the module names of an
    architecture do not depend on its sizes, so its default config stands in for the real one.
    """
    guessed = isinstance(folder, str)
    try:
        model_type = (
            folder if guessed else json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
        )
    except (OSError, ValueError):
        return None
    try:
        import torch
        import transformers

        config = (
            transformers.AutoConfig.for_model(model_type)
            if guessed
            else transformers.AutoConfig.from_pretrained(str(folder))
        )
        factory = getattr(transformers, auto_class, None)
        if factory is None or not hasattr(factory, "from_config"):
            factory = transformers.AutoModelForCausalLM
        with torch.device("meta"):
            model = factory.from_config(config)
    except Exception:  # noqa: BLE001 - any failure to build it: fall back to peft's names below
        return (model_type, {}) if model_type else None
    suffixes: dict[str, set[str]] = {}
    for name, module in model.named_modules():
        if name:
            suffix = name.rsplit(".", 1)[-1]
            kind = type(module).__name__ if not module._modules else "container"
            suffixes.setdefault(suffix, set()).add(kind)
    return model_type, suffixes


def static_target_modules(script: Script, path: Path) -> list[CheckFinding]:
    from diagnose.libfacts import LORA_WRAPPABLE, peft_default_target_modules
    from diagnose.patches.target_modules import CONFIG_CLASSES, _literal, _resolve

    configs = []
    for call in script.calls(lambda c: call_name(c).rsplit(".", 1)[-1] in CONFIG_CLASSES):
        arg = keyword(call, "target_modules")
        value = _resolve(script, arg.value, script.lines(call)[0]) if arg is not None else None
        names = _literal(value) if value is not None else None
        if names:
            configs.append((call, arg, names))
    if not configs:
        return []
    loaded = _loaded_model(script, path)
    if loaded is None:
        return []
    built = _model_modules(*loaded)
    if built is None:
        return []
    model_type, suffixes = built
    default = peft_default_target_modules().get(model_type or "", [])
    found = []
    for _call, arg, names in configs:
        line, column = _where(script, arg)
        if suffixes:
            wrappable = sorted(
                s
                for s, kinds in suffixes.items()
                if kinds <= LORA_WRAPPABLE and not s.isdigit() and s not in NOT_TARGETS
            )
            missing = [n for n in names if n not in suffixes]
            containers = [n for n in names if n in suffixes and not suffixes[n] <= LORA_WRAPPABLE]
            suggestion = default or wrappable[:4]
            if missing and len(missing) == len(names):
                found.append(
                    CheckFinding(
                        "peft-target-modules-not-found",
                        line,
                        column,
                        f"target_modules {names} names no module of this {model_type} model "
                        f"({_model_label(loaded[0])}); its LoRA-wrappable layers are {wrappable}",
                        f"target_modules={suggestion}",
                    )
                )
            elif missing:
                found.append(
                    CheckFinding(
                        "peft-target-modules-not-found",
                        line,
                        column,
                        f"{missing} in target_modules are not module names of this {model_type} model "
                        f"(peft ignores them as long as another name matches)",
                        f"drop them, or use the model's layers: {wrappable}",
                    )
                )
            if containers:
                found.append(
                    CheckFinding(
                        "peft-unsupported-target-module",
                        line,
                        column,
                        f"{containers} are container modules of this {model_type} model, not layers LoRA can wrap",
                        f"name the layers inside them instead, e.g. target_modules={suggestion}",
                    )
                )
        elif default and not set(names) & set(default):
            found.append(
                CheckFinding(
                    "peft-target-modules-not-found",
                    line,
                    column,
                    f"none of {names} is among peft's default target modules for {model_type} ({default}); "
                    f"check them against [n for n, _ in model.named_modules()]",
                    f"target_modules={default}",
                )
            )
    return found


def _model_label(model: Path | str) -> str:
    return model.name if isinstance(model, Path) else f"architecture guessed from the model's name: {model}"


# --------------------------------------------------------------------- pad token


def _tokenizer_has_pad(folder: Path) -> bool | None:
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            return None
        if data.get("pad_token"):
            return True
    return False if (folder / "tokenizer_config.json").exists() else None


def _pads(script: Script, variable: str) -> list[cst.CSTNode]:
    """Places that need a pad token: tokenizer(..., padding=…), tokenizer.pad(...), padding collators."""
    uses = []
    for call in script.calls():
        name = call_name(call)
        if name == variable:
            arg = keyword(call, "padding")
            if (
                arg is not None
                and not (isinstance(arg.value, cst.Name) and arg.value.value == "False")
                and string_value(arg.value) not in ("do_not_pad",)
            ):
                uses.append(arg)
        elif name == f"{variable}.pad":
            uses.append(call)
        elif name.rsplit(".", 1)[-1] in PADDING_COLLATORS:
            if any(dotted(a.value) == variable for a in call.args):
                uses.append(call)
    return uses


def _pad_token(script: Script, path: Path) -> list[CheckFinding]:
    from diagnose.patches.pad_token import is_tokenizer_load, sets_pad_token

    found = []
    for assign in script.walk(cst.Assign):
        if not is_tokenizer_load(assign.value) or not assign.value.args:
            continue
        targets = [t.target.value for t in assign.targets if isinstance(t.target, cst.Name)]
        if not targets or sets_pad_token(script, targets[0]):
            continue
        variable = targets[0]
        source = _string(script, assign.value.args[0].value, script.lines(assign)[0])
        folder = _local_folder(source, path)
        if folder is not None:
            if _tokenizer_has_pad(folder) is not False:
                continue
            why = f"the tokenizer in {folder.name} has no pad token"
        elif source and any(family in source.lower() for family in NO_PAD_FAMILIES):
            why = f"{source} tokenizers ship without a pad token"
        else:
            continue
        uses = _pads(script, variable)
        if uses:
            line, column = _where(script, uses[0])
            found.append(
                CheckFinding(
                    "pad-token-missing",
                    line,
                    column,
                    f"{variable} pads here but {why}: ValueError 'Asking to pad but the tokenizer does not have a "
                    f"padding token'",
                    f"{variable}.pad_token = {variable}.eos_token after line {script.lines(assign)[0]}",
                )
            )
    return found


# --------------------------------------------------------------------- PeftModel methods


def _is_peft_value(value: cst.BaseExpression) -> bool | None:
    """True for a PeftModel-making call, False for a transformers model, None when unknown."""
    if not isinstance(value, cst.Call):
        return None
    name = call_name(value)
    last = name.rsplit(".", 1)[-1]
    if last == "get_peft_model" or "Peft" in name:
        return True
    if last in ("prepare_model_for_kbit_training",) or (
        last in ("from_pretrained", "from_config") and "Model" in name and "Peft" not in name
    ):
        return False
    return None


def _peft_methods(script: Script) -> list[CheckFinding]:
    from diagnose.patches.peft_model import PEFT_ONLY

    found = []
    for attribute in script.walk(cst.Attribute):
        if attribute.attr.value not in PEFT_ONLY or not isinstance(attribute.value, cst.Name):
            continue
        variable = attribute.value.value
        line = script.lines(attribute)[0]
        assigns = script.assignments(variable, before_line=line)
        if not assigns or _is_peft_value(assigns[-1].value) is not False:
            continue
        wraps = [
            c
            for c in script.calls(lambda c: call_name(c).rsplit(".", 1)[-1] == "get_peft_model")
            if c.args and dotted(c.args[0].value) == variable and script.lines(c)[0] < line
        ]
        hint = _peft_method_hint(script, variable, attribute.attr.value, wraps[-1] if wraps else None)
        where_line, column = _where(script, attribute)
        found.append(
            CheckFinding(
                "peft-model-missing-attribute",
                where_line,
                column,
                f"{variable}.{attribute.attr.value}: {variable} holds the transformers model "
                f"(line {script.lines(assigns[-1])[0]}), which has no {attribute.attr.value}; "
                f"the PeftModel has it",
                hint,
            )
        )
    return found


def _peft_method_hint(script: Script, variable: str, method: str, wrap: cst.Call | None) -> str:
    """The same advice as the diagnosis and its patch: call it on the PeftModel the script already has."""
    if wrap is None:
        return f"wrap it first: {variable} = get_peft_model({variable}, <your LoraConfig>)"
    parent = script.parent(wrap)
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
        peft_variable = parent.targets[0].target.value
        if peft_variable != variable:
            return f"call it on the PeftModel: {peft_variable}.{method}(...)"
    config = script.module.code_for_node(wrap.args[1].value) if len(wrap.args) > 1 else "..."
    return f"{variable} = get_peft_model({variable}, {config}) keeps the PeftModel it returns"
