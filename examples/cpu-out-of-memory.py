"""Reproduce cpu-out-of-memory: one CPU allocation larger than the machine can give.

A whole tokenised corpus (2**20 tokens) is fed to a LoRA-wrapped tiny Llama as
ONE sequence, with eager attention.  Attention needs a (batch, 1, seq, seq)
causal mask before anything else: 2**40 booleans = 1 TiB.  The CPU allocator
asks the kernel for it in one piece; Linux's overcommit check refuses a single
request that large, so malloc fails at once and torch raises

    RuntimeError: [enforce fail at alloc_cpu.cpp:...] err == 0.
    DefaultCPUAllocator: can't allocate memory: you tried to allocate N bytes.
    Error code 12 (Cannot allocate memory)

(When memory is instead exhausted gradually, by many smaller allocations that
are each granted, there is no Python error: the kernel's OOM killer ends the
process with SIGKILL, exit status 137.)  Fails in a few seconds, touching
almost no memory.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), attn_implementation="eager")
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
model.train()

# The bug: the corpus is concatenated into one sequence and never split into
# blocks of at most max_position_embeddings tokens.
corpus_ids = torch.randint(0, model.config.vocab_size, (1, 2**20))
loss = model(input_ids=corpus_ids, labels=corpus_ids).loss
loss.backward()
