"""What the KB says about the libraries is checked against the installed libraries.

Each test runs the library behaviour that a KB sentence states (issue 11, "KB
truth"), so an upgrade that changes the behaviour fails here and points at the
entry to update.  Tiny models are built from configs (examples/tiny_models.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
KB = ROOT / "kb"
sys.path.insert(0, str(ROOT / "examples"))

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")


def _entry(entry_id: str) -> dict:
    return yaml.safe_load((KB / f"{entry_id}.yaml").read_text(encoding="utf-8"))


def _fix_bodies() -> list[tuple[str, str]]:
    return [
        (path.stem, fix["body"])
        for path in sorted(KB.glob("*.yaml"))
        for fix in yaml.safe_load(path.read_text(encoding="utf-8"))["fixes"]
    ]


def test_hub_commands_in_fixes_exist_in_the_installed_huggingface_hub():
    """`huggingface-cli` is gone from huggingface_hub 1.x: fixes say `hf ...` (the old name only as history)."""
    from importlib.metadata import entry_points

    scripts = {e.name for e in entry_points(group="console_scripts")}
    assert "hf" in scripts and "huggingface-cli" not in scripts
    commands = set()
    for entry_id, body in _fix_bodies():
        flat = " ".join(body.split())
        for old in re.finditer("huggingface-cli", flat):  # only as history, next to the version that had it
            assert re.search(r"before 1\.0|older hub", flat[max(0, old.start() - 80) : old.start()]), entry_id
        for line in body.splitlines():
            commands.update(m.group(1) for m in re.finditer(r"`?\bhf ((?:[a-z]+)(?: [a-z]+)?)\b", line))
    hf = shutil.which("hf", path=str(Path(sys.executable).parent))
    assert hf and commands
    for command in sorted(commands):
        words = command.split()
        done = subprocess.run([hf, *words, "--help"], capture_output=True, text=True, timeout=60)
        if done.returncode != 0 and len(words) == 2:  # "hf download meta-llama/...": the second word is an argument
            done = subprocess.run([hf, words[0], "--help"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"`hf {command}` is not a command of the installed hf CLI"


def test_target_modules_table_is_pefts_own_defaults():
    """peft-target-modules-not-found fix 1 lists per-architecture names: they are peft's table."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as defaults

    model_types = {
        "Llama": "llama",
        "Mistral": "mistral",
        "Qwen2": "qwen2",
        "Gemma": "gemma",
        "OPT": "opt",
        "GPT-2": "gpt2",
        "Falcon": "falcon",
        "GPT-NeoX": "gpt_neox",
        "BLOOM": "bloom",
        "BERT": "bert",
        "RoBERTa": "roberta",
        "T5": "t5",
    }
    body = _entry("peft-target-modules-not-found")["fixes"][0]["body"]
    rows = re.findall(r"^\| ([^|]+) \| `(\[[^`]+\])`", body, re.MULTILINE)
    checked = set()
    for models, names in rows:
        for model in (m.strip() for m in models.split(",")):
            if model == "Phi-3":
                assert "phi3" not in defaults  # the row says so
                continue
            assert defaults[model_types[model]] == yaml.safe_load(names), model
            checked.add(model)
    assert checked == set(model_types)


def test_phi3_fuses_query_key_value_in_qkv_proj():
    from transformers import Phi3Config, Phi3ForCausalLM

    config = Phi3Config(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        vocab_size=64,
        pad_token_id=0,
    )
    names = {n.rsplit(".", 1)[-1] for n, m in Phi3ForCausalLM(config).named_modules() if isinstance(m, torch.nn.Linear)}
    assert "qkv_proj" in names and not names & {"q_proj", "k_proj", "v_proj"}


def test_a_string_target_modules_is_a_full_match_regex():
    """Quiz targets-string-is-a-regex."""
    from peft import LoraConfig, get_peft_model
    from tiny_models import model_dir
    from transformers import AutoModelForCausalLM

    path = model_dir("llama")
    wanted = ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"]
    for targets in (["q_proj"], ".*q_proj"):
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(path), LoraConfig(target_modules=targets))
        assert sorted(model.targeted_module_names) == wanted
    with pytest.raises(ValueError, match="Target modules q_proj not found"):
        get_peft_model(AutoModelForCausalLM.from_pretrained(path), LoraConfig(target_modules="q_proj"))


def test_from_pretrained_keeps_the_checkpoint_dtype_without_a_dtype(tmp_path):
    """cpu-out-of-memory: transformers 5 defaults to dtype="auto" (no fp32 upcast), so half precision saves nothing."""
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, vocab_size=64
    )
    LlamaForCausalLM(config).to(torch.bfloat16).save_pretrained(tmp_path)
    assert AutoModelForCausalLM.from_pretrained(tmp_path).dtype == torch.bfloat16
    entry = _entry("cpu-out-of-memory")
    assert 'dtype="auto"' in entry["why"]


