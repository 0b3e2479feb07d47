"""Advice fits the user's model and agrees with the patch (issue 11, §3).

- every diagnosis of a real capture, rendered as Rich, Markdown and JSON, names
  as the user's only modules that exist in the user's model (or that the
  user's own script names), and every code line of a tailored fix names only
  variables of the user's script (or is visibly a template: ``<...>``, ``...``);
- the fix for merge_and_unload() on the base model is the patch's edit;
- "closest names" go by role across architectures;
- a paste names the architecture only when the text shows it.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import re
from pathlib import Path

import pytest
from advisor_captures import CAPTURES, OUTPUTS, load_capture
from rich.console import Console

from diagnose.advisors.target_modules import ROLES, architecture_in_text, closest
from diagnose.engine import diagnose_incident, explain_text
from diagnose.kb.loader import load_kb
from diagnose.present import render_report, report_markdown

FIXTURES = sorted(p.stem for p in CAPTURES.glob("*.json"))
# Every module-name suffix some architecture uses for a LoRA-able layer: a word of this set in advice is
# presented as a module of the user's model unless the user's model or script has it.
MODULE_WORDS = {name for names in ROLES.values() for name in names if len(name) > 1} | {
    "lm_head",
    "embed_tokens",
    "wte",
    "wpe",
    "word_embeddings",
    "self_attn",
    "mlp",
    "ln_1",
    "ln_2",
}
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.fixture(scope="module")
def kb():
    return load_kb(use_env=False)


def _script_path(incident) -> Path | None:
    for exc in incident.exceptions():
        for frame in reversed(exc.frames):
            if not frame.in_library and Path(frame.file).is_file():
                return Path(frame.file)
    return None


def _user_modules(incident) -> set[str]:
    names: set[str] = set()
    for model in incident.probes.get("models", []):
        names.update(model.get("suffixes", {}))
        for name, *_ in model.get("modules", []):
            names.update(name.split("."))
    for config in incident.probes.get("peft_configs", []):
        targets = config.get("fields", {}).get("target_modules")
        names.update([targets] if isinstance(targets, str) else targets or [])
    return names


def _script_names(source: str) -> set[str]:
    """Every name the script binds (assignments, imports, loops, functions, arguments) or uses."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _free_names(code: str) -> set[str] | None:
    """Names a code block reads without defining them; None for a visible template (does not parse)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.comprehension):
            bound.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    return read - bound - set(dir(builtins))


def _library_name(name: str) -> bool:
    """A public class or function of the libraries (a fix may introduce `AutoModelForCausalLM`)."""
    import importlib

    for library in ("transformers", "peft", "torch", "accelerate"):
        try:
            if hasattr(importlib.import_module(library), name):
                return True
        except ImportError:
            continue
    return False


def _rendered(report) -> dict[str, str]:
    console = Console(file=io.StringIO(), width=300, color_system=None)
    render_report(report, console, verbose=True)
    return {
        "rich": console.file.getvalue(),
        "markdown": report_markdown(report, verbose=True),
        "json": json.dumps(report.to_dict(), ensure_ascii=False),
    }


@pytest.mark.parametrize("fixture", FIXTURES)
def test_advice_names_only_the_users_modules_and_variables(kb, fixture):
    incident = load_capture(fixture)
    script = _script_path(incident)
    report = diagnose_incident(incident, kb, str(script) if script else None)
    assert report.diagnoses, "a real example must be diagnosed"
    best = report.diagnoses[0]
    source = script.read_text(encoding="utf-8") if script else ""
    allowed = _user_modules(incident) | set(re.findall(r"\w+", source))
    # what is presented as the user's: the findings and the fixes computed for this run
    tailored = [f.title + "\n" + f.text + "\n" + " ".join(" ".join(r) for r in f.rows) for f in best.findings]
    tailored += [f.title + "\n" + f.body for f in best.fixes if f.tailored]
    foreign = sorted(
        {w for text in tailored for w in re.findall(r"`([A-Za-z_]\w*)`", text) if w in MODULE_WORDS} - allowed
    )
    assert not foreign, f"{best.id}: modules not in the user's model: {foreign}"
    for form, text in _rendered(report).items():  # the same words in every form the user may read
        for word in re.findall(r"`([A-Za-z_]\w*)`", "\n".join(tailored)):
            assert word in text, f"{form} lacks {word}"
    if not source:
        return
    defined = _script_names(source)
    for fix in (f for f in best.fixes if f.tailored):
        for code in CODE_BLOCK.findall(fix.body):
            free = _free_names(code)
            if free is None:  # a template, visibly so (<your LoraConfig>, ...)
                assert re.search(r"<[^>\n]+>|\.\.\.", code), code
                continue
            unknown = {name for name in free - defined if not _library_name(name)}
            assert not unknown, f"{best.id} fix {fix.title!r} names {sorted(unknown)} not in the script"


def test_merge_on_the_base_model_is_fixed_as_the_patch_fixes_it(kb):
    incident = load_capture("scripts--merge-on-base")
    script = _script_path(incident)
    report = diagnose_incident(incident, kb, str(script))
    best = report.diagnoses[0]
    assert best.id == "peft-model-missing-attribute"
    first = best.fixes[0]
    [code] = CODE_BLOCK.findall(first.body)
    assert first.tailored and code.strip() == "merged = peft_model.merge_and_unload()"
    assert "merged = peft_model.merge_and_unload()" in best.patch.new_text
    titles = [f.title for f in best.fixes]
    assert "Count LoRA parameters on the model, not on its config" not in titles  # a config fix, not this error
    assert "Keep the PeftModel that get_peft_model returns" not in titles  # the PeftModel was kept: `peft_model`


def test_a_dropped_peft_model_is_kept_with_the_scripts_own_config(kb):
    incident = load_capture("peft-model-missing-attribute")
    best = diagnose_incident(incident, kb, str(_script_path(incident))).diagnoses[0]
    assert "model = get_peft_model(model, lora_config)" in best.fixes[0].body  # the example names it lora_config
    assert "model = get_peft_model(model, lora_config)" in best.patch.new_text


def test_a_config_error_keeps_the_config_fix_and_drops_the_model_ones(kb):
    incident = load_capture("more--peft-model-missing-attribute--config-get-submodules")
    titles = [f.title for f in diagnose_incident(incident, kb).diagnoses[0].fixes]
    assert "Count LoRA parameters on the model, not the config" in titles
    assert "Keep the PeftModel that get_peft_model returns" not in titles


@pytest.mark.parametrize(
    ("requested", "available", "expected"),
    [
        ("dense", ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "o_proj"),
        ("query_key_value", ["q_proj", "k_proj", "v_proj", "o_proj"], "q_proj"),
        ("q_proj", ["c_attn", "c_proj", "c_fc"], "c_attn"),
        ("o_proj", ["c_attn", "c_proj", "c_fc"], "c_proj"),
        ("up_proj", ["c_attn", "c_proj", "c_fc"], "c_fc"),
        ("o_proj", ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"], "dense"),
        ("v_proj", ["query", "key", "value", "dense"], "value"),
        ("q_proj", ["q", "k", "v", "o", "wi", "wo"], "q"),
        ("c_attn", ["q", "k", "v", "o", "wi", "wo"], "q"),
        ("down_proj", ["fc1", "fc2", "q_proj", "k_proj", "v_proj", "out_proj"], "fc2"),
    ],
)
def test_closest_names_go_by_role_across_architectures(requested, available, expected):
    assert closest(requested, sorted(available))[0] == expected


@pytest.mark.parametrize(
    ("text", "model_type"),
    [
        ('  File "/v/site-packages/transformers/models/mistral/modeling_mistral.py", line 3, in forward', "mistral"),
        ('MistralConfig {\n  "model_type": "mistral",\n}', "mistral"),
        ("    (self_attn): Qwen2Attention(\n", "qwen2"),
        ("AttributeError: 'GPT2LMHeadModel' object has no attribute 'x'", "gpt2"),
    ],
)
def test_the_architecture_is_read_from_what_the_text_shows(text, model_type):
    assert architecture_in_text(text)[1] == model_type


def test_a_paste_without_the_model_gets_no_gpt2_names_as_its_own(kb):
    text = (OUTPUTS / "peft-target-modules-not-found" / "01.txt").read_text()
    assert architecture_in_text(text) is None
    best = explain_text(text, kb).diagnoses[0]
    first = best.fixes[0]
    assert not first.tailored and "For GPT-2" not in first.body
    for model, names in (("Llama", "q_proj"), ("GPT-2", "c_attn"), ("Falcon", "query_key_value"), ("T5", '"q"')):
        assert model in first.body and names in first.body  # peft's defaults for the common architectures
    assert "c_attn" not in first.safety_reason


def test_diagnose_check_gives_the_same_fix_as_the_diagnosis():
    from diagnose.check.static import _peft_methods
    from diagnose.patches._cst import Script

    script = CAPTURES / "scripts" / "merge-on-base.py"
    [finding] = _peft_methods(Script(script.read_text(encoding="utf-8")))
    assert finding.id == "peft-model-missing-attribute"
    assert finding.fix == "call it on the PeftModel: peft_model.merge_and_unload(...)"
    assert "get_peft_model(base" not in finding.fix


ARCHITECTURE_LABEL = re.compile(
    r"GPT-2|Llama|Mistral|Qwen|OPT|Falcon|BERT|RoBERTa|T5|Phi|Gemma|BLOOM|NeoX|your model|e\.g\.|for example"
)
# Layer names that belong to one architecture family (common words such as `value` or `dense` left out).
ARCHITECTURE_NAMES = {n for n in MODULE_WORDS if "_" in n or n in ("wte", "wpe")} - {"self_attn"}


@pytest.mark.parametrize("entry", sorted(p.stem for p in (CAPTURES.parents[2] / "kb").glob("*.yaml")))
def test_static_fixes_label_architecture_specific_names(entry):
    """A static fix is shown to users of every model: another architecture's layer names are labelled as such."""
    import yaml

    data = yaml.safe_load((CAPTURES.parents[2] / "kb" / f"{entry}.yaml").read_text(encoding="utf-8"))
    for fix in data["fixes"]:
        for one_liner in (fix["title"], fix["safety_reason"]):  # shown without context: no layer names at all
            assert not {w for w in ARCHITECTURE_NAMES if re.search(rf"\b{w}\b", one_liner)}, one_liner
        lines = fix["body"].splitlines()
        for number, line in enumerate(lines):
            named = {w for w in ARCHITECTURE_NAMES if re.search(rf"\b{w}\b", line)}
            context = "\n".join(lines[max(0, number - 3) : number + 1])
            assert not named or ARCHITECTURE_LABEL.search(context), f"{entry}: {fix['title']}: {line.strip()}"


