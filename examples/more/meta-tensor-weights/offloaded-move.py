"""Variant of meta-tensor-weights: moving a model whose layers were offloaded by device_map.

With a ``device_map`` that sends modules to ``"disk"`` (or to ``"cpu"`` while
others are on a GPU), transformers 5 dispatches the model with accelerate
hooks: the offloaded parameters are left on the **meta** device and loaded
into place only during their forward (accelerate logs "Some parameters are on
the meta device because they were offloaded to the disk ...").  A later
``model.to(...)`` -- by the script, or by a trainer placing the model --
cannot move weights that are not there, and accelerate refuses:

    RuntimeError: You can't move a model that has some modules offloaded to cpu or disk.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

device_map = {"model.embed_tokens": "cpu", "model.layers.0": "cpu", "model.layers.1": "disk",
              "model.norm": "cpu", "model.rotary_emb": "cpu", "lm_head": "cpu"}
with tempfile.TemporaryDirectory() as offload:
    model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), device_map=device_map, offload_folder=offload)
    model.to("cpu")  # on a GPU machine: model.to("cuda")
