"""Reproduce chat-template-missing: chat messages formatted with a tokenizer that has no chat template.

Base (pretrained, not instruction-tuned) checkpoints such as Llama-3.2-1B,
Mistral-7B-v0.1 or GPT-2 ship a tokenizer without ``chat_template``.  Any code
that turns a list of ``{"role": ..., "content": ...}`` messages into text
calls ``tokenizer.apply_chat_template``, which then raises
``ValueError: Cannot use chat template functions because tokenizer.chat_template is not set ...``.

    python examples/chat-template-missing.py        # inference: apply_chat_template on a prompt
    python examples/chat-template-missing.py sft    # training: trl SFTTrainer on a "messages" dataset

The tokenizer is a tiny real one built locally (examples/tiny_tokenizer.py),
loaded with AutoTokenizer like a hub tokenizer; nothing is downloaded.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tiny_tokenizer import tokenizer_dir  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir("nopad"))  # stands in for a base model's tokenizer
messages = [{"role": "user", "content": "train the lora adapter"}]

if sys.argv[1:] == ["sft"]:
    from datasets import Dataset
    from tiny_models import model_dir
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
    conversation = messages + [{"role": "assistant", "content": "the rank is the rate"}]
    dataset = Dataset.from_dict({"messages": [conversation] * 4})
    args = SFTConfig(output_dir=tempfile.mkdtemp(), max_steps=1, use_cpu=True, bf16=False, report_to=[])
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
else:
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    print(prompt)
