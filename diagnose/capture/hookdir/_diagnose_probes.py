"""Probes of live objects in the failing frames (runs inside the user's process).

Every probe reads structure only -- names, types, shapes, devices, dtypes,
counts, config fields -- never tensor values or user data.  Libraries are
found in ``sys.modules``; nothing heavy is imported.  Each probe is isolated:
one that raises or runs past the deadline is dropped, the others stay.

Probes have no side effects: attributes are read with ``_static`` (the
instance's own value, never a property, lazy attribute or ``__getattr__``),
because library properties warn or log -- transformers' ``config.torch_dtype``
logs a deprecation *once*, so evaluating it would both print into the user's
stderr and swallow the message their own code would print later.
"""

import dataclasses
import enum
import inspect
import os
import re
import sys
import types

MAX_MODELS = 3
MAX_MODULE_NAMES = 3000
MAX_SUFFIX_GROUPS = 500
MAX_ATTRIBUTE_NAMES = 1500
MAX_TENSORS = 40
MAX_VARIABLE_NAMES = 4
MAX_PLACE_MODULES = 8
MAX_FRAME_MODULES = 6
# config attributes that size a model (activations, memory); transformers'
# attribute_map makes hidden_size etc. work for GPT-2's n_embd too.
CONFIG_DIMS = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "vocab_size",
    "max_position_embeddings",
    "n_inner",
    "torch_dtype",
    "dtype",
)
USER_FRAMES_FOR_TENSORS = 3
SIMPLE = (int, float, str, bool, type(None))
LIBRARIES = ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "trl", "datasets", "deepspeed")


def _qual(cls):
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", "?")
    return name if module == "builtins" else module + "." + name


def _is_library_file(filename):
    return "site-packages" in filename or "dist-packages" in filename or filename.startswith("<")


_MISSING = object()
# C-level descriptors read a field (a __slots__ member, tensor.shape): no Python code runs
_FIELD_DESCRIPTORS = (types.MemberDescriptorType, types.GetSetDescriptorType)


def _static(obj, name, default=None):
    """``obj.name`` when it is stored data, else ``default``; never runs the object's code.

    The instance's own value (its ``__dict__``, or for an nn.Module its
    submodules, parameters and buffers, as ``Module.__getattr__`` finds them),
    a C field, or a plain class attribute.  Properties, cached properties and
    ``__getattr__`` are not evaluated.
    """
    try:
        value = inspect.getattr_static(obj, name, _MISSING)
        if value is _MISSING:
            own = _instance_dict(obj)
            for table in ("_modules", "_parameters", "_buffers"):
                stored = own.get(table)
                if isinstance(stored, dict) and name in stored:
                    return stored[name]
            return default
        if value is _instance_dict(obj).get(name, _MISSING):
            return value
        if isinstance(value, _FIELD_DESCRIPTORS):
            return value.__get__(obj, type(obj))
        if hasattr(type(value), "__get__") or hasattr(type(value), "__set__"):
            return default  # a property, cached property or method: it would run code
        return value
    except BaseException:  # noqa: BLE001
        return default


def _instance_dict(obj):
    try:
        own = object.__getattribute__(obj, "__dict__")
    except BaseException:  # noqa: BLE001 - no __dict__ (slots), or a hostile object
        return {}
    return own if isinstance(own, dict) else {}


def _frame_values(frame):
    """(name, value) pairs of a frame's locals, read without triggering user code."""
    try:
        return list(frame.f_locals.items())
    except BaseException:  # noqa: BLE001
        return []


