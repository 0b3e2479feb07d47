"""Real multi-rank failures for tests/test_ranks.py: gloo on CPU, started by torchrun or accelerate launch.

    python -m torch.distributed.run --standalone --nproc_per_node=N scenario.py SCENARIO
    srun -n N python scenario.py SCENARIO          (inside an allocation)

lora-error  rank 1 builds a LoRA model with Llama's target_modules on a tiny GPT-2 (peft raises); the
            other ranks wait in a barrier and fail when rank 1's connection closes
same-error  every rank calls backward() on a tensor that needs no grad (the same RuntimeError everywhere)
sigkill     rank 1 is killed by SIGKILL (as the OOM killer does) while the others wait in a barrier

Only rank 1 of lora-error imports transformers and peft: the others stay cheap.
"""

import os
import signal
import sys
from pathlib import Path

import torch
import torch.distributed as dist

scenario = sys.argv[1]
if "RANK" not in os.environ and "SLURM_PROCID" in os.environ:  # started by srun: the usual SLURM-to-torch mapping
    os.environ.update(
        RANK=os.environ["SLURM_PROCID"],
        WORLD_SIZE=os.environ["SLURM_NTASKS"],
        LOCAL_RANK=os.environ["SLURM_LOCALID"],
        MASTER_ADDR=os.environ.get("MASTER_ADDR", "127.0.0.1"),  # one node here; a real job takes its first host
        MASTER_PORT=str(20000 + int(os.environ.get("SLURM_JOB_ID", "0")) % 20000),
    )
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
print(f"rank {rank} of {world}: {scenario}", flush=True)

if scenario == "lora-error" and rank == 1:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from peft import LoraConfig, get_peft_model
    from tiny_models import model_dir
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
    get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
elif scenario == "same-error":
    dist.barrier()
    loss = torch.zeros(4).sum()  # no parameter took part: nothing to differentiate
    loss.backward()
elif scenario == "sigkill" and rank == 1:
    dist.barrier()
    os.kill(os.getpid(), signal.SIGKILL)
else:
    dist.barrier()
dist.barrier()
dist.destroy_process_group()
