"""``diagnose check SCRIPT [ARGS...]``: is this LoRA setup right, and will it fit on the GPU?

The script's setup is dry-run in a subprocess (diagnose/check/_child.py: no
weights, stopped at the first training step); the static reading
(diagnose/check/static.py) runs as well and is the whole check when the dry
run cannot run (``--static``, or it failed: the report says why).  The JSON
report is documented in docs/check.md.

Exit status: 1 with findings, 0 without, 2 for bad input.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from diagnose.check import memory
from diagnose.check.static import CheckFinding, check_script, read_script, static_target_modules
from diagnose.errors import UsageError
from diagnose.patches._cst import Script

OWN_FLAGS = {
    "--json": 0,
    "--static": 0,
    "--no-memory": 0,
    "--gpu": 1,
    "--gpu-memory": 1,
    "--batch-size": 1,
    "--seq-len": 1,
}


def split_arguments(rest: list[str]) -> tuple[dict[str, Any], list[str]]:
    """check's own flags (anywhere before ``--``) and the script's arguments."""
    own: dict[str, Any] = {}
    script_args: list[str] = []
    items = iter(rest)
    for item in items:
        if item == "--":
            script_args += list(items)
            break
        name, _, inline = item.partition("=")
        if name in OWN_FLAGS:
            if OWN_FLAGS[name]:
                value = inline or next(items, None)
                if value is None:
                    raise UsageError(f"diagnose check: {name} needs a value")
                own[name] = value
            else:
                own[name] = True
        else:
            script_args.append(item)
    return own, script_args


def _gpu(own: dict[str, Any]) -> tuple[str | None, int | None]:
    if "--gpu-memory" in own:
        size = memory.parse_size(own["--gpu-memory"])
        if size is None:
            raise UsageError(f"diagnose check: --gpu-memory {own['--gpu-memory']!r} is not a size such as 24GiB")
        return f"{own['--gpu-memory']} (given)", size
    if "--gpu" in own:
        size = memory.gpu_bytes(own["--gpu"])
        if size is None:
            raise UsageError(f"diagnose check: unknown --gpu {own['--gpu']!r}; known: {', '.join(memory.GPUS)}")
        return own["--gpu"], size
    return _detected_gpu()


def _detected_gpu() -> tuple[str | None, int | None]:
    """The first GPU nvidia-smi lists (no torch import in this process)."""
    if not shutil.which("nvidia-smi"):
        return None, None
    try:
        out = (
            subprocess.run(
                ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            .stdout.strip()
            .splitlines()
        )
        name, mib = out[0].rsplit(",", 1)
        return f"{name.strip()} (detected)", int(float(mib)) * memory.MIB
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None, None


def _int(own: dict[str, Any], flag: str) -> int | None:
    if flag not in own:
        return None
    try:
        return int(own[flag])
    except ValueError:
        raise UsageError(f"diagnose check: {flag} {own[flag]!r} is not a whole number") from None


def run(args) -> int:
    own, script_args = split_arguments(list(getattr(args, "rest", []) or []))
    if getattr(args, "json", False):
        own["--json"] = True
    path = Path(args.script)
    script = read_script(path)  # a missing, binary or unparsable script is exit 2 before anything runs
    gpu, gpu_size = _gpu(own)
    options = {
        "gpu": gpu,
        "gpu_bytes": gpu_size,
        "batch_size": _int(own, "--batch-size"),
        "seq_len": _int(own, "--seq-len"),
        "memory": "--no-memory" not in own,
    }
    report = build_report(path, script, script_args, options, use_dry_run="--static" not in own)
    if own.get("--json"):
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(render_text(report))
    return 1 if report["findings"] else 0


def build_report(
    path: Path, script: Script, script_args: list[str], options: dict[str, Any], use_dry_run: bool = True
) -> dict[str, Any]:
    from diagnose.check.dryrun import DryRunFailed, dry_run

    report: dict[str, Any] = {
        "schema": 1,
        "script": str(path),
        "args": script_args,
        "method": "static",
        "dry_run": None,
        "findings": [],
        "memory": None,
        "undetermined": [],
    }
    seen = None
    if use_dry_run:
        try:
            seen = dry_run(path, script_args, options)
        except DryRunFailed as failed:
            report["undetermined"].append(f"dry run not possible ({failed.reason}): static reading only")
    findings = check_script(script, path, target_modules=False)
    if seen is None or not seen.get("peft"):  # the real get_peft_model did not answer: read target_modules
        findings += static_target_modules(script, path)
    if seen is not None:
        report["method"] = "dry run"
        report["dry_run"] = {
            k: seen.get(k)
            for k in ("outcome", "events", "models", "peft", "optimizers", "training_args", "batch", "prepared_kbit")
        }
        report["memory"] = seen.get("memory")
        report["undetermined"] += seen.get("undetermined", [])
        dynamic = dry_run_findings(seen, path)
        seen_places = {(f.id, f.line) for f in dynamic}
        findings = dynamic + [f for f in findings if (f.id, f.line) not in seen_places]
        if not seen.get("peft") and seen.get("outcome", {}).get("status") != "raised":
            report["undetermined"].append("the script made no get_peft_model call before its first training step")
    else:
        report["undetermined"].append(
            "static reading: model paths, LoraConfig values and the batch computed at run time are not seen"
        )
    report["findings"] = [asdict(f) for f in sorted(findings, key=lambda f: (f.line, f.column))]
    return report


def _line(record: dict[str, Any]) -> int:
    return int(record.get("line") or 0)


def dry_run_findings(seen: dict[str, Any], path: Path) -> list[CheckFinding]:
    found: list[CheckFinding] = []
    for record in seen.get("peft", []):
        error = record.get("error")
        model = f"{record.get('model_class')} ({record.get('model_type')})"
        asked = record["config"].get("target_modules")
        mismatch = _task_type_mismatch(record)
        if error and mismatch:
            mismatch.message = f"the real run raises {error['type']} in get_peft_model: {mismatch.message}"
            found.append(mismatch)
            continue
        if error and "not found in the base model" in error["message"]:
            suggestion = record.get("suggested_target_modules") or []
            found.append(
                CheckFinding(
                    "peft-target-modules-not-found",
                    _line(record),
                    1,
                    f"the real run raises {error['type']}: {error['message']} -- the LoRA-wrappable layers of this "
                    f"{model} are {sorted(record.get('wrappable', {}))}",
                    f"target_modules={suggestion}",
                )
            )
            continue
        if error:  # another error of get_peft_model: the run's error finding below names it
            continue
        if mismatch:
            found.append(mismatch)
        unmatched = record.get("unmatched") or []
        if unmatched:
            found.append(
                CheckFinding(
                    "peft-target-modules-not-found",
                    _line(record),
                    1,
                    f"{unmatched} in target_modules={asked} match no module of this {model}; peft ignores them, so only "
                    f"{record.get('targeted')} get LoRA layers",
                    f"drop them, or use the model's layers: {sorted(record.get('wrappable', {}))}",
                )
            )
        if record.get("trainable") == 0:
            found.append(
                CheckFinding(
                    "empty-optimizer",
                    _line(record),
                    1,
                    f"the PEFT model has 0 trainable parameters ({model}): nothing would train",
                    "check target_modules and that nothing sets requires_grad=False after get_peft_model",
                )
            )
    for optimizer in seen.get("optimizers", []):
        if optimizer["before_get_peft_model"] and not optimizer["holds_all_trainable"]:
            found.append(
                CheckFinding(
                    "empty-optimizer",
                    0,
                    0,
                    f"{optimizer['class']} was created before get_peft_model: it holds the base model's parameters "
                    "(frozen by get_peft_model), not the LoRA weights",
                    "create the optimizer after get_peft_model, from the PeftModel's parameters",
                )
            )
    outcome = seen.get("outcome") or {}
    if outcome.get("status") == "raised" and not any(f.line == _line(r) for r in seen.get("peft", []) for f in found):
        frame = outcome.get("user_frame") or {}
        entry = _kb_entry(outcome.get("traceback") or "")
        found.append(
            CheckFinding(
                entry or "script-error",
                int(frame.get("line") or 0),
                1,
                f"the real run raises {outcome['type']}: {outcome['message'].splitlines()[0][:300] if outcome['message'] else ''}",
                f"diagnose explain on this error, or diagnose run {path.name}, for the full diagnosis"
                if entry
                else "see the error above",
            )
        )
    mem = seen.get("memory")
    if mem and mem.get("verdict") in ("tight", "does not fit"):
        cheapest = next((c for c in mem.get("changes", []) if c.get("fits")), None)
        short = (
            f"does not fit the {mem['gpu']}'s {memory.fmt(mem['gpu_bytes'])}: short by "
            f"{memory.fmt(mem['peak'] - mem['gpu_bytes'])} before any headroom"
            if mem["verdict"] == "does not fit"
            else f"fits the {mem['gpu']}'s {memory.fmt(mem['gpu_bytes'])} only without the advised headroom "
            f"(keep {memory.fmt(mem['suggested_free'])} free: fragmentation, CUDA context)"
        )
        step_line = int(((seen.get("outcome") or {}).get("user_frame") or {}).get("line") or 0)
        found.append(
            CheckFinding(
                "cuda-out-of-memory",
                step_line,
                1 if step_line else 0,
                f"predicted peak {memory.fmt(mem['peak'])} {short}",
                f"{cheapest['title']} (saves {memory.fmt(cheapest['saves'])}): {cheapest['how']}"
                if cheapest
                else "no single change is enough: combine the changes listed under memory",
            )
        )
    return found


def _task_type_mismatch(record: dict[str, Any]) -> CheckFinding | None:
    """task_type that does not fit the model's head (the issue-11 advisor's knowledge of heads)."""
    from diagnose.advisors._heads import FEATURES, head_of

    given = str(record["config"].get("task_type") or "").rsplit(".", 1)[-1] or None
    head = head_of(record.get("model_class"))
    if not given or head is None or head is FEATURES or given in (head.task_type, "FEATURE_EXTRACTION"):
        return None
    return CheckFinding(
        "peft-task-type-mismatch",
        _line(record),
        1,
        f"task_type={given!r} but {record.get('model_class')} is {head.describe}: the training step fails "
        f"(labels are {head.labels})",
        f'task_type="{head.task_type}"',
    )


def _kb_entry(traceback_text: str) -> str | None:
    """The KB entry the real run's error would be diagnosed as (None when the matcher abstains)."""
    if not traceback_text:
        return None
    from diagnose.engine import explain_text
    from diagnose.kb.loader import load_kb

    report = explain_text(traceback_text, load_kb())
    return report.diagnoses[0].id if report.diagnoses else None


