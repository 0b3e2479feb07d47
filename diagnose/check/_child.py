"""The dry run, inside the child process: ``python -m diagnose.check._child OUT.json SCRIPT [ARGS...]``.

The user's script runs for real (its imports, argparse, paths computed at run
time, config files, data loading), with these differences, so that no weight
is ever materialised and nothing trains:

* ``from_pretrained`` / ``from_config`` of a transformers model build it on the
  meta device from its config (the local folder, the HF cache, or a bundled
  config.json of a common base model); quantization configs are recorded, not
  applied; ``save_pretrained`` of such a model writes its config only;
* moving a meta model between devices is a no-op (dtype casts still apply);
* ``prepare_model_for_kbit_training`` runs, but the weights bitsandbytes would
  have quantized keep their dtype (it would have left them alone);
* the run stops at the first training step: ``Trainer.train`` (trl's trainers
  included; one batch is drawn from its dataloader), the first forward of a
  meta model, the first ``backward`` or ``optimizer.step``.

What was seen is then analysed (target modules, trainable parameters, peak
memory) and written as JSON to OUT.json for the parent (diagnose.check.dryrun).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch

from diagnose.check import bundled

REAL_BUILD_LIMIT = 50_000_000  # parameters: from_config builds models this small for real (tiny test models)
QUANT_SKIP = ("lm_head",)  # bitsandbytes leaves the output head unquantized by default


class StopDryRun(BaseException):
    """Raised at the first training step; a BaseException so that the script's own ``except Exception`` lets it by."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class Seen:
    """Everything the dry run observed, in the order the script made it."""

    def __init__(self, script: Path) -> None:
        self.script = script
        self.models: list[dict[str, Any]] = []  # one per model built: {"model": nn.Module, ...}
        self.peft: list[dict[str, Any]] = []  # get_peft_model calls: config, base model, result
        self.optimizers: list[dict[str, Any]] = []
        self.trainer: Any = None
        self.training_args: Any = None
        self.batch: dict[str, list[int]] | None = None  # shapes of the first training batch
        self.stopped_at: str | None = None
        self.events: list[str] = []
        self.unknown: list[str] = []  # what could not be determined, said so in the report
        self.prepared_kbit = False


SEEN: Seen
UNDO: list = []  # how to take every patch back, so that the memory replay runs the real code


def _patch(owner: Any, name: str, value: Any) -> None:
    original = owner.__dict__[name] if name in getattr(owner, "__dict__", {}) else getattr(owner, name)
    setattr(owner, name, value)
    UNDO.append(lambda: setattr(owner, name, original))


def undo_patches() -> None:
    while UNDO:
        UNDO.pop()()


# ------------------------------------------------------------------ building models on meta


def _resolve_config(name: Any, kwargs: dict[str, Any]):
    """(config, where it came from, unused kwargs). Local folder or HF cache first, then the bundled configs."""
    from transformers import AutoConfig, PretrainedConfig

    config = kwargs.pop("config", None)
    if isinstance(config, PretrainedConfig):
        return config, "given config object", kwargs
    hub = {k: kwargs.pop(k) for k in ("revision", "cache_dir", "token", "subfolder") if k in kwargs}
    trust = kwargs.pop("trust_remote_code", None)
    try:
        config, unused = AutoConfig.from_pretrained(
            str(name), local_files_only=True, return_unused_kwargs=True, trust_remote_code=trust, **hub, **kwargs
        )
        where = "local folder" if Path(str(name)).is_dir() else "HF cache"
        return config, where, unused
    except (OSError, ValueError):
        pass
    data = bundled.lookup(str(name))
    if data is None:
        raise OSError(
            f"diagnose check: no config.json for {name!r}: not a local folder, not in the HF cache, "
            "and not one of the bundled base-model configs"
        )
    config_class = AutoConfig.for_model(data["model_type"]).__class__
    fields = {k: v for k, v in data.items() if not k.startswith("_")}
    config, unused = config_class.from_dict(fields, return_unused_kwargs=True, **kwargs)
    return config, f"bundled config of {data['_source']}", unused


LOAD_ONLY = (
    "device_map",
    "low_cpu_mem_usage",
    "max_memory",
    "offload_folder",
    "offload_state_dict",
    "use_safetensors",
    "local_files_only",
    "force_download",
    "resume_download",
    "proxies",
    "output_loading_info",
    "variant",
    "weights_only",
    "key_mapping",
    "tp_plan",
    "adapter_kwargs",
    "use_flash_attention_2",
)


