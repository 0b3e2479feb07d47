"""`diagnose env`: the versions the KB is scoped by, one paste-ready block.

No environment variable values are printed (they may hold tokens).  torch is
imported only to ask about CUDA and the GPUs; everything else comes from
package metadata.
"""

from __future__ import annotations

import platform
import sys

from diagnose import __version__
from diagnose.libfacts import installed_version

PACKAGES = ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "trl", "datasets", "textual")


def env_report() -> str:
    lines = [
        "```",
        f"lora-diagnose {__version__}",
        f"Python {platform.python_version()} ({sys.executable})",
        f"OS {platform.system()} {platform.release()} {platform.machine()}",
    ]
    for package in PACKAGES:
        lines.append(f"{package} {installed_version(package) or 'not installed'}")
    lines += _torch_lines()
    lines.append("```")
    return "\n".join(lines)


def _torch_lines() -> list[str]:
    if installed_version("torch") is None:
        return []
    try:
        import torch
    except ImportError as error:  # a broken install is worth reporting, not crashing on
        return [f"torch import failed: {error}"]
    lines = [f"torch CUDA build: {torch.version.cuda or 'none (CPU-only build)'}"]
    if not torch.cuda.is_available():
        lines.append("GPUs: none available")
        return lines
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        lines.append(
            f"GPU {index}: {props.name}, {props.total_memory / 2**30:.1f} GiB, "
            f"compute capability {props.major}.{props.minor}"
        )
    return lines
