"""Advisors on real captures: the examples failed for real under the capture hook (tests/data/captures/)."""

from __future__ import annotations

from advisor_captures import CAPTURES, all_text, load_capture

from diagnose.advisors import REGISTRY, get_advisor


def advise(advisor: str, capture: str):
    assert (CAPTURES / f"{capture}.json").exists(), f"no fixture {capture} (tests/data/captures/make_captures.py)"
    incident = load_capture(capture)
    advice = get_advisor(advisor)(incident)
    assert advice is not None
    assert advice.note is None, "a capture must not be advised as text-only"
    assert all(fix.tailored for fix in advice.fixes)
    return advice, all_text(advice)


def test_every_family_advisor_is_registered():
    for name in (
        "peft-unsupported-target-module",
        "cuda-out-of-memory",
        "device-mismatch",
        "dtype-mismatch",
        "fp16-unscale",
        "peft-model-missing-attribute",
        "peft-config-unknown-field",
        "pad-token-missing",
        "empty-optimizer",
        "no-grad-fn",
    ):
        assert get_advisor(name) is not None, name
    assert len(set(REGISTRY.values())) == len(REGISTRY)


def test_unsupported_target_container_is_replaced_by_its_linears():
    advice, text = advise("peft-unsupported-target-module", "peft-unsupported-target-module")
    assert "LlamaAttention ×2" in text and "LlamaMLP ×2" in text
    assert advice.params["unsupported"] == ["mlp", "self_attn"]
    assert set(advice.params["target_modules"]) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }
    assert "target_modules=[" in advice.fixes[0].body


def test_unsupported_target_leaf_layernorm_is_dropped_and_offered_as_modules_to_save():
    advice, text = advise("peft-unsupported-target-module", "more--peft-unsupported-target-module--gpt2-layernorm")
    assert advice.params == {"target_modules": ["c_attn"], "unsupported": ["ln_1"]}
    assert "LayerNorm ×2" in text and "Conv1D ×2" in text
    assert any('modules_to_save=["ln_1"]' in fix.body for fix in advice.fixes)


def test_empty_optimizer_names_the_freezing_loop():
    advice, text = advise("empty-optimizer", "empty-optimizer")
    assert advice.params == {"model_var": "model", "cause": "frozen-after-wrapping"}
    assert "4 LoRA layers" in text
    assert "param.requires_grad = True" in advice.fixes[0].body


def test_empty_optimizer_adapter_loaded_for_inference():
    advice, _ = advise("empty-optimizer", "more--empty-optimizer--adapter-not-trainable")
    assert advice.params["cause"] == "inference-mode"
    assert "is_trainable=True" in advice.fixes[0].body


def test_no_grad_fn_frozen_adapter():
    advice, text = advise("no-grad-fn", "no-grad-fn")
    assert advice.params["cause"] == "inference-mode"
    assert "is_trainable=True" in advice.fixes[0].body
    assert "requires_grad=False, grad_fn=None" in text


def test_no_grad_fn_forward_under_no_grad_points_at_the_line():
    advice, text = advise("no-grad-fn", "more--no-grad-fn--forward-under-no-grad")
    assert advice.params["cause"] == "no-grad-block"
    assert "with torch.no_grad():" in text and "Line 31" in text


def test_pad_token_uses_the_users_variable_and_eos():
    advice, text = advise("pad-token-missing", "pad-token-missing")
    assert advice.params["tokenizer_var"] == "tokenizer"
    assert advice.params["pad_token_source"] == "eos_token"
    assert "tokenizer.pad_token = tokenizer.eos_token" in advice.fixes[0].body
    assert "`</s>`" in text


def test_config_unknown_field_from_the_live_signature():
    advice, text = advise("peft-config-unknown-field", "peft-config-unknown-field")
    assert advice.params == {"config_class": "LoraConfig", "field": "dropout", "suggestion": "lora_dropout"}
    assert "lora_dropout=0.05" in advice.fixes[0].body  # the user's own line, renamed
    assert "never a field" in text


def test_config_unknown_field_singular_target_module():
    advice, _ = advise("peft-config-unknown-field", "more--peft-config-unknown-field--typo-target-module")
    assert advice.params["suggestion"] == "target_modules"


def test_missing_attribute_on_the_base_model():
    advice, text = advise("peft-model-missing-attribute", "peft-model-missing-attribute")
    assert advice.params["object_kind"] == "transformers-model"
    assert "PeftModel method" in text
    assert "without keeping its result" in advice.fixes[0].body
    assert "model = get_peft_model(model, lora_config)" in advice.fixes[0].body


def test_missing_attribute_on_a_config():
    advice, text = advise("peft-model-missing-attribute", "more--peft-model-missing-attribute--config-get-submodules")
    assert advice.params["object_kind"] == "peft-config"
    assert "_get_submodules" in text
    assert "get_nb_trainable_parameters" in advice.fixes[0].body


def test_dtype_mismatch_names_the_dtypes_and_the_cast():
    advice, text = advise("dtype-mismatch", "dtype-mismatch")
    assert advice.params["model_dtype"] == "bfloat16"
    assert "bfloat16" in text and "float32" in text
    assert any(".to(" in fix.body for fix in advice.fixes)


def test_dtype_mismatch_user_inputs_embeds_cast_to_model_dtype():
    advice, text = advise("dtype-mismatch", "scripts--dtype-mismatch-inputs-embeds")
    assert advice.params["tensor_vars"] == ["inputs_embeds"]
    assert "inputs_embeds = inputs_embeds.to(model.dtype)" in advice.fixes[0].body
    assert "q_proj.base_layer" in text  # where it failed


def test_fp16_unscale_counts_float16_trainable_weights():
    advice, text = advise("fp16-unscale", "fp16-unscale")
    assert advice.params["trainable_fp16"] > 0
    assert "lora_A" in text
    assert "cast_mixed_precision_params(model, dtype=torch.float16)" in advice.fixes[0].body


def test_device_mismatch_lora_weights_on_meta():
    advice, text = advise("device-mismatch", "device-mismatch")
    assert "meta" in text and "cpu" in text
    assert any("lora_" in m for m in advice.params["meta_modules"])
    assert "low_cpu_mem_usage" in advice.fixes[0].body


def test_device_mismatch_embedding_never_loaded():
    advice, text = advise("device-mismatch", "scripts--device-mismatch-meta-embedding")
    assert any("embed_tokens" in m for m in advice.params["meta_modules"])
    assert "strict=False" in text


def test_the_probe_fields_the_advisors_read_are_in_the_captures():
    """Fields added to _diagnose_probes.py for the advisors: variable names, dims, modules per place, frame modules."""
    incident = load_capture("no-grad-fn")
    peft_model = next(m for m in incident.probes["models"] if m["is_peft"])
    assert peft_model["variables"] == ["model"]
    assert peft_model["dims"]["hidden_size"] == 32 and peft_model["dims"]["num_hidden_layers"] == 2
    places = peft_model["parameters"]["place_modules"]["cpu/float32"]
    assert places["tensors"] == 29 and any("lora_A" in m for m in places["modules"])
    tokenizer = load_capture("pad-token-missing").probes["tokenizers"][0]
    assert tokenizer["variable"] == "self" and tokenizer["user_variables"] == ["tokenizer"]
    if (CAPTURES / "scripts--dtype-mismatch-inputs-embeds.json").exists():
        model = load_capture("scripts--dtype-mismatch-inputs-embeds").probes["models"][0]
        assert model["frame_modules"][0]["name"].endswith("q_proj.base_layer")
        assert model["frame_modules"][0]["places"] == {"cpu/bfloat16": 1024}
