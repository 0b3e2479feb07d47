"""Reproduce ddp-unused-parameters: DDP's reducer and LoRA parameters that get no gradient.

Two CPU processes (torch.distributed with the gloo backend, launched by
torchrun; run directly, the script relaunches itself under
``python -m torch.distributed.run --standalone --nproc_per_node=2``) train a
LoRA-wrapped tiny Llama wrapped in DistributedDataParallel.

The loss distils only the output of the FIRST decoder layer
(``hidden_states[1]``), so the LoRA weights of layer 2 take part in the
forward but never in the loss.  DDP (``find_unused_parameters=False``, the
default) waits for their gradients, and at the start of the second iteration
raises ``RuntimeError: Expected to have finished reduction in the prior
iteration before starting a new one. ...`` listing the parameter indices that
got no gradient.  examples/more/ddp-unused-parameters/ has the "marked as
ready twice" variant.

Takes about 15-20 s on 2 CPU cores.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

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
ddp = DDP(model)
optimizer = torch.optim.AdamW([p for p in ddp.parameters() if p.requires_grad], lr=1e-4)
teacher = torch.randn(2, 16, model.config.hidden_size)

for step in range(3):
    input_ids = torch.randint(0, model.config.vocab_size, (2, 16))
    out = ddp(input_ids=input_ids, output_hidden_states=True)
    # the bug: only the first layer's output reaches the loss
    loss = torch.nn.functional.mse_loss(out.hidden_states[1], teacher)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    print(f"rank {rank} step {step} loss {loss.item():.4f}", flush=True)
dist.destroy_process_group()
