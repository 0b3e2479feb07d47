"""Reproduce ddp-unused-parameters, "marked as ready twice": DDP + reentrant gradient checkpointing.

Two CPU processes (torch.distributed with the gloo backend, launched by
torchrun; run directly, the script relaunches itself under
``python -m torch.distributed.run --standalone --nproc_per_node=2``) train a
LoRA-wrapped tiny Llama wrapped in DistributedDataParallel.

Reentrant gradient checkpointing (``use_reentrant=True``) is combined with
``find_unused_parameters=True``.  The reentrant checkpoint hides the
checkpointed layers' parameters from the forward graph DDP inspects, so DDP
marks the LoRA weights unused (ready) right after the forward; when the
nested backward of the checkpoint then produces their gradients, their hooks
fire again and ``loss.backward()`` fails with ``RuntimeError: Expected to
mark a variable ready only once. ... has been marked as ready twice``.

Takes about 15-20 s on 2 CPU cores.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

if "LOCAL_RANK" not in os.environ:  # not under torchrun yet: relaunch with 2 ranks
    os.execv(sys.executable, [sys.executable, "-m", "torch.distributed.run", "--standalone",
                              "--nproc_per_node=2", __file__])

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(rank)

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
model.train()
model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
model.enable_input_require_grads()
ddp = DDP(model, find_unused_parameters=True)
optimizer = torch.optim.AdamW([p for p in ddp.parameters() if p.requires_grad], lr=1e-4)

for step in range(3):
    input_ids = torch.randint(0, model.config.vocab_size, (2, 16))
    out = ddp(input_ids=input_ids)
    loss = out.logits.float().pow(2).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    print(f"rank {rank} step {step} loss {loss.item():.4f}", flush=True)
dist.destroy_process_group()