def test_to_empty_then_load_state_dict_is_not_the_real_model_but_assign_is():
    """meta-tensor-weights: non-persistent buffers are not in a state dict; assign=True keeps the skeleton's."""
    from accelerate import init_empty_weights
    from tiny_models import model_dir
    from transformers import AutoConfig, AutoModelForCausalLM

    path = model_dir("llama")
    real = AutoModelForCausalLM.from_pretrained(path)
    state = real.state_dict()
    ids = torch.tensor([[1, 2, 3, 4]])
    with init_empty_weights():
        emptied = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path))
        assigned = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path))
    emptied.to_empty(device="cpu")
    emptied.load_state_dict(state)
    assigned.load_state_dict(state, assign=True)
    assert "model.rotary_emb.inv_freq" not in state  # non-persistent: to_empty left it uninitialised
    with torch.no_grad():
        want = real(ids).logits
        assert torch.equal(assigned(ids).logits, want)
        emptied.model.rotary_emb.inv_freq.fill_(0.0)  # what uninitialised memory may hold: not the real values
        assert not torch.allclose(emptied(ids).logits, want)


def test_pinning_transformers_does_not_pin_peft_or_accelerate():
    """bnb-quantization-args: transformers depends on neither, so `pip install "transformers<5"` leaves them."""
    from importlib.metadata import requires

    plain = [r for r in requires("transformers") or [] if "extra ==" not in r]  # what `pip install transformers` pulls
    names = {re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0].lower() for r in plain}
    assert "peft" not in names and "accelerate" not in names


def test_bitsandbytes_4bit_runs_on_a_cpu():
    """cuda-out-of-memory's QLoRA fix: bitsandbytes >= 0.46.1 has a CPU backend."""
    pytest.importorskip("bitsandbytes")
    from tiny_models import model_dir
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), quantization_config=quantization)
    assert type(model.model.layers[0].self_attn.q_proj).__name__ == "Linear4bit"
    assert model(torch.tensor([[1, 2, 3]])).logits.shape == (1, 3, 512)
    assert "CPUs from bitsandbytes 0.46.1" in _entry("cuda-out-of-memory")["fixes"][3]["safety_reason"]


def test_activation_checkpointing_is_the_current_name():
    """no-grad-fn / cuda-out-of-memory: the gradient_checkpointing_* names warn (FutureWarning) on transformers 5.24."""
    from tiny_models import model_dir
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    assert not [w for w in caught if issubclass(w.category, (FutureWarning, DeprecationWarning))]
    with pytest.warns(FutureWarning, match="gradient_checkpointing_enable"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    for entry_id, body in _fix_bodies():
        for line in body.splitlines():
            if "gradient_checkpointing_enable(" in line and line.lstrip().startswith(("model", "peft_model")):
                pytest.fail(f"{entry_id} still calls the deprecated name: {line.strip()}")


def test_the_cuda_visible_devices_check_tells_unset_from_empty():
    bodies = [body for entry_id, body in _fix_bodies() if entry_id == "cuda-unavailable"]
    [line] = [
        line for body in bodies for line in body.splitlines() if "echo" in line and "CUDA_VISIBLE_DEVICES" in line
    ]
    command = line.split("#", 1)[0].strip()

    def run(**env: str) -> str:
        return subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True).stdout

    assert run() != run(CUDA_VISIBLE_DEVICES="") != run(CUDA_VISIBLE_DEVICES="0")


def test_a_new_pad_token_needs_a_new_embedding_row():
    """Quiz pad-dedicated-token-resize: 37 rows, 37 tokens; [PAD] gets id 37, which needs row 38."""
    from tiny_tokenizer import tokenizer_dir
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir())
    config = LlamaConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, vocab_size=len(tokenizer)
    )
    model = LlamaForCausalLM(config)
    assert len(tokenizer) == model.get_input_embeddings().num_embeddings == 37
    tokenizer.add_special_tokens({"pad_token": "[PAD]"})
    assert tokenizer.pad_token_id == 37
    model.resize_token_embeddings(len(tokenizer))
    assert model.get_input_embeddings().num_embeddings == 38
    [question] = [q for q in _entry("pad-token-missing")["quiz"] if q["id"] == "pad-dedicated-token-resize"]
    assert "37 rows" in question["question"] and question["answer"].startswith("model.resize_token_embeddings(38)")