def render_text(report: dict[str, Any]) -> str:
    lines = [f"diagnose check {report['script']}: {report['method']}"]
    run = report.get("dry_run") or {}
    outcome = run.get("outcome") or {}
    if outcome:
        where = outcome.get("at") or outcome.get("status")
        lines.append(f"  dry run: {outcome.get('status')} ({where}) in {outcome.get('seconds')} s")
    for model in run.get("models", []):
        quant = model.get("quantization") or {}
        q = " 4-bit" if quant.get("load_in_4bit") else " 8-bit" if quant.get("load_in_8bit") else ""
        lines.append(
            f"  model: {model['class']} {model['parameters']:,} parameters, {model['dtype']}{q} "
            f"(config: {model['config_source']})"
        )
    for peft in run.get("peft", []):
        if peft.get("targeted") is not None:
            targets = ", ".join(f"{k} ×{v}" for k, v in peft["targeted"].items())
            lines.append(f"  LoRA on {peft.get('targeted_count')} modules: {targets}")
            lines.append(f"  trainable: {peft['trainable']:,} of {peft['total']:,} ({100 * peft['share']:.3f}%)")
    mem = report.get("memory")
    if mem:
        lines.append(f"  memory ({mem['method']}):")
        for part in mem["parts"]:
            lines.append(f"    {part['name']:<70} {memory.fmt(part['bytes']):>11}")
        lines.append(f"    {'predicted peak (allocated)':<70} {memory.fmt(mem['peak']):>11}")
        lines.append(f"    {'keep free (1.15 × peak + 0.5 GiB)':<70} {memory.fmt(mem['suggested_free']):>11}")
        if mem.get("gpu_bytes"):
            verdict = {"fits": "fits", "tight": "tight: fits only without headroom"}.get(mem["verdict"], "does NOT fit")
            lines.append(
                f"    {mem['gpu']}: {memory.fmt(mem['gpu_bytes'])} -> {verdict} (margin {memory.fmt(mem['margin'])})"
            )
        else:
            lines.append("    no GPU detected: give --gpu A100-40GB or --gpu-memory 24GiB for a verdict")
        for change in mem.get("changes", [])[:6]:
            fits = "" if change["fits"] is None else (" -> fits" if change["fits"] else "")
            lines.append(
                f"    change [{change['safety']}] {change['title']}: saves {memory.fmt(change['saves'])}{fits}"
            )
        lines.append(f"    scope: {mem['scope']}")
    for finding in report["findings"]:
        lines.append(CheckFinding(**finding).text(report["script"]))
    if not report["findings"]:
        lines.append("  no known LoRA mistakes found")
    for item in report["undetermined"]:
        lines.append(f"  not determined: {item}")
    return "\n".join(lines) + "\n"