def probe_all(exc, frames, deadline):
    torch = sys.modules.get("torch")
    probes = {"versions": _versions(), "distributed": _distributed(torch)}
    steps = [
        ("models", lambda: _models(frames, torch, deadline)),
        ("peft_configs", lambda: _peft_configs(frames, probes.get("models", []))),
        ("tensors", lambda: _tensors(frames, torch, deadline)),
        ("tokenizers", lambda: _tokenizers(frames)),
        ("optimizers", lambda: _optimizers(frames, torch)),
        ("attribute_error", lambda: _attribute_error(exc)),
        ("callables", lambda: _callables(frames)),
        ("training_args", lambda: _training_args(frames)),
        ("config_types", lambda: _config_types(frames)),
        ("cuda", lambda: _cuda(torch)),
    ]
    for key, probe in steps:
        if deadline.passed():
            probes["deadline_passed"] = True
            break
        try:
            value = probe()
        except BaseException as error:  # noqa: BLE001 - one failed probe must not lose the others
            probes.setdefault("errors", {})[key] = "%s: %s" % (type(error).__name__, str(error)[:200])
            continue
        if value:
            probes[key] = value
    return probes


def _versions():
    found = {}
    for name in LIBRARIES:
        module = sys.modules.get(name)
        version = _static(module, "__version__") if module else None
        if isinstance(version, str):
            found[name] = version
    found["python"] = "%d.%d.%d" % sys.version_info[:3]
    return found


