"""When each LoraConfig field appeared, from the sources of sampled peft releases.

Built by reading the ``LoraConfig`` and ``PeftConfig`` class fields with ``ast`` from the wheels of
peft 0.3.0, 0.5.0, 0.7.1, 0.9.0, 0.11.1, 0.13.2, 0.15.2, 0.17.1, 0.19.1 (``pip download``, never
imported) and the installed 0.21.2.  A field first seen in sample B and absent from the sample before
it, A, was added after A and at the latest in B.  No field of one sample is missing from a later one.
"""

SAMPLED = ("0.3.0", "0.5.0", "0.7.1", "0.9.0", "0.11.1", "0.13.2", "0.15.2", "0.17.1", "0.19.1", "0.21.2")

# field -> (last sampled release without it or None, first sampled release with it)
FIRST_SEEN: dict[str, tuple[str | None, str]] = {
    "alora_invocation_tokens": ("0.17.1", "0.19.1"),
    "alpha_pattern": ("0.5.0", "0.7.1"),
    "arrow_config": ("0.17.1", "0.19.1"),
    "auto_mapping": ("0.3.0", "0.5.0"),
    "base_model_name_or_path": (None, "0.3.0"),
    "bias": (None, "0.3.0"),
    "corda_config": ("0.13.2", "0.15.2"),
    "ensure_weight_tying": ("0.17.1", "0.19.1"),
    "eva_config": ("0.13.2", "0.15.2"),
    "exclude_modules": ("0.13.2", "0.15.2"),
    "fan_in_fan_out": (None, "0.3.0"),
    "inference_mode": (None, "0.3.0"),
    "init_lora_weights": (None, "0.3.0"),
    "kasa_config": ("0.19.1", "0.21.2"),
    "layer_replication": ("0.9.0", "0.11.1"),
    "layers_pattern": ("0.3.0", "0.5.0"),
    "layers_to_transform": ("0.3.0", "0.5.0"),
    "loftq_config": ("0.5.0", "0.7.1"),
    "lora_alpha": (None, "0.3.0"),
    "lora_bias": ("0.13.2", "0.15.2"),
    "lora_dropout": (None, "0.3.0"),
    "lora_ga_config": ("0.17.1", "0.19.1"),
    "megatron_config": ("0.5.0", "0.7.1"),
    "megatron_core": ("0.5.0", "0.7.1"),
    "modules_to_save": (None, "0.3.0"),
    "monteclora_config": ("0.19.1", "0.21.2"),
    "peft_type": (None, "0.3.0"),
    "peft_version": ("0.17.1", "0.19.1"),
    "qalora_group_size": ("0.15.2", "0.17.1"),
    "r": (None, "0.3.0"),
    "rank_pattern": ("0.5.0", "0.7.1"),
    "revision": ("0.3.0", "0.5.0"),
    "runtime_config": ("0.11.1", "0.13.2"),
    "target_modules": (None, "0.3.0"),
    "target_parameters": ("0.15.2", "0.17.1"),
    "task_type": (None, "0.3.0"),
    "trainable_token_indices": ("0.13.2", "0.15.2"),
    "use_bdlora": ("0.17.1", "0.19.1"),
    "use_dora": ("0.7.1", "0.9.0"),
    "use_qalora": ("0.15.2", "0.17.1"),
    "use_rslora": ("0.7.1", "0.9.0"),
    "velora_config": ("0.19.1", "0.21.2"),
}