def _build(model_class, name: Any, kwargs: dict[str, Any], how: str):
    """Build ``model_class`` on meta as ``from_pretrained(name, **kwargs)`` would have, recording what it skipped."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None) or kwargs.pop("torch_dtype", None)
    quant = kwargs.pop("quantization_config", None)
    attn = kwargs.pop("attn_implementation", None)
    skipped = {k: repr(kwargs.pop(k))[:80] for k in LOAD_ONLY if k in kwargs}
    config, where, unused = _resolve_config(name, kwargs)
    if quant is None and getattr(config, "quantization_config", None):
        quant = config.quantization_config  # a pre-quantized checkpoint
    if model_class is None:
        from transformers.models.auto.auto_factory import _get_model_class

        model_class = _get_model_class(config, how.mapping)  # type: ignore[attr-defined]
    if dtype in (None, "auto"):
        dtype = getattr(config, "dtype", None) or torch.float32
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    if attn:
        config._attn_implementation = attn
    with torch.device("meta"):
        model = model_class._from_config(config, dtype=dtype, **unused)
    model.eval()  # from_pretrained returns the model in eval mode
    if quant is not None:  # what bitsandbytes' loading sets, so that peft treats the model as the real run's
        fields = quant.to_dict() if hasattr(quant, "to_dict") else dict(quant)
        model.is_loaded_in_4bit = bool(fields.get("load_in_4bit"))
        model.is_loaded_in_8bit = bool(fields.get("load_in_8bit"))
    _record_model(model, name, where, quant, skipped)
    return model


def _record_model(model, name: Any, where: str, quant: Any, skipped: dict[str, str]) -> None:
    quant_fields = None
    if quant is not None:
        quant_fields = quant.to_dict() if hasattr(quant, "to_dict") else dict(quant)
        quant_fields = {
            k: v if isinstance(v, (int, float, str, bool, list, type(None))) else str(v)
            for k, v in quant_fields.items()
        }
    SEEN.models.append(
        {
            "model": model,
            "name": str(name),
            "config_source": where,
            "quantization": quant_fields,
            "quantized": _find_quantized(model, quant_fields),
            "skipped_kwargs": skipped,
        }
    )
    SEEN.events.append(f"built {type(model).__name__} on the meta device ({where})")


def _is_meta(module) -> bool:
    for param in module.parameters():
        return param.device.type == "meta"
    return False


def _install_model_patches() -> None:
    import transformers
    from transformers import modeling_utils
    from transformers.models.auto import auto_factory

    base = auto_factory._BaseAutoModelClass

    class _Auto:
        def __init__(self, cls):
            self.mapping = cls._model_mapping

    def auto_from_pretrained(cls, name, *args, **kwargs):
        return _build(None, name, kwargs, _Auto(cls))

    def auto_from_config(cls, config, **kwargs):
        from transformers.models.auto.auto_factory import _get_model_class

        model_class = _get_model_class(config, cls._model_mapping)
        return concrete_from_config(model_class, config, **kwargs)

    def concrete_from_pretrained(cls, name, *args, **kwargs):
        return _build(cls, name, kwargs, None)  # type: ignore[arg-type]

    real_from_config = modeling_utils.PreTrainedModel._from_config.__func__

    def concrete_from_config(cls, config, **kwargs):
        with torch.device("meta"):
            model = real_from_config(cls, config, **kwargs)
        where = "built from a config object"
        if sum(p.numel() for p in model.parameters()) <= REAL_BUILD_LIMIT:
            # small enough to build for real: a script that saves it and loads it back gets a real checkpoint,
            # never a folder without weights left behind
            model = real_from_config(cls, config, **kwargs)
            where += " (small: built for real)"
        _record_model(model, f"{type(config).__name__} object", where, None, {})
        return model

    _patch(base, "from_pretrained", classmethod(auto_from_pretrained))
    _patch(base, "from_config", classmethod(auto_from_config))
    _patch(modeling_utils.PreTrainedModel, "from_pretrained", classmethod(concrete_from_pretrained))

    real_save = modeling_utils.PreTrainedModel.save_pretrained

    def save_pretrained(self, save_directory, *args, **kwargs):
        if not _is_meta(self):
            return real_save(self, save_directory, *args, **kwargs)
        os.makedirs(save_directory, exist_ok=True)
        self.config.save_pretrained(save_directory)  # the weights do not exist: the config is what a reload needs
        SEEN.events.append(f"save_pretrained({save_directory!s}) wrote the config only")
        return None

    _patch(modeling_utils.PreTrainedModel, "save_pretrained", save_pretrained)
    del transformers


def _install_device_patches() -> None:
    module = torch.nn.Module
    real_to, real_cuda, real_cpu = module.to, module.cuda, module.cpu

    def to(self, *args, **kwargs):
        if not _is_meta(self):
            return real_to(self, *args, **kwargs)
        dtype = kwargs.get("dtype") or next((a for a in args if isinstance(a, torch.dtype)), None)
        for arg in args:  # .to(tensor) takes its dtype
            if isinstance(arg, torch.Tensor):
                dtype = arg.dtype
        return real_to(self, dtype) if dtype is not None else self

    def cuda(self, *args, **kwargs):
        return self if _is_meta(self) else real_cuda(self, *args, **kwargs)

    def cpu(self, *args, **kwargs):
        return self if _is_meta(self) else real_cpu(self, *args, **kwargs)

    _patch(module, "to", to)
    _patch(module, "cuda", cuda)
    _patch(module, "cpu", cpu)


# ------------------------------------------------------------------ peft, optimizers, training steps


def _install_peft_patches() -> None:
    import peft
    import peft.mapping_func
    import peft.utils.other

    real_get = peft.mapping_func.get_peft_model

    def get_peft_model(model, peft_config, *args, **kwargs):
        record = {"config": peft_config, "base": model, "result": None, "error": None, "line": _script_line()}
        SEEN.peft.append(record)
        SEEN.events.append("get_peft_model")
        try:
            record["result"] = real_get(model, peft_config, *args, **kwargs)
        except Exception as error:
            record["error"] = error
            raise
        return record["result"]

    for holder in (peft, peft.mapping_func, getattr(peft, "mapping", None)):
        if holder is not None and hasattr(holder, "get_peft_model"):
            _patch(holder, "get_peft_model", get_peft_model)

    real_prepare = peft.utils.other.prepare_model_for_kbit_training

    def prepare_model_for_kbit_training(model, *args, **kwargs):
        SEEN.prepared_kbit = True
        kept = {id(p): p.dtype for p in _quantized_weights(model)}
        result = real_prepare(model, *args, **kwargs)
        for param in _quantized_weights(model):  # bitsandbytes' packed weights are not cast to fp32
            if id(param) in kept and param.dtype != kept[id(param)]:
                param.data = param.data.to(kept[id(param)])
        return result

    for holder in (peft, peft.utils, peft.utils.other):
        if hasattr(holder, "prepare_model_for_kbit_training"):
            _patch(holder, "prepare_model_for_kbit_training", prepare_model_for_kbit_training)


def _script_line() -> int | None:
    lines = [f.lineno for f in traceback.extract_stack() if Path(f.filename).resolve() == SEEN.script]
    return lines[-1] if lines else None


def quantization_of(model) -> dict[str, Any] | None:
    for record in SEEN.models:
        if record["model"] is model:
            return record["quantization"]
    return None


def quantized_linears(model) -> list[tuple[str, torch.nn.Linear]]:
    """The nn.Linear layers bitsandbytes would have replaced, as found when the model was built (before LoRA added
    linears of its own): all but the output head and the skipped modules."""
    for record in SEEN.models:
        if record["model"] is model:
            return record["quantized"]
    return []


def _find_quantized(model, quant: dict[str, Any] | None) -> list[tuple[str, torch.nn.Linear]]:
    if not quant or not (quant.get("load_in_4bit") or quant.get("load_in_8bit")):
        return []
    skip = set(QUANT_SKIP) | set(quant.get("llm_int8_skip_modules") or [])
    return [
        (name, module)
        for name, module in model.named_modules()
        if type(module) is torch.nn.Linear and not (set(name.split(".")) & skip)
    ]


def _quantized_weights(model) -> list[torch.nn.Parameter]:
    return [module.weight for _, module in quantized_linears(model)]


def _install_optimizer_patches() -> None:
    real_init = torch.optim.Optimizer.__init__

    def init(self, params, *args, **kwargs):
        real_init(self, params, *args, **kwargs)
        owned = [p for group in self.param_groups for p in group["params"]]
        SEEN.optimizers.append(
            {
                "class": type(self).__name__,
                "module": type(self).__module__,
                "params": len(owned),
                "numel": sum(p.numel() for p in owned),
                "frozen_numel": sum(p.numel() for p in owned if not p.requires_grad),
                "ids": {id(p) for p in owned},
                "before_peft": not any(r["result"] is not None for r in SEEN.peft),
            }
        )

    _patch(torch.optim.Optimizer, "__init__", init)

    def step(optimizer, args, kwargs):
        raise StopDryRun(f"{type(optimizer).__name__}.step")

    from torch.optim.optimizer import register_optimizer_step_pre_hook

    handle = register_optimizer_step_pre_hook(step)
    UNDO.append(handle.remove)

    def backward(self, *args, **kwargs):
        raise StopDryRun("loss.backward()")

    _patch(torch.Tensor, "backward", backward)


def _shapes(value: Any) -> dict[str, list[int]]:
    found = {}
    if isinstance(value, dict) or hasattr(value, "items"):
        for key, item in value.items():
            if isinstance(item, torch.Tensor):
                found[str(key)] = list(item.shape)
    return found


def _install_training_patches() -> None:
    from transformers import Trainer

    def train(self, *args, **kwargs):
        SEEN.trainer = self
        SEEN.training_args = self.args
        try:
            batch = next(iter(self.get_train_dataloader()))
            SEEN.batch = _shapes(batch)
        except StopDryRun:
            raise
        except Exception as error:  # noqa: BLE001 - the real run would fail here too: report it as the run's error
            SEEN.events.append(f"drawing the first batch failed: {type(error).__name__}")
            raise
        raise StopDryRun(f"{type(self).__name__}.train")

    _patch(Trainer, "train", train)

    def first_forward(module, args, kwargs):
        if SEEN.batch is not None or not _is_top_model(module):
            return
        shapes = _shapes(kwargs)
        if not shapes and args and isinstance(args[0], torch.Tensor):
            shapes = {"input_ids": list(args[0].shape)}
        SEEN.batch = shapes
        if _is_meta(module):  # a real (small) model runs its forward; the backward stops it
            raise StopDryRun(f"first forward of {type(module).__name__}")

    _register_kwargs_pre_hook(first_forward)


def _register_kwargs_pre_hook(hook) -> None:
    """A global forward pre-hook that also sees keyword arguments (models are called with input_ids=...)."""
    real_call = torch.nn.Module._call_impl

    def call(self, *args, **kwargs):
        hook(self, args, kwargs)
        return real_call(self, *args, **kwargs)

    _patch(torch.nn.Module, "_call_impl", call)


def _is_top_model(module) -> bool:
    from transformers import PreTrainedModel

    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is installed with the [lora] extra
        PeftModel = ()  # noqa: N806
    return isinstance(module, (PreTrainedModel, PeftModel))


# ------------------------------------------------------------------ running the script


def _user_frame(error: BaseException, script: Path) -> dict[str, Any] | None:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == script]
    if not frames:
        return None
    last = frames[-1]
    return {"line": last.lineno, "code": (last.line or "").strip()}


def run_script(script: Path, argv: list[str]) -> dict[str, Any]:
    sys.argv = [str(script), *argv]
    sys.path.insert(0, str(script.parent))
    outcome: dict[str, Any] = {"status": "completed"}
    try:
        runpy.run_path(str(script), run_name="__main__")
    except StopDryRun as stop:
        SEEN.stopped_at = stop.where
        outcome = {"status": "stopped", "at": stop.where, "user_frame": _user_frame(stop, script)}
    except SystemExit as exit_:
        code = exit_.code
        outcome = {"status": "exited", "code": code if isinstance(code, int) or code is None else str(code)}
    except BaseException as error:  # noqa: BLE001 - the script's own failure is the finding
        outcome = {
            "status": "raised",
            "type": type(error).__name__,
            "qualname": f"{type(error).__module__}.{type(error).__qualname__}",
            "message": str(error)[:2000],
            "user_frame": _user_frame(error, script),
            "traceback": "".join(traceback.format_exception(error))[-8000:],
        }
    return outcome


def main(argv: list[str]) -> int:
    global SEEN
    sys.modules.setdefault("diagnose.check._child", sys.modules[__name__])  # run as __main__: one module, one SEEN
    out, script, args = Path(argv[0]), Path(argv[1]).resolve(), argv[2:]
    options = json.loads(os.environ.pop("DIAGNOSE_CHECK_OPTIONS", "{}"))
    SEEN = Seen(script)
    started = time.perf_counter()
    _install_model_patches()
    _install_device_patches()
    _install_peft_patches()
    _install_optimizer_patches()
    _install_training_patches()
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # the script's prints never mix with anything the parent reads
    outcome = run_script(script, args)
    sys.stdout = real_stdout
    undo_patches()
    outcome["seconds"] = round(time.perf_counter() - started, 2)
    from diagnose.check.analyse import analyse

    report = analyse(SEEN, outcome, options)
    Path(out).write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