def _distributed(torch):
    info = {k.lower(): os.environ[k] for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE") if k in os.environ}
    try:
        dist = _static(torch, "distributed") if torch else None
        if dist is not None and dist.is_available() and dist.is_initialized():
            info["backend"] = str(dist.get_backend())
    except BaseException:  # noqa: BLE001
        pass
    return info


# --------------------------------------------------------------------------- models


def _models(frames, torch, deadline):
    if torch is None:
        return []
    module_cls = torch.nn.Module
    candidates, seen = [], set()
    for frame in frames:
        for _, value in _frame_values(frame):
            if isinstance(value, module_cls) and id(value) not in seen:
                seen.add(id(value))
                candidates.append(value)
    # Biggest first: the whole model before its layers; skip what is inside a probed model.
    # Counting gets a small slice of the budget, so that probing the model itself has time.
    counting = _SubDeadline(deadline, 0.15)
    # On a tie (a PeftModel and the base model it wraps) the wrapper, which holds the other, comes first.
    candidates.sort(key=lambda m: (-_param_count(m, counting), not _qual(type(m)).startswith("peft.")))
    probed, inside = [], set()
    in_frames = _frame_modules(frames, module_cls)
    for model in candidates:
        if len(probed) >= MAX_MODELS or (probed and deadline.passed()):
            break
        if id(model) in inside:
            continue
        probe = _model_probe(model, inside, deadline, in_frames)
        names = _user_names(frames, model)
        if names:
            probe["variables"] = names
        probed.append(probe)
    return probed


def _frame_modules(frames, module_cls):
    """id -> depth of the modules that are ``self`` in the traceback's frames (where the failing op ran)."""
    found = {}
    for depth, frame in enumerate(frames[: MAX_FRAME_MODULES * 4]):
        try:
            value = frame.f_locals.get("self")
        except BaseException:  # noqa: BLE001
            continue
        if isinstance(value, module_cls) and id(value) not in found:
            found[id(value)] = depth
            if len(found) >= MAX_FRAME_MODULES:
                break
    return found


def _module_places(module):
    """device/dtype -> parameter count of one module (its own subtree), bounded."""
    places = {}
    for i, p in enumerate(module.parameters()):
        if i >= 64:
            break
        place = "%s/%s" % (p.device, str(p.dtype).replace("torch.", ""))
        places[place] = places.get(place, 0) + p.numel()
    return places


def _user_frames(frames):
    return [f for f in frames if not _is_library_file(f.f_code.co_filename)]


def _user_names(frames, obj):
    """Names bound to ``obj`` in the user's own frames, innermost first (what a patch edits)."""
    names = []
    for frame in _user_frames(frames):
        for name, value in _frame_values(frame):
            if value is obj and name not in names and not name.startswith("_"):
                names.append(name)
                if len(names) >= MAX_VARIABLE_NAMES:
                    return names
    return names


class _SubDeadline:
    def __init__(self, parent, seconds):
        import time

        self._time = time.monotonic
        self.end = min(parent.end, self._time() + seconds)

    def passed(self):
        return self._time() > self.end


def _param_count(module, deadline):
    total = 0
    for i, p in enumerate(module.parameters()):
        total += p.numel()
        if i % 512 == 0 and deadline.passed():
            break
    return total


def _model_probe(model, inside, deadline, in_frames=None):
    config = _model_config(model)
    probe = {
        "class": type(model).__name__,
        "qualname": _qual(type(model)),
        "is_peft": _qual(type(model)).startswith("peft."),
        "model_type": _static(config, "model_type") if config is not None else None,
        "name_or_path": _static(config, "_name_or_path") if config is not None else None,
    }
    modules, groups, count, frame_modules = [], {}, 0, []
    checkpointing = False  # what transformers' is_gradient_checkpointing computes, without its deprecation warning
    for name, module in model.named_modules():
        if in_frames and id(module) in in_frames and len(frame_modules) < MAX_FRAME_MODULES:
            frame_modules.append(
                {
                    "name": name,
                    "class": type(module).__name__,
                    "depth": in_frames[id(module)],
                    "places": _module_places(module),
                }
            )
        count += 1
        inside.add(id(module))
        checkpointing = checkpointing or _static(module, "gradient_checkpointing") is True
        if count % 256 == 0 and deadline.passed():
            probe["modules_truncated"] = True
            break
        if not name:
            continue
        type_name = type(module).__name__
        is_leaf = not module._modules
        if len(modules) < MAX_MODULE_NAMES:
            modules.append([name, type_name, is_leaf])
        suffix = name.rsplit(".", 1)[-1]
        if suffix.isdigit():
            suffix = "#"  # positions in a ModuleList/Sequential: one group, not one per index
        if suffix not in groups and len(groups) >= MAX_SUFFIX_GROUPS:
            probe["suffixes_truncated"] = True
            continue
        group = groups.setdefault(suffix, {"count": 0, "types": {}, "leaf": is_leaf, "example": name})
        group["count"] += 1
        if type_name in group["types"] or len(group["types"]) < 20:
            group["types"][type_name] = group["types"].get(type_name, 0) + 1
    probe["module_count"] = count
    probe["is_gradient_checkpointing"] = checkpointing
    if frame_modules:
        probe["frame_modules"] = sorted(frame_modules, key=lambda m: m["depth"])
    probe["modules"] = modules
    probe["suffixes"] = groups
    probe["parameters"] = _parameter_summary(model, deadline)
    if config is not None:
        dims = _config_dims(config)
        if dims:
            probe["dims"] = dims
    peft_config = _peft_config(model)
    if isinstance(peft_config, dict):
        probe["peft_config"] = {str(k): _config_fields(v) for k, v in list(peft_config.items())[:4]}
    for attr in ("is_loaded_in_8bit", "is_loaded_in_4bit"):
        value = _static(model, attr)
        if isinstance(value, bool):
            probe[attr] = value
    device_map = _static(model, "hf_device_map")
    if isinstance(device_map, dict):
        probe["hf_device_map"] = {str(k): str(v) for k, v in list(device_map.items())[:200]}
    quant = _static(config, "quantization_config") if config is not None else None
    if quant is not None:
        probe["quantization_config"] = _config_fields(quant)
    return probe


def _model_config(model):
    """The transformers config: on the model, or on the model a PeftModel/LoraModel wraps (their
    ``__getattr__`` forwards ``config`` to it)."""
    for _ in range(4):
        config = _static(model, "config")
        if config is not None or model is None:
            return config
        model = _static(model, "base_model") or _static(model, "model")
    return None


def _peft_config(model):
    """The adapters' configs: a LoraModel holds them; a PeftModel's property reads its base model's."""
    for holder in (model, _static(model, "base_model")):
        for name in ("peft_config", "_peft_config"):
            found = _static(holder, name)
            if isinstance(found, dict):
                return found
    return None


def _config_dims(config):
    dims = {}
    aliases = _static(config, "attribute_map")  # GPT-2's hidden_size is stored as n_embd
    aliases = aliases if isinstance(aliases, dict) else {}
    for name in CONFIG_DIMS:
        value = _static(config, aliases.get(name, name))
        if isinstance(value, int) and not isinstance(value, bool):
            dims[name] = value
        elif value is not None and type(value).__name__ == "dtype":
            dims[name] = str(value).replace("torch.", "")
        elif isinstance(value, str) and name in ("torch_dtype", "dtype"):
            dims[name] = value[:20]
    return dims


def _parameter_summary(model, deadline):
    total = trainable = 0
    by_place, trainable_by_place, trainable_names = {}, {}, []
    place_modules = {}  # place -> {"tensors": n, "modules": [first owning module names]}
    for i, (name, p) in enumerate(model.named_parameters()):
        n = p.numel()
        place = "%s/%s" % (p.device, str(p.dtype).replace("torch.", ""))
        total += n
        by_place[place] = by_place.get(place, 0) + n
        seen_place = place_modules.setdefault(place, {"tensors": 0, "modules": []})
        seen_place["tensors"] += 1
        owner = name.rsplit(".", 1)[0] if "." in name else name
        if len(seen_place["modules"]) < MAX_PLACE_MODULES and owner not in seen_place["modules"]:
            seen_place["modules"].append(owner)
        if p.requires_grad:
            trainable += n
            trainable_by_place[place] = trainable_by_place.get(place, 0) + n
            if len(trainable_names) < 200:
                trainable_names.append(name)
        if i % 512 == 0 and deadline.passed():
            return {
                "total": total,
                "trainable": trainable,
                "by_place": by_place,
                "truncated": True,
                "place_modules": place_modules,
            }
    return {
        "total": total,
        "trainable": trainable,
        "by_place": by_place,
        "trainable_by_place": trainable_by_place,
        "trainable_names": trainable_names,
        "place_modules": place_modules,
    }


def _config_fields(config):
    """Stored fields of a config object: a dataclass's fields, else its public instance attributes.

    A private ``_x`` behind a property ``x`` (BitsAndBytesConfig's ``_load_in_4bit``)
    is reported as ``x``, read from the field rather than through the property.
    """
    fields = {}
    if dataclasses.is_dataclass(config):
        names = [(f.name, f.name) for f in dataclasses.fields(config)]
    else:
        names = []
        for stored in list(_instance_dict(config))[:400]:
            public = stored[1:] if stored.startswith("_") and not stored.startswith("__") else stored
            if public == stored or isinstance(inspect.getattr_static(type(config), public, None), property):
                names.append((public, stored))
    for name, stored in names[:200]:
        simple = _simple(_static(config, stored))
        if simple is not _SKIP:
            fields[name] = simple
    return {"class": type(config).__name__, "qualname": _qual(type(config)), "fields": fields}


_SKIP = object()


def _simple(value, depth=0):
    """JSON-safe structural values (config fields); anything else is dropped."""
    if isinstance(value, SIMPLE):
        return value if not isinstance(value, str) else value[:300]
    if depth < 2 and isinstance(value, (list, tuple, set, frozenset)):
        items = [_simple(v, depth + 1) for v in list(value)[:100]]
        items = [v for v in items if v is not _SKIP]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if depth < 2 and isinstance(value, dict):
        out = {}
        for k, v in list(value.items())[:100]:
            v = _simple(v, depth + 1)
            if v is not _SKIP:
                out[str(k)] = v
        return out
    if isinstance(value, enum.Enum) and isinstance(_static(value, "_value_"), str):
        return _static(value, "_value_")  # enums such as peft's TaskType
    if type(value).__name__ == "dtype":
        return str(value)
    return _SKIP


def _peft_configs(frames, models):
    found, seen = [], set()
    for frame in frames:
        for name, value in _frame_values(frame):
            if id(value) in seen or not dataclasses.is_dataclass(value) or isinstance(value, type):
                continue
            if not _qual(type(value)).startswith("peft."):
                continue
            seen.add(id(value))
            probe = _config_fields(value)
            probe["variable"] = name
            found.append(probe)
    for model in models:
        for adapter, probe in (model.get("peft_config") or {}).items():
            found.append(dict(probe, adapter=adapter))
    return found[:10]


# --------------------------------------------------------------------------- tensors


def _tensors(frames, torch, deadline):
    if torch is None:
        return []
    tensor_cls = torch.Tensor
    # The innermost frames, where the failing operation saw its inputs, and the
    # innermost frames of user code, where the user can act.
    chosen = list(frames[:USER_FRAMES_FOR_TENSORS])
    user = [f for f in frames if not _is_library_file(f.f_code.co_filename)][:USER_FRAMES_FOR_TENSORS]
    chosen += [f for f in user if f not in chosen]
    found = []
    for frame in chosen:
        for name, value in _frame_values(frame):
            candidates = [(name, value)]
            if isinstance(value, dict):  # a tokenized batch: {"input_ids": tensor, ...}
                # a batch has a few tensors; a state_dict has thousands and must not crowd out the rest
                candidates = [("%s[%r]" % (name, k), v) for k, v in list(value.items())[:6]]
            for label, item in candidates:
                if isinstance(item, tensor_cls) and len(found) < MAX_TENSORS:
                    found.append(
                        {
                            "name": label,
                            "frame": frame.f_code.co_name,
                            "file": os.path.basename(frame.f_code.co_filename),
                            "user_code": frame in user,
                            "shape": list(item.shape),
                            "dtype": str(item.dtype).replace("torch.", ""),
                            "device": str(item.device),
                            "requires_grad": bool(item.requires_grad),
                            "grad_fn": type(item.grad_fn).__name__ if item.grad_fn is not None else None,
                        }
                    )
        if deadline.passed():
            break
    return found


# --------------------------------------------------------------------------- others


def _tokenizers(frames):
    found, seen = [], set()
    for frame in frames:
        for name, value in _frame_values(frame):
            cls_names = [k.__name__ for k in type(value).__mro__]
            if "PreTrainedTokenizerBase" not in cls_names and "TokenizersBackend" not in cls_names:
                continue
            if id(value) in seen:
                continue
            seen.add(id(value))
            found.append(
                {
                    "variable": name,
                    "class": type(value).__name__,
                    "pad_token": _special(value, "pad_token"),
                    "eos_token": _special(value, "eos_token"),
                    "unk_token": _special(value, "unk_token"),
                    "vocab_size": _backend_vocab(value, with_added_tokens=False),
                    "len": _backend_vocab(value, with_added_tokens=True),
                    "padding_side": _static(value, "padding_side"),
                    "user_variables": _user_names(frames, value),
                }
            )
    return found[:4]


def _special(tokenizer, attr):
    """A special token as stored: transformers 5 keeps them in ``_special_tokens_map``, 4.x in ``_pad_token``...

    Not through the attribute: for an unset token that logs "Using pad_token, but it is not set yet."
    """
    table = _static(tokenizer, "_special_tokens_map")
    value = table.get(attr) if isinstance(table, dict) else _static(tokenizer, "_" + attr)
    try:
        return None if value is None else str(value)[:50]
    except BaseException:  # noqa: BLE001
        return None


def _backend_vocab(tokenizer, with_added_tokens):
    """A fast tokenizer's vocabulary size from its Rust backend (what ``vocab_size`` / ``len()`` return)."""
    backend = _static(tokenizer, "_tokenizer")
    if type(backend).__module__.split(".")[0] != "tokenizers":
        return None
    try:
        size = backend.get_vocab_size(with_added_tokens=with_added_tokens)
    except BaseException:  # noqa: BLE001
        return None
    return size if isinstance(size, int) else None


def _optimizers(frames, torch):
    if torch is None:
        return []
    optimizer_cls = torch.optim.Optimizer
    found, seen = [], set()
    for frame in frames:
        for name, value in _frame_values(frame):
            if isinstance(value, optimizer_cls) and id(value) not in seen:
                seen.add(id(value))
                groups = [
                    {
                        "params": len(g.get("params", [])),
                        "numel": sum(p.numel() for p in g.get("params", [])),
                        "lr": g.get("lr") if isinstance(g.get("lr"), (int, float)) else None,
                    }
                    for g in (_static(value, "param_groups") or [])[:10]
                ]
                found.append(
                    {
                        "variable": name,
                        "class": type(value).__name__,
                        "groups": groups,
                        "user_variables": _user_names(frames, value),
                    }
                )
    return found[:3]


def _attribute_error(exc):
    if not isinstance(exc, AttributeError):
        return None
    name = _static(exc, "name")
    obj = _static(exc, "obj")
    if obj is None:
        return {"name": name}
    cls = type(obj)
    try:
        attributes = sorted(n for n in dir(obj) if not n.startswith("__"))[:MAX_ATTRIBUTE_NAMES]
    except BaseException:  # noqa: BLE001
        attributes = []
    mro = [_qual(k) for k in cls.__mro__ if k is not object][:20]
    return {
        "name": name,
        "object_type": cls.__name__,
        "object_qualname": _qual(cls),
        "object_mro": mro,
        "is_module": any(q == "torch.nn.modules.module.Module" for q in mro),
        "is_peft_model": any(q.startswith("peft.") for q in mro),
        "is_class": isinstance(obj, type),
        "attributes": attributes,
    }


TRAINING_FIELDS = (
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "gradient_checkpointing",
    "optim",
    "fp16",
    "bf16",
    "max_seq_length",
    "max_length",
    "packing",
    "num_train_epochs",
    "learning_rate",
    "torch_compile",
)


def _training_args(frames):
    """transformers/trl TrainingArguments in the frames (directly, or a Trainer's ``args``): batch and memory knobs."""
    found, seen = [], set()
    for frame in frames:
        for name, value in _frame_values(frame):
            cls_names = [k.__name__ for k in type(value).__mro__]
            if "Trainer" in cls_names:
                value, name = _static(value, "args"), name + ".args"
                cls_names = [k.__name__ for k in type(value).__mro__]
            if "TrainingArguments" not in cls_names or id(value) in seen:
                continue
            seen.add(id(value))
            fields = {}
            for field_name in TRAINING_FIELDS:
                simple = _simple(_static(value, field_name))
                if simple is not _SKIP and simple is not None:
                    fields[field_name] = simple
            found.append(
                {
                    "variable": name,
                    "class": type(value).__name__,
                    "fields": fields,
                    "user_variables": _user_names(frames, value),
                }
            )
    return found[:2]


# ---------------------------------------------------------------- config field types

CONFIG_PACKAGES = ("peft.", "transformers.", "trl.")
MAX_MISTYPED = 20
_SCALARS = {"int", "float", "bool", "str"}
_SCALAR_WORD = re.compile(r"\b(int|float|bool|str)\b")


def _config_types(frames):
    """Fields of library config objects (PeftConfig, TrainingArguments/SFTConfig, BitsAndBytesConfig,
    GenerationConfig ...) in the frames whose value's type does not fit the field's declared type
    (``lora_dropout="0.05"`` for a float).  Values are read from the instance dict only."""
    found, seen = [], set()
    for frame in frames:
        for name, value in _frame_values(frame):
            if "Trainer" in [k.__name__ for k in type(value).__mro__]:
                value, name = _instance_dict(value).get("args"), name + ".args"
            cls = type(value)
            if value is None or isinstance(value, type) or id(value) in seen:
                continue
            if not _qual(cls).startswith(CONFIG_PACKAGES) or not cls.__name__.endswith(("Config", "Arguments")):
                continue
            seen.add(id(value))
            own = _instance_dict(value)
            for field_name, declared in _declared_types(cls).items():
                current = own.get(field_name, _MISSING)
                actual = type(current).__name__
                if actual not in _SCALARS or _fits(actual, declared):
                    continue
                found.append(
                    {
                        "config": cls.__name__,
                        "qualname": _qual(cls),
                        "variable": name,
                        "user_variables": _user_names(frames, value),
                        "field": field_name,
                        "actual": actual,
                        "declared": declared[:120],
                        "value": current if isinstance(current, (int, float, bool)) else str(current)[:60],
                    }
                )
                if len(found) >= MAX_MISTYPED:
                    return found
    return found


def _declared_types(cls):
    """field -> declared type as text: dataclass annotations, else the types of ``__init__``'s scalar defaults."""
    fields = getattr(cls, "__dataclass_fields__", None)
    if isinstance(fields, dict):
        return {n: f.type if isinstance(f.type, str) else _type_text(f.type) for n, f in fields.items()}
    declared = {}
    try:
        parameters = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return declared
    for parameter in parameters:
        if parameter.annotation is not inspect.Parameter.empty:
            declared[parameter.name] = _type_text(parameter.annotation)
        elif type(parameter.default) in (bool, int, float):
            declared[parameter.name] = type(parameter.default).__name__
    return declared


def _type_text(annotation):
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", None) or str(annotation)


def _fits(actual, declared):
    """Unknown counts as fitting: only a declared type made of scalars that excludes the value's type does not."""
    if "Literal" in declared and actual == "str" or "Any" in declared:
        return True
    scalars = set(_SCALAR_WORD.findall(declared))
    if not scalars or actual in scalars:
        return True
    return actual == "int" and "float" in scalars or actual == "bool" and "int" in scalars


_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]{0,100})\s*\(")


def _callables(frames):
    """Signatures of what the innermost user line calls: the accepted keywords."""
    user = [f for f in frames if not _is_library_file(f.f_code.co_filename)][:2]
    found = []
    for frame in user:
        line = _source_line(frame)
        for dotted in _CALL.findall(line)[:10]:
            target = _resolve(dotted, frame)
            if target is None:
                continue
            try:
                parameters = list(inspect.signature(target).parameters)
            except (TypeError, ValueError):
                continue
            found.append(
                {
                    "name": dotted,
                    "qualname": _qual(target)
                    if isinstance(target, type)
                    else getattr(target, "__module__", "") + "." + getattr(target, "__qualname__", dotted),
                    "parameters": parameters[:300],
                }
            )
    return found


def _source_line(frame):
    import linecache

    return linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()[:500]


def _resolve(dotted, frame):
    """Look a dotted name up through modules and classes only (no user __getattr__)."""
    head, *rest = dotted.split(".")
    scopes = (frame.f_locals, frame.f_globals, getattr(frame.f_globals.get("__builtins__"), "__dict__", {}))
    value = next((scope[head] for scope in scopes if isinstance(scope, dict) and head in scope), None)
    for part in rest:
        if value is None or not (inspect.ismodule(value) or isinstance(value, type)):
            return None
        value = inspect.getattr_static(value, part, None)
    if isinstance(value, type) or inspect.isfunction(value) or inspect.ismethod(value):
        return value
    return None


def _cuda(torch):
    if torch is None:
        return None
    cuda = _static(torch, "cuda")
    if cuda is None or not cuda.is_initialized():
        return None
    devices = []
    for index in range(cuda.device_count()):
        props = cuda.get_device_properties(index)
        entry = {
            "index": index,
            "name": props.name,
            "total": props.total_memory,
            "allocated": cuda.memory_allocated(index),
            "reserved": cuda.memory_reserved(index),
            "max_allocated": cuda.max_memory_allocated(index),
        }
        try:
            free, total = cuda.mem_get_info(index)
            entry["free"] = free
        except BaseException:  # noqa: BLE001
            pass
        devices.append(entry)
    return {"devices": devices}