def test_a_misspelt_method_on_a_real_peft_model_is_not_wrapped_again(kb):
    """The message names the inner GPT2LMHeadModel, but the script's `model` is already the PeftModel."""
    best = explain_text((OUTPUTS / "peft-model-missing-attribute" / "03.txt").read_text(), kb).diagnoses[0]
    first = best.fixes[0]
    assert first.tailored and "get_peft_model" not in first.body
    assert CODE_BLOCK.findall(first.body) == ["model.print_trainable_parameters()\n"]


@pytest.mark.parametrize(
    ("entry_id", "module", "table"),
    [
        ("peft-model-missing-attribute", "missing_attribute", "STATIC_BY_KIND"),
        ("no-grad-fn", "no_grad_fn", "STATIC_BY_CAUSE"),
    ],
)
def test_static_fix_selections_name_real_fixes(kb, entry_id, module, table):
    """An advisor's choice of static fixes names fixes the entry has (a renamed fix would vanish silently)."""
    import importlib

    titles = {fix["title"] for fix in kb.entries[entry_id].fixes}
    chosen = getattr(importlib.import_module(f"diagnose.advisors.{module}"), table)
    assert {title for kept in chosen.values() for title in kept} <= titles


def test_a_frozen_adapter_is_not_also_told_to_leave_a_no_grad_block(kb):
    titles = [f.title for f in diagnose_incident(load_capture("no-grad-fn"), kb).diagnoses[0].fixes]
    assert "Run the training forward pass with gradients enabled" not in titles
    assert titles[0] == "Load the adapter as trainable"
